// The examples run as users run them (npm start builds them the same way).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, rawExchange, parseResponses, request } from '../helpers/app.mjs';
import WebSocket from 'ws';
import { readFileSync } from 'node:fs';
import { lane } from '../helpers/server.mjs';

describe(`examples/basic.ts (${lane()})`, () => {
  let app;
  before(async () => { app = await startApp('examples/basic.ts', { board: 'linux' }); });
  after(() => app.stop());

  test('GET / says hello; POST /echo echoes; an empty body is a 400', async () => {
    assert.deepEqual(await (await fetch(app.url + '/')).json(), { message: 'Hello from MicroServer' });
    assert.equal(await (await fetch(app.url + '/echo', { method: 'POST', body: 'ça marche' })).text(), 'ça marche');
    const empty = await fetch(app.url + '/echo', { method: 'POST' });
    assert.equal(empty.status, 400);
    assert.deepEqual(await empty.json(), { error: 'Empty body', code: 400 });
  });

  test('GET /stream sends five chunks, half a second apart', async () => {
    const started = Date.now();
    const res = await fetch(app.url + '/stream');
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    assert.equal(await res.text(), 'chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n');
    assert.ok(Date.now() - started >= 2000);
  });
});

describe(`examples/medium.ts (${lane()})`, () => {
  let app;
  before(async () => { app = await startApp('examples/medium.ts', { board: 'esp32' }); });
  after(() => app.stop());

  test('GET /status with CORS, POST /sum, invalid numbers, the 4 KB body limit, and a log line per request', async () => {
    const status = await fetch(app.url + '/status');
    assert.deepEqual(await status.json(), { ok: true, ip: '-' });
    assert.equal(status.headers.get('access-control-allow-origin'), '*');
    const sum = await fetch(app.url + '/sum', { method: 'POST', body: JSON.stringify({ a: 2, b: 3.5 }) });
    assert.deepEqual(await sum.json(), { result: 5.5 });
    assert.equal((await fetch(app.url + '/sum', { method: 'POST', body: '{"a":"x"}' })).status, 400);
    const tooBig = parseResponses((await rawExchange(app.port, request('POST /sum HTTP/1.1', 'Host: t', 'Content-Length: 5000'))).text);
    assert.equal(tooBig[0].status, 413);
    const preflight = await fetch(app.url + '/sum', { method: 'OPTIONS', headers: { origin: 'http://x', 'access-control-request-method': 'POST' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'GET,POST,OPTIONS');
    await app.waitFor(/\[INFO\] .* \| - \| POST \/sum \| 200 \| [\d.]+ms/, 2000);
  });
});

describe(`examples/full.ts (${lane()})`, () => {
  let app;
  before(async () => { app = await startApp('examples/full.ts', { board: 'linux', fromStorage: true }); });
  after(() => app.stop());

  test('status and memory, the LED through the board adapter, and a WebSocket echo', async () => {
    const status = await (await fetch(app.url + '/')).json();
    assert.equal(status.status, 'online');
    assert.equal(typeof status.memoryFree, 'number');
    assert.equal(typeof (await (await fetch(app.url + '/gc')).json()).free, 'number');
    const on = await fetch(app.url + '/led', { method: 'POST', body: JSON.stringify({ state: 'on' }) });
    assert.deepEqual(await on.json(), { led: 'on' });
    assert.deepEqual(await (await fetch(app.url + '/led', { method: 'POST', body: '{"state":0}' })).json(), { led: 'off' });
    const missing = await fetch(app.url + '/led', { method: 'POST', body: '{}' });
    assert.equal(missing.status, 400);
    assert.deepEqual(await missing.json(), { error: "Missing 'state' field", code: 400 });
    await app.waitFor(/\[INFO\] .* \| IP: 127\.0\.0\.1/, 1000);

    const ws = new WebSocket(app.url.replace('http:', 'ws:') + '/ws/echo');
    const messages = [];
    await new Promise((resolve, reject) => {
      ws.on('message', (m) => {
        messages.push(m.toString());
        if (messages.length === 1) ws.send('héllo');
        else ws.close();
      });
      ws.on('close', resolve);
      ws.on('error', reject);
    });
    assert.deepEqual(messages, ['Welcome!', 'Echo: héllo']);
  });

  test('its page from examples/www at /static/, gzipped as on a flashed board', async () => {
    const page = await fetch(app.url + '/static/');
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(page.headers.get('content-encoding'), 'gzip');
    assert.equal(page.headers.get('cache-control'), 'max-age=600');
    assert.equal(await page.text(), readFileSync(new URL('../../examples/www/index.html', import.meta.url), 'utf8'));
    const script = await fetch(app.url + '/static/app.js');
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.match(await script.text(), /\/ws\/echo/);
  });
});
