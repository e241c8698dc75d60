// Abusive clients end to end, on the emulation or (ESPRUINO set) the real
// interpreter: a thousand that leave mid-headers, slowloris, a connection
// flood. After each, the server holds the sockets (and on the real interpreter
// the JsVars) it held before. Fixture: test/fixtures/abuse.ts (maxConns 8,
// bodyTimeout and keepAliveTimeout 2 s).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rawExchange, parseResponses, request } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';
import { GET, sleep, connect, startAtRest, backToBaseline } from './lib.mjs';

const MAX_CONNS = 8;

describe(`abusive clients (${lane()})`, () => {
  let app;
  let baseline;
  before(async () => { ({ app, baseline } = await startAtRest()); });
  after(() => app.stop());

  test('1000 clients that connect and close mid-headers leave no socket and no JsVar behind', async () => {
    const partials = ['GET / HTTP/1.1\r\nHo', 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Le', 'G', ''];
    let next = 0;
    // Six at a time (under maxConns): each one is served by a connection, not refused.
    const worker = async () => {
      while (next < 1000) {
        const i = next++;
        const client = await connect(app.port);
        client.socket.write(partials[i % partials.length]);
        await sleep(1);
        if (i % 2) client.socket.end();
        else client.socket.resetAndDestroy();
        await client.ended;
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    const now = await backToBaseline(app, baseline);
    assert.equal(now.sockets, baseline.sockets);
    assert.equal(JSON.parse(parseResponses((await rawExchange(app.port, GET('/'))).text)[0].body).message, 'hello');
  });

  test('slowloris, a byte a second in the headers or in the body: 408 after bodyTimeout, others served meanwhile', async () => {
    const headers = request('GET / HTTP/1.1', 'Host: t', 'X-Slow: 1');
    const body = request('POST /echo HTTP/1.1', 'Host: t', 'Content-Length: 20');
    const drip = async (prefix, bytes) => {
      const client = await connect(app.port);
      const started = Date.now();
      client.socket.write(prefix);
      for (let i = 0; i < bytes.length && !client.closed(); i++) {
        client.socket.write(bytes[i]);
        await Promise.race([sleep(1000), client.ended]);
      }
      await client.ended;
      return { text: client.text(), seconds: (Date.now() - started) / 1000 };
    };
    const slow = [drip('', headers), drip(body, 'x'.repeat(20))];
    await sleep(500);
    // While the slow clients hold their connections, others are answered at once.
    const meanwhile = parseResponses((await rawExchange(app.port, GET('/users/5') + GET('/users/6'))).text);
    assert.deepEqual(meanwhile.map((r) => r.body), ['{"id":"5"}', '{"id":"6"}']);
    for (const { text, seconds } of await Promise.all(slow)) {
      const [res] = parseResponses(text);
      assert.equal(res.status, 408, text);
      assert.equal(res.headers.connection, 'close');
      assert.ok(seconds >= 1.5 && seconds < 10, `closed after ${seconds} s, bodyTimeout is 2 s`);
    }
    await backToBaseline(app, baseline);
  });

  test(`a flood of ${10 * MAX_CONNS} connections: 503 with Retry-After beyond maxConns, then normal service`, async () => {
    const flood = await Promise.all(Array.from({ length: 10 * MAX_CONNS }, () => connect(app.port)));
    // Longer than keepAliveTimeout: the accepted ones are closed idle by then. (Connections the
    // host's listen backlog had no room for never reach the server: they stay silent.)
    await sleep(3500);
    let refused = 0;
    let closedIdle = 0;
    for (const client of flood) {
      const text = client.text();
      if (text === '') {
        if (client.closed()) closedIdle++;
        continue;
      }
      const [res] = parseResponses(text);
      assert.equal(res.status, 503, text);
      assert.equal(res.headers['retry-after'], '1');
      assert.equal(res.headers.connection, 'close');
      assert.ok(client.closed());
      refused++;
    }
    assert.ok(closedIdle >= 1 && closedIdle <= 3 * MAX_CONNS, `${closedIdle} accepted and closed idle`);
    assert.ok(refused >= MAX_CONNS, `${refused} of ${flood.length} refused with 503`);
    await app.waitFor(/Connection refused: 8 connections open/, 1000);
    for (const client of flood) client.socket.destroy();
    // New clients are served normally again, many at once up to maxConns.
    const after = await Promise.all(Array.from({ length: MAX_CONNS - 2 }, (_, i) => rawExchange(app.port, GET('/users/' + i, 'Connection: close'))));
    assert.deepEqual(after.map(({ text }) => parseResponses(text)[0].body), after.map((_, i) => `{"id":"${i}"}`));
    await backToBaseline(app, baseline);
  });
});
