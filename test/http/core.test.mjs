// End-to-end tests of the HTTP/1.1 core over real loopback sockets, on the
// emulation or (ESPRUINO set) the real interpreter. Fixture: test/fixtures/app.ts.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp, rawExchange, parseResponses, request } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';

const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/;
const GET = (path, ...headers) => request(`GET ${path} HTTP/1.1`, 'Host: test', ...headers);

async function one(port, payload, options) {
  const { text, closed } = await rawExchange(port, payload, options);
  const responses = parseResponses(text);
  assert.equal(responses.length, 1, `expected one response, got:\n${text}`);
  return Object.assign(responses[0], { closed, raw: text });
}

for (const mode of ['esp32', 'linux']) {
  describe(`UTF-8 end to end (${lane()}, ${mode} strings)`, () => {
    let app;
    before(async () => { app = await startApp('test/fixtures/app.ts', { mode }); });
    after(() => app.stop());

    test('JSON with non-ASCII literals reaches the client as UTF-8 with a byte Content-Length', async () => {
      const res = await fetch(app.url + '/utf8');
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal(Number(res.headers.get('content-length')), bytes.length);
      assert.deepEqual(JSON.parse(bytes.toString('utf8')), { text: 'héllo €uro ☕', emoji: '😀' });
    });

    test('plain and HTML text are UTF-8', async () => {
      for (const [path, expected] of [['/text', 'naïve café ☕'], ['/html', '<p>Grüße</p>']]) {
        const res = await fetch(app.url + path);
        const bytes = Buffer.from(await res.arrayBuffer());
        assert.equal(bytes.toString('utf8'), expected);
        assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(expected));
        assert.match(res.headers.get('content-type'), /charset=utf-8/);
      }
    });

    test('request bodies: text echoed, JSON with raw UTF-8 and \\u escapes (incl. surrogate pairs) parsed', async () => {
      const echo = await fetch(app.url + '/echo', { method: 'POST', body: 'héllo wörld €' });
      assert.equal(await echo.text(), 'héllo wörld €');
      const body = '{"raw":"café €","escaped":"caf\\u00e9 \\u20ac","pair":"\\ud83d\\ude00","quote":"\\u0022"}';
      const res = await fetch(app.url + '/json', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      assert.deepEqual(await res.json(), { received: { raw: 'café €', escaped: 'café €', pair: '😀', quote: '"' } });
    });

    test('path and query parameters are percent-decoded as UTF-8', async () => {
      assert.deepEqual(await (await fetch(app.url + '/users/caf%C3%A9%20%E2%82%AC')).json(), { id: 'café €' });
      assert.deepEqual(await (await fetch(app.url + '/search?q=%E2%98%95+tea&x=%C3%BC')).json(), { q: '☕ tea', x: 'ü' });
    });
  });
}

