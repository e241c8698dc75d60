// Each plug-in alone, on the hello app (bench/apps/plugins.mjs writes those apps): it
// works end to end over a socket, and the hello app without any carries no WebSocket or
// SSE code. The examples and fixtures test the plug-ins together.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import WebSocket from 'ws';
import { startApp } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';
import { buildBundle } from '../../build.mjs';
import { writePluginApps } from '../../bench/apps/plugins.mjs';

const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'plugin-apps-'));
const APPS = Object.fromEntries(writePluginApps(DIR).map(({ name, entry }) => [name, entry]));
const HELLO = { message: 'Hello from MicroServer' };

/** What each plug-in must do on its own, given its running app. */
const CHECKS = {
  async websocket(app) {
    const plain = await fetch(app.url + '/ws');
    assert.equal(plain.status, 426);
    const closed = await new Promise((resolve, reject) => {
      const ws = new WebSocket(app.url.replace('http', 'ws') + '/ws');
      ws.on('error', reject);
      ws.on('close', (code) => resolve(code));
    });
    assert.equal(closed, 1000, 'the handler closed it');
  },
  async sse(app) {
    const once = await fetch(app.url + '/once');
    assert.equal(once.headers.get('content-type'), 'text/event-stream');
    assert.equal(await once.text(), 'data: 1\n\n');
    const controller = new AbortController();
    const stream = await fetch(app.url + '/events', { signal: controller.signal });
    assert.equal(stream.status, 200);
    assert.equal(stream.headers.get('cache-control'), 'no-cache');
    controller.abort();
  },
  async static(app) {
    const redirect = await fetch(app.url + '/static', { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/static/');
    assert.equal((await fetch(app.url + '/static/nothing.txt')).status, 404);
    assert.equal((await fetch(app.url + '/static/a%2fb')).status, 403, 'an encoded separator');
    assert.equal((await fetch(app.url + '/static/a', { method: 'POST' })).status, 405);
    assert.equal((await fetch(app.url + '/file')).status, 404);
  },
  async cors(app) {
    const res = await fetch(app.url + '/', { headers: { origin: 'http://any.example' } });
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
  },
  async logging(app) {
    await fetch(app.url + '/');
    await app.waitFor(/\| GET \/ \| 200 \|/, 3000);
  },
  async auth(app) {
    const refused = await fetch(app.url + '/admin');
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate'), /^Basic realm=/);
    const admitted = await fetch(app.url + '/admin', { headers: { authorization: 'Basic ' + Buffer.from('admin:change-me').toString('base64') } });
    assert.equal(admitted.status, 404, 'past the check, no such route');
  },
  async 'security-headers'(app) {
    const res = await fetch(app.url + '/');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  },
  async wifi(app) {
    // No Wi-Fi module on a host: startWifi starts the app at once.
    await app.waitFor(/listening on/, 3000);
  },
};

test('the plug-in apps cover every plug-in', () => {
  assert.deepEqual(Object.keys(APPS).sort(), Object.keys(CHECKS).sort());
});

test('the hello app alone carries no WebSocket or SSE code; each plug-in adds its own', async () => {
  const hello = await buildBundle(path.resolve('bench/apps/hello.ts'), { board: 'esp32', write: false });
  assert.doesNotMatch(hello.code, /Sec-WebSocket|text\/event-stream|Content-Range|Access-Control/);
  const ws = await buildBundle(APPS.websocket, { board: 'esp32', write: false });
  assert.match(ws.code, /Sec-WebSocket-Accept/);
  assert.doesNotMatch(ws.code, /text\/event-stream|Content-Range/);
});

for (const [name, check] of Object.entries(CHECKS)) {
  describe(`the ${name} plug-in alone (${lane()})`, () => {
    let app;
    before(async () => { app = await startApp(APPS[name]); });
    after(() => app.stop());

    test('the hello route still answers, and the plug-in works', async () => {
      assert.deepEqual(await (await fetch(app.url + '/')).json(), HELLO);
      await check(app);
    });
  });
}

after(() => fs.rmSync(DIR, { recursive: true, force: true }));
