// Hardening end to end (fixture test/fixtures/auth.ts): Basic and Bearer auth
// over real sockets (fetch, raw bytes, a real WebSocket client), security
// headers, Response.json refusing data too deep or circular (also on an
// ESP32-sized C stack), and the query parameter limit.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startApp, rawExchange, parseResponses, request } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';

const basic = (user, password) => 'Basic ' + Buffer.from(user + ':' + password, 'utf8').toString('base64');
const BASIC_CHALLENGE = 'Basic realm="Device \\"admin\\"", charset="UTF-8"';

/** Opens a WebSocket; resolves { status } when the server refuses the upgrade, or { messages } once `count` messages arrived and it closed. */
function upgrade(url, { headers, send, count = 1 } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const messages = [];
    let refused = false;
    ws.on('unexpected-response', (req, res) => {
      refused = true;
      res.resume();
      req.destroy();
      resolve({ status: res.statusCode, headers: res.headers });
    });
    ws.on('open', () => send && ws.send(send));
    ws.on('message', (data) => {
      messages.push(data.toString('utf8'));
      if (messages.length === count) ws.close();
    });
    ws.on('close', () => refused || resolve({ messages }));
    ws.on('error', reject);
  });
}

for (const mode of ['esp32', 'linux']) {
  describe(`auth, security headers, JSON and query limits (${lane()}, ${mode} strings)`, () => {
    let app;
    before(async () => { app = await startApp('test/fixtures/auth.ts', { mode }); });
    after(() => app.stop());

    describe('BasicAuthMiddleware, app-wide for /admin and /ws/private', () => {
      test('no credentials: 401 with the Basic challenge (realm quoted, charset UTF-8)', async () => {
        const res = await fetch(app.url + '/admin/whoami');
        assert.equal(res.status, 401);
        assert.equal(res.headers.get('www-authenticate'), BASIC_CHALLENGE);
        assert.deepEqual(await res.json(), { error: 'Unauthorized', code: 401 });
      });

      test('the right user and password reach the handler, which sees req.user', async () => {
        const res = await fetch(app.url + '/admin/whoami', { headers: { authorization: basic('admin', 's3cret') } });
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { user: 'admin' });
      });

      test('UTF-8 user names and passwords', async () => {
        const res = await fetch(app.url + '/admin/whoami', { headers: { authorization: basic('jürgen', 'pässwörd') } });
        assert.deepEqual(await res.json(), { user: 'jürgen' });
        const latin1 = 'Basic ' + Buffer.from('jürgen:pässwörd', 'latin1').toString('base64');
        assert.equal((await fetch(app.url + '/admin/whoami', { headers: { authorization: latin1 } })).status, 401);
      });

      test('wrong password, wrong user, another user\'s password, a prefix of the password: 401', async () => {
        for (const [user, password] of [['admin', 'wrong'], ['root', 's3cret'], ['admin', 'pässwörd'], ['admin', 's3cre'], ['admin', 's3cret!'], ['', '']]) {
          const res = await fetch(app.url + '/admin/whoami', { headers: { authorization: basic(user, password) } });
          assert.equal(res.status, 401, `${user}:${password}`);
          assert.equal(res.headers.get('www-authenticate'), BASIC_CHALLENGE);
        }
      });

      test('malformed Authorization headers: 401 with the challenge, never a crash', async () => {
        const headers = ['Basic', 'Basic ', 'Basic !!!!', 'Basic YWRtaW4=' /* no colon */, 'Basic YWRt aW46czNjcmV0',
          'Bearer token-123', 'Digest username="admin"', 'YWRtaW46czNjcmV0', basic('admin', 's3cret') + ', ' + basic('admin', 's3cret')];
        for (const authorization of headers) {
          const res = await fetch(app.url + '/admin/whoami', { headers: { authorization } });
          assert.equal(res.status, 401, authorization);
        }
        // Over a raw socket: two Authorization fields are joined into one value, which is not valid base64.
        const raw = await rawExchange(app.port, request('GET /admin/whoami HTTP/1.1', 'Host: t', 'Authorization: Basic YWRtaW46czNjcmV0', 'Authorization: Basic YWRtaW46czNjcmV0'));
        assert.equal(parseResponses(raw.text)[0].status, 401);
      });

      test('the scheme name is case-insensitive', async () => {
        const res = await fetch(app.url + '/admin/whoami', { headers: { authorization: basic('admin', 's3cret').replace('Basic', 'bAsIc') } });
        assert.equal(res.status, 200);
      });

      test('paths: prefixes cover the path and below, in any spelling that reaches it; other paths pass', async () => {
        assert.equal((await fetch(app.url + '/public')).status, 200);
        assert.equal((await fetch(app.url + '/administrator')).status, 200, '/admin does not cover /administrator');
        for (const path of ['/admin', '/admin/', '/admin/whoami', '/%61dmin/whoami', '/ADMIN/whoami', '/admin/missing', '/admin%2Fwhoami']) {
          const raw = await rawExchange(app.port, request(`GET ${path} HTTP/1.1`, 'Host: t'));
          assert.equal(parseResponses(raw.text)[0].status, 401, path);
        }
      });

      test('a WebSocket upgrade without credentials gets 401 before any 101; with them it opens', async () => {
        const refused = await upgrade(`ws://127.0.0.1:${app.port}/ws/private`);
        assert.equal(refused.status, 401);
        assert.equal(refused.headers['www-authenticate'], BASIC_CHALLENGE);
        const wrong = await upgrade(`ws://127.0.0.1:${app.port}/ws/private`, { headers: { authorization: basic('admin', 'nope') } });
        assert.equal(wrong.status, 401);
        const open = await upgrade(`ws://admin:s3cret@127.0.0.1:${app.port}/ws/private`, { send: 'hi', count: 2 });
        assert.deepEqual(open.messages, ['hello admin', 'echo: hi']);
        assert.deepEqual((await upgrade(`ws://127.0.0.1:${app.port}/ws/public`)).messages, ['anyone']);
      });

      test("a WebSocket route's own middleware (options.middleware: [bearer]) refuses before the 101", async () => {
        const refused = await upgrade(`ws://127.0.0.1:${app.port}/ws/token`);
        assert.equal(refused.status, 401);
        assert.equal(refused.headers['www-authenticate'], 'Bearer realm="MicroServer"');
        const wrong = await upgrade(`ws://127.0.0.1:${app.port}/ws/token`, { headers: { authorization: 'Bearer token-999' } });
        assert.equal(wrong.status, 401);
        const open = await upgrade(`ws://127.0.0.1:${app.port}/ws/token`, { headers: { authorization: 'Bearer token-456' } });
        assert.deepEqual(open.messages, ['token token-456']);
      });

      test('a refused upgrade on a raw socket: the 401 is all that comes back, never a 101', async () => {
        const raw = await rawExchange(app.port, request('GET /ws/private HTTP/1.1', 'Host: t', 'Upgrade: websocket', 'Connection: Upgrade',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'));
        assert.doesNotMatch(raw.text, /101 Switching/);
        const [res] = parseResponses(raw.text);
        assert.equal(res.status, 401);
      });
    });

    describe('BearerAuthMiddleware guarding single routes', () => {
      test('no token, or another scheme: 401 with the challenge and no error code (RFC 6750 §3.1)', async () => {
        for (const headers of [{}, { authorization: basic('admin', 's3cret') }]) {
          const res = await fetch(app.url + '/api/data', { headers });
          assert.equal(res.status, 401);
          assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="MicroServer"');
        }
      });

      test('a wrong token: 401 with error="invalid_token"', async () => {
        for (const token of ['token-789', 'token-12', 'token-1234', 'TOKEN-123']) {
          const res = await fetch(app.url + '/api/data', { headers: { authorization: 'Bearer ' + token } });
          assert.equal(res.status, 401, token);
          assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="MicroServer", error="invalid_token"');
        }
      });

      test('a malformed request: 400 with error="invalid_request"', async () => {
        for (const authorization of ['Bearer', 'Bearer ', 'Bearer two tokens', 'Bearer tök', 'Bearer a,b', 'Bearer =abc']) {
          const res = await fetch(app.url + '/api/data', { headers: { authorization } });
          assert.equal(res.status, 400, authorization);
          assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="MicroServer", error="invalid_request"');
          assert.deepEqual(await res.json(), { error: 'Malformed Authorization header', code: 400 });
        }
      });

      test('a listed token reaches the handler as req.user', async () => {
        const res = await fetch(app.url + '/api/data', { headers: { authorization: 'Bearer token-456' } });
        assert.deepEqual(await res.json(), { token: 'token-456' });
      });

      test('an asynchronous verify function: its value becomes req.user; false refuses', async () => {
        const ok = await fetch(app.url + '/api/owner', { headers: { authorization: 'bearer owner-token' } });
        assert.deepEqual(await ok.json(), { owner: { name: 'owner' } });
        const no = await fetch(app.url + '/api/owner', { headers: { authorization: 'Bearer token-123' } });
        assert.equal(no.status, 401);
        assert.equal(no.headers.get('www-authenticate'), 'Bearer realm="api", error="invalid_token"');
      });
    });

    describe('SecurityHeadersMiddleware', () => {
      test('defaults on every response, 401s and 404s included', async () => {
        for (const path of ['/public', '/admin/whoami', '/missing']) {
          const res = await fetch(app.url + path);
          assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
          assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
          assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
          assert.equal(res.headers.get('content-security-policy'), "default-src 'self'", path);
        }
      });

      test('a header the handler set is kept, once', async () => {
        const raw = await rawExchange(app.port, request('GET /framed HTTP/1.1', 'Host: t'));
        const [res] = parseResponses(raw.text);
        assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
      });
    });

    describe('Response.json bounds what it stringifies', () => {
      test('12 levels of nesting are sent; 13 are a logged 500, and the server goes on', async () => {
        const ok = await fetch(app.url + '/json/deep/12');
        assert.equal(ok.status, 200);
        assert.equal(await ok.text(), '['.repeat(12) + '1' + ']'.repeat(12));
        const deep = await fetch(app.url + '/json/deep/13');
        assert.equal(deep.status, 500);
        assert.deepEqual(await deep.json(), { error: 'Internal Server Error', code: 500 });
        await app.waitFor(/\[ERROR\].*GET \/json\/deep\/13: JSON data nested deeper than 12 levels, or circular/, 2000);
        assert.equal((await fetch(app.url + '/public')).status, 200);
      });

      test('circular data is a logged 500, not invalid JSON', async () => {
        const res = await fetch(app.url + '/json/cycle');
        assert.equal(res.status, 500);
        await app.waitFor(/\[ERROR\].*GET \/json\/cycle: JSON data nested deeper than 12 levels, or circular/, 2000);
      });
    });

    describe('query parameter limit', () => {
      const query = (n) => Array.from({ length: n }, (_, i) => `k${i}=${i}`).join('&');

      test('64 parameters are parsed; 65 answer 400 saying why', async () => {
        assert.deepEqual(await (await fetch(app.url + '/query?' + query(64))).json(), { count: 64 });
        const res = await fetch(app.url + '/query?' + query(65));
        assert.equal(res.status, 400);
        assert.deepEqual(await res.json(), { error: 'More than 64 query parameters', code: 400 });
      });

      test('empty pairs do not count', async () => {
        assert.deepEqual(await (await fetch(app.url + '/query?' + '&'.repeat(2000) + query(3))).json(), { count: 3 });
      });

      test('10,000 parameters never reach the query parser: the request line is over 8 KB (414)', async () => {
        const raw = await rawExchange(app.port, request(`GET /query?${query(10000)} HTTP/1.1`, 'Host: t'));
        const [res] = parseResponses(raw.text);
        assert.equal(res.status, 414);
        assert.equal((await fetch(app.url + '/public')).status, 200);
      });
    });
  });
}

describe(`Response.json on an ESP32-sized C stack (${lane()})`, () => {
  let app;
  // At DEVICE_STACK_KB, as every test server on the real interpreter (see test/helpers/server.mjs).
  before(async () => { app = await startApp('test/fixtures/auth.ts'); });
  after(() => app.stop());

  test('data nested 100 deep, or circular, is refused before JSON.stringify, and the interpreter lives on', async () => {
    assert.equal((await fetch(app.url + '/json/kept-deep')).status, 500);
    await app.waitFor(/\[ERROR\].*GET \/json\/kept-deep: JSON data nested deeper than 12 levels, or circular/, 2000);
    assert.equal((await fetch(app.url + '/json/cycle')).status, 500);
    assert.equal((await fetch(app.url + '/json/deep/12')).status, 200);
    assert.equal((await fetch(app.url + '/public')).status, 200);
  });
});
