// Middleware end to end: order, CORS, a custom auth middleware, errors, and
// LoggingMiddleware writing to a rotating FileLogger in Storage.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';

describe(`middleware (${lane()})`, () => {
  let app;
  before(async () => { app = await startApp('test/fixtures/middleware.ts'); });
  after(() => app.stop());

  test('runs in the order added, first added outermost', async () => {
    await fetch(app.url + '/order');
    // /order reads the list inside the handler: the previous request's "outer-out" comes first.
    assert.deepEqual(await (await fetch(app.url + '/order')).json(), ['outer-out', 'outer-in', 'auth']);
  });

  test('a custom middleware can answer early (401) and let others through', async () => {
    assert.equal((await fetch(app.url + '/private/data')).status, 401);
    const ok = await fetch(app.url + '/private/data', { headers: { authorization: 'Bearer valid-token' } });
    assert.deepEqual(await ok.json(), { secret: 42 });
  });

  test('CORS preflight for an allowed origin: 204 with the precomputed headers, origin echoed, never *', async () => {
    const res = await fetch(app.url + '/public', {
      method: 'OPTIONS',
      headers: { origin: 'http://good.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://good.example');
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(res.headers.get('access-control-allow-methods'), 'GET,POST');
    assert.equal(res.headers.get('access-control-allow-headers'), 'Content-Type');
    assert.equal(res.headers.get('access-control-max-age'), '600');
    assert.equal(res.headers.get('vary'), 'Origin');
  });

  test('CORS on normal responses: allowed origin echoed with Vary; others get no CORS headers', async () => {
    const good = await fetch(app.url + '/public', { headers: { origin: 'http://good.example' } });
    assert.equal(good.headers.get('access-control-allow-origin'), 'http://good.example');
    assert.equal(good.headers.get('vary'), 'Origin');
    const bad = await fetch(app.url + '/public', { headers: { origin: 'http://evil.example' } });
    assert.equal(bad.status, 200);
    assert.equal(bad.headers.get('access-control-allow-origin'), null);
    const preflight = await fetch(app.url + '/public', { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'GET' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
  });

  test('CORS headers are added to 404s too (the router runs inside the middleware)', async () => {
    const res = await fetch(app.url + '/missing', { headers: { origin: 'http://good.example' } });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://good.example');
  });

  test('a middleware that throws gives 500 and the server keeps serving', async () => {
    const res = await fetch(app.url + '/explode');
    assert.equal(res.status, 500);
    assert.deepEqual(await res.json(), { error: 'Internal Server Error', code: 500 });
    assert.equal((await fetch(app.url + '/public')).status, 200);
    await app.waitFor(/\[ERROR\].*middleware exploded/, 2000);
  });

  test('a handler or a middleware that returns no Response: the same clear 500 and log line as without middleware, and the request still logged', async () => {
    for (const path of ['/forgot-return', '/forgot-next']) {
      const res = await fetch(app.url + path, { headers: { origin: 'http://good.example' } });
      assert.equal(res.status, 500, path);
      assert.equal((await res.json()).error, `The handler or middleware for GET ${path} returned undefined, not a Response (a missing return?)`);
      assert.equal(res.headers.get('access-control-allow-origin'), 'http://good.example', 'the layers around it saw a Response');
      await app.waitFor(new RegExp(`\\[ERROR\\].*GET ${path} returned undefined, not a Response`), 2000);
    }
    const log = await (await fetch(app.url + '/log')).text();
    assert.match(log, /\| GET \/forgot-return \| 500 \|/);
    assert.match(log, /\| GET \/forgot-next \| 500 \|/);
  });

  test('LoggingMiddleware writes "ip | METHOD path | status | ms" lines to a FileLogger that rotates at maxSize', async () => {
    for (let i = 0; i < 8; i++) await fetch(app.url + '/public?n=' + i);
    const log = await (await fetch(app.url + '/log')).text();
    const [current, backup] = log.split('---\n');
    assert.match(current, /\[INFO\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| - \| GET \/public \| 200 \| [\d.]+ms\n/);
    assert.ok(backup.length > 0, 'rotation should have produced access.log.1');
    assert.ok(current.length <= 400 && backup.length <= 400, `files must stay under maxSize: ${current.length}, ${backup.length}`);
  });
});