describe(`HTTP/1.1 core (${lane()})`, () => {
  let app;
  before(async () => { app = await startApp('test/fixtures/app.ts'); });
  after(() => app.stop());

  test('GET answers JSON with Server, an IMF-fixdate Date and Content-Length', async () => {
    const res = await one(app.port, GET('/'));
    assert.equal(res.statusLine, 'HTTP/1.1 200 OK');
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers.server, 'MicroServer/1.0');
    assert.match(res.headers.date, IMF_FIXDATE);
    assert.equal(res.body, '{"message":"Hello from MicroServer"}');
    assert.equal(Number(res.headers['content-length']), res.body.length);
  });

  test('HEAD is answered for GET routes with the same headers and no body', async () => {
    const { text } = await rawExchange(app.port, request('HEAD / HTTP/1.1', 'Host: t') + GET('/users/7'));
    const [head, next] = parseResponses(text.replace('\r\n\r\n', '\r\nContent-Length: 0\r\n\r\n'));
    assert.equal(head.status, 200);
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n[^]*Content-Length: 36\r\n\r\nHTTP\/1\.1 200/);
    assert.equal(next.body, '{"id":"7"}');
  });

  test('routing: params, static beats param, multi-method, 404, 405 with Allow, automatic OPTIONS', async () => {
    assert.deepEqual(await (await fetch(app.url + '/users/42')).json(), { id: '42' });
    assert.deepEqual(await (await fetch(app.url + '/users/new')).json(), { page: 'new user form' });
    assert.deepEqual(await (await fetch(app.url + '/posts/5/comments/9')).json(), { postId: '5', commentId: '9' });
    assert.deepEqual(await (await fetch(app.url + '/users/42', { method: 'PUT' })).json(), { updated: '42' });
    assert.equal((await fetch(app.url + '/users/42', { method: 'DELETE' })).status, 204);
    assert.deepEqual(await (await fetch(app.url + '/users/42', { method: 'PATCH' })).json(), { patched: true });
    assert.deepEqual(await (await fetch(app.url + '/resource')).json(), { items: [] });
    const created = await fetch(app.url + '/resource', { method: 'POST' });
    assert.equal(created.status, 201);
    const missing = await fetch(app.url + '/nope/deeper/still');
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: 'Not Found', code: 404 });
    const wrong = await fetch(app.url + '/resource', { method: 'DELETE' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, POST, HEAD');
    const options = await fetch(app.url + '/users/1', { method: 'OPTIONS' });
    assert.equal(options.status, 204);
    assert.match(options.headers.get('allow'), /GET/);
    const star = await one(app.port, request('OPTIONS * HTTP/1.1', 'Host: t'));
    assert.equal(star.status, 204);
  });

  test('query parameters: + as space, repeated keys kept, bad percent-encoding is 400', async () => {
    assert.deepEqual(await (await fetch(app.url + '/search?q=esp32&page=2&tag=a&tag=b&s=a+b%20c&empty')).json(),
      { q: 'esp32', page: '2', tag: ['a', 'b'], s: 'a b c', empty: '' });
    assert.equal((await one(app.port, GET('/search?q=%zz'))).status, 400);
    assert.equal((await one(app.port, GET('/users/%E2%8'))).status, 400);
  });

  test('handler errors: throw and reject give 500 JSON, the connection keeps serving', async () => {
    const { text, closed } = await rawExchange(app.port, GET('/throw') + GET('/reject') + GET('/'));
    const [thrown, rejected, ok] = parseResponses(text);
    assert.equal(thrown.status, 500);
    assert.deepEqual(JSON.parse(thrown.body), { error: 'Internal Server Error', code: 500 });
    assert.equal(rejected.status, 500);
    assert.equal(ok.status, 200);
    assert.equal(closed, false);
    await app.waitFor(/\[ERROR\].*GET \/throw: boom/, 2000);
  });

  test('an error with a status, and a handler that returns something else than a Response', async () => {
    assert.equal((await fetch(app.url + '/teapot')).status, 418);
    const res = await fetch(app.url + '/not-a-response');
    assert.equal(res.status, 500);
    assert.match((await res.json()).error, /GET \/not-a-response returned object, not a Response/);
    const forgot = await fetch(app.url + '/forgot-return');
    assert.equal(forgot.status, 500);
    assert.equal((await forgot.json()).error, 'The handler or middleware for GET /forgot-return returned undefined, not a Response (a missing return?)');
    await app.waitFor(/\[ERROR\].*GET \/forgot-return returned undefined, not a Response/, 2000);
  });

  test('async handlers, redirects and custom headers', async () => {
    assert.deepEqual(await (await fetch(app.url + '/async')).json(), { value: 'later', path: '/async' });
    const redirect = await fetch(app.url + '/redirect', { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('location'), '/');
    assert.equal((await fetch(app.url + '/moved', { redirect: 'manual' })).status, 301);
    const custom = await fetch(app.url + '/custom-headers');
    assert.equal(custom.headers.get('x-custom-header'), 'value');
    assert.equal(custom.headers.get('cache-control'), 'no-store');
  });

  test('header injection by user code is an error, never sent', async () => {
    const res = await one(app.port, GET('/bad-header'));
    assert.equal(res.status, 500);
    assert.doesNotMatch(res.raw, /Injected/);
  });

  test('a large body is written in pieces and arrives whole', async () => {
    const res = await fetch(app.url + '/big?size=50000');
    const text = await res.text();
    assert.equal(text.length, 50000);
    assert.equal(text.slice(0, 16), '0123456789abcdef');
  });

  // Espruino never sets TCP_NODELAY: a response written in two pieces would have its second
  // held by Nagle until the client's delayed ACK (40 ms on Linux) on a reused connection.
  test('a response that fits one 536-byte piece leaves as one write, on a reused connection too', async () => {
    const socket = net.connect(app.port, '127.0.0.1');
    socket.setNoDelay(true);
    let pieces = [];
    socket.on('data', (chunk) => pieces.push(chunk.toString('latin1')));
    try {
      await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
      for (let i = 0; i < 3; i++) {
        pieces = [];
        socket.write(GET('/utf8'));
        const deadline = Date.now() + 5000;
        let parsed = [];
        while (Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          parsed = parseResponses(pieces.join(''));
          if (parsed.length && parsed[0].body.length === Number(parsed[0].headers['content-length'])) break;
        }
        assert.equal(parsed.length, 1, `request ${i + 1}: no whole answer in 5 s: ${pieces.join('')}`);
        assert.ok(pieces.join('').length <= 536, `the answer is ${pieces.join('').length} bytes`);
        assert.equal(pieces.length, 1, `request ${i + 1} arrived in ${pieces.length} pieces: ${JSON.stringify(pieces)}`);
      }
    } finally {
      socket.destroy();
    }
  });

  test('keep-alive per RFC 9112: 1.1 persists, 1.0 closes unless asked, Connection: close is echoed', async () => {
    const kept = await rawExchange(app.port, GET('/') + GET('/users/1'));
    assert.equal(parseResponses(kept.text).length, 2);
    assert.equal(kept.closed, false);
    const http10 = await one(app.port, 'GET / HTTP/1.0\r\n\r\n');
    assert.equal(http10.closed, true);
    assert.equal(http10.headers.connection, 'close');
    const http10ka = await one(app.port, 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    assert.equal(http10ka.closed, false);
    assert.equal(http10ka.headers.connection, 'keep-alive');
    const close = await one(app.port, GET('/', 'Connection: close'));
    assert.equal(close.closed, true);
    assert.equal(close.headers.connection, 'close');
    const handlerClose = await one(app.port, GET('/close'));
    assert.equal(handlerClose.closed, true);
  });

  test('maxKeepAliveRequests (10) ends the connection after the 10th response', async () => {
    const { text, closed } = await rawExchange(app.port, GET('/').repeat(12));
    const responses = parseResponses(text);
    assert.equal(responses.length, 10);
    assert.equal(responses[9].headers.connection, 'close');
    assert.equal(closed, true);
  });

  test('an idle keep-alive connection closes after keepAliveTimeout (2 s)', async () => {
    const started = Date.now();
    const { closed } = await rawExchange(app.port, GET('/'), { idleMs: 5000 });
    assert.equal(closed, true);
    assert.ok(Date.now() - started >= 1500, 'closed too early');
  });

  test('pipelined requests are answered in order; a request split into single bytes parses', async () => {
    const pipelined = parseResponses((await rawExchange(app.port, GET('/users/1') + GET('/users/2') + GET('/users/3'))).text);
    assert.deepEqual(pipelined.map((r) => r.body), ['{"id":"1"}', '{"id":"2"}', '{"id":"3"}']);
    const payload = request('POST /echo HTTP/1.1', 'Host: t', 'Content-Length: 5') + 'hello';
    const res = await one(app.port, null, { chunks: payload.split('') });
    assert.equal(res.body, 'hello');
  });

  test('chunked request bodies are reassembled', async () => {
    const res = await one(app.port, request('POST /echo HTTP/1.1', 'Host: t', 'Transfer-Encoding: chunked') +
      '5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n');
    assert.equal(res.body, 'hello, world');
  });

  test('Expect: 100-continue gets an interim 100 before the body is sent', async () => {
    const socket = net.connect(app.port, '127.0.0.1');
    const chunks = [];
    socket.on('data', (d) => chunks.push(d.toString('latin1')));
    await new Promise((r) => socket.on('connect', r));
    socket.write(request('POST /echo HTTP/1.1', 'Host: t', 'Content-Length: 4', 'Expect: 100-continue'));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(chunks.join(''), 'HTTP/1.1 100 Continue\r\n\r\n');
    socket.write('ping');
    await new Promise((r) => setTimeout(r, 300));
    socket.destroy();
    assert.match(chunks.join(''), /\r\n\r\nHTTP\/1\.1 200 OK[^]*\r\n\r\nping$/);
    const tooBig = await one(app.port, request('POST /echo HTTP/1.1', 'Host: t', 'Content-Length: 100000', 'Expect: 100-continue'));
    assert.equal(tooBig.status, 413);
    assert.doesNotMatch(tooBig.raw, /100 Continue/);
  });

  const limits = [
    ['request line over 8 KB → 414', GET('/' + 'a'.repeat(9000)), 414],
    ['more than 50 headers → 431', request('GET / HTTP/1.1', 'Host: t', ...Array.from({ length: 51 }, (_, i) => `X-H${i}: v`)), 431],
    ['a header line over 8 KB → 431', GET('/', 'X-Big: ' + 'b'.repeat(9000)), 431],
    ['body over maxBodySize → 413 before it is sent', request('POST /echo HTTP/1.1', 'Host: t', 'Content-Length: 9000'), 413],
    ['chunked body over maxBodySize → 413', request('POST /echo HTTP/1.1', 'Host: t', 'Transfer-Encoding: chunked') + '2001\r\n' + 'x'.repeat(8193) + '\r\n0\r\n\r\n', 413],
    ['malformed request line → 400', 'GET /\r\n\r\n', 400],
    ['malformed header → 400', GET('/', 'NoColonHere'), 400],
    ['bad chunk size → 400', request('POST /echo HTTP/1.1', 'Host: t', 'Transfer-Encoding: chunked') + 'zz\r\n', 400],
    ['Content-Length with Transfer-Encoding → 400', request('POST /echo HTTP/1.1', 'Host: t', 'Content-Length: 3', 'Transfer-Encoding: chunked') + '0\r\n\r\n', 400],
    ['two different Content-Lengths → 400', request('POST /echo HTTP/1.1', 'Host: t', 'Content-Length: 3', 'Content-Length: 4') + 'abcd', 400],
    ['HTTP/1.1 without Host → 400', 'GET / HTTP/1.1\r\n\r\n', 400],
    ['unknown method → 501', request('BREW / HTTP/1.1', 'Host: t'), 501],
    ['HTTP/2.0 → 505', 'GET / HTTP/2.0\r\nHost: t\r\n\r\n', 505],
    ['obs-fold → 400', request('GET / HTTP/1.1', 'Host: t', 'X-A: 1', ' continued'), 400],
    ['space before colon → 400', request('GET / HTTP/1.1', 'Host: t', 'X-A : 1'), 400],
  ];
  for (const [name, payload, status] of limits) {
    test(`${name}, then the connection closes`, async () => {
      const res = await one(app.port, payload);
      assert.equal(res.status, status, res.raw);
      assert.equal(JSON.parse(res.body).code, status);
      assert.equal(res.headers.connection, 'close');
      assert.equal(res.closed, true);
    });
  }

  test('slowloris: headers not complete within bodyTimeout (2 s) → 408 and close', async () => {
    const res = await one(app.port, 'GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ', { idleMs: 4000 });
    assert.equal(res.status, 408);
    assert.equal(res.closed, true);
  });

  test('more than maxConns (6) connections → 503 with Retry-After; service resumes after', async () => {
    const sockets = [];
    for (let i = 0; i < 6; i++) {
      const socket = net.connect(app.port, '127.0.0.1');
      await new Promise((r) => socket.on('connect', r));
      sockets.push(socket);
    }
    await new Promise((r) => setTimeout(r, 200));
    const refused = await one(app.port, GET('/'));
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '1');
    sockets.forEach((s) => s.destroy());
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await one(app.port, GET('/'))).status, 200);
  });

  test('routes added and removed at run time take effect at once', async () => {
    assert.equal((await fetch(app.url + '/dyn')).status, 404);
    const added = await fetch(app.url + '/admin/routes', { method: 'POST', body: JSON.stringify({ path: '/dyn', reply: 'hi' }) });
    assert.equal(added.status, 200);
    assert.equal(await (await fetch(app.url + '/dyn')).text(), 'hi');
    assert.deepEqual(await (await fetch(app.url + '/admin/routes?path=/dyn', { method: 'DELETE' })).json(), { removed: 1 });
    assert.equal((await fetch(app.url + '/dyn')).status, 404);
  });

  test('an ordinary HTTP client (fetch) posts JSON and reads JSON', async () => {
    const res = await fetch(app.url + '/json', { method: 'POST', body: JSON.stringify({ hello: 'world', n: [1, 2] }) });
    assert.deepEqual(await res.json(), { received: { hello: 'world', n: [1, 2] } });
    const invalid = await fetch(app.url + '/json', { method: 'POST', body: '{not json' });
    assert.deepEqual(await invalid.json(), { received: null });
  });
});

describe(`JSON bombs on an ESP32-sized C stack (${lane()})`, () => {
  let app;
  // The real lane runs at DEVICE_STACK_KB (24 KB), below an ESP32's 25 KB task stack scaled for this
  // 64-bit build's larger frames (about 44 KB): an unguarded 120-deep JSON.parse crashes there.
  before(async () => { app = await startApp('test/fixtures/app.ts'); });
  after(() => app.stop());

  test('a 240-byte body nested 120 deep is invalid JSON to req.json, and the server lives on', async () => {
    const bomb = '['.repeat(120) + ']'.repeat(120);
    const res = await fetch(app.url + '/json', { method: 'POST', body: bomb });
    assert.deepEqual(await res.json(), { received: null });
    const objects = '{"a":'.repeat(100) + '1' + '}'.repeat(100);
    assert.deepEqual(await (await fetch(app.url + '/json', { method: 'POST', body: objects })).json(), { received: null });
    const fine = '{"a":'.repeat(10) + '1' + '}'.repeat(10);
    assert.deepEqual(await (await fetch(app.url + '/json', { method: 'POST', body: fine })).json(), { received: JSON.parse(fine) });
    assert.equal((await fetch(app.url + '/')).status, 200);
  });
});

describe(`stopping (${lane()})`, () => {
  let app;
  before(async () => { app = await startApp('test/fixtures/stop.ts'); });
  after(() => app.stop());

  test('app.stop() answers the request in flight with Connection: close, then refuses new connections', async () => {
    const res = await one(app.port, request('POST /stop HTTP/1.1', 'Host: t', 'Content-Length: 0'));
    assert.equal(res.body, 'stopping');
    assert.equal(res.headers.connection, 'close');
    assert.equal(res.closed, true);
    await new Promise((r) => setTimeout(r, 200));
    const after = await rawExchange(app.port, GET('/'), { idleMs: 500 }).catch((e) => ({ error: e }));
    assert.ok(after.error || after.text === '', `expected no answer after stop, got ${after.text}`);
  });
});
