// The cap on the whole header section (LIMITS.maxHeaderBytes, 16384 bytes of
// field lines) end to end: exactly the limit is served, one byte more is a
// 431, and "100 headers of 8 KB" are refused after the first 16 KB while the
// server's memory stays bounded (JsVars counted on the real interpreter; the
// emulation has no heap to count). Fixture: test/fixtures/app.ts.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp, rawExchange, parseResponses, request } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';

const MAX_SECTION = 16384;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Field lines of exactly `bytes` bytes, CRLFs counted, "Host: t" first; none over 8 KB. */
function fieldsOf(bytes) {
  const lines = ['Host: t'];
  let left = bytes - 9;
  for (let i = 0; left > 0; i++) {
    const size = Math.min(left, 8000);
    const name = `X-${i}: `;
    assert.ok(size >= name.length + 3, 'room for a field line');
    lines.push(name + 'v'.repeat(size - name.length - 2));
    left -= size;
  }
  return lines;
}

describe(`the header section is capped at 16 KB (${lane()})`, () => {
  let app;
  before(async () => { app = await startApp('test/fixtures/app.ts'); });
  after(() => app.stop());

  const usage = async () => JSON.parse((await rawExchange(app.port, request('GET /memory HTTP/1.1', 'Host: t', 'Connection: close'))).text.split('\r\n\r\n')[1]).usage;

  test('exactly 16384 bytes of field lines are served; one byte more is a 431 and a close', async () => {
    const exact = fieldsOf(MAX_SECTION);
    assert.equal(exact.join('\r\n').length + 2, MAX_SECTION);
    const ok = parseResponses((await rawExchange(app.port, request('GET / HTTP/1.1', ...exact))).text);
    assert.deepEqual(ok.map((r) => r.status), [200]);
    const over = await rawExchange(app.port, request('GET / HTTP/1.1', ...fieldsOf(MAX_SECTION + 1)));
    const [refused] = parseResponses(over.text);
    assert.equal(refused.status, 431, over.text.slice(0, 300));
    assert.match(JSON.parse(refused.body).error, /Header section/);
    assert.equal(refused.headers.connection, 'close');
    assert.equal(over.closed, true);
  });

  test('100 headers of 8 KB: a 431 after the first 16 KB, memory bounded while they arrive and back to the baseline after', async (t) => {
    const counting = lane() === 'espruino';
    const line = 'X-Big: ' + 'b'.repeat(8000) + '\r\n';
    for (let warm = 0; warm < 2; warm++) await rawExchange(app.port, request('GET / HTTP/1.1', ...fieldsOf(MAX_SECTION + 1)));
    const baseline = counting ? await usage() : 0;
    const socket = net.connect(app.port, '127.0.0.1');
    const received = [];
    let closed = false;
    socket.on('data', (d) => received.push(d));
    socket.on('end', () => { closed = true; });
    socket.on('close', () => { closed = true; });
    socket.on('error', () => { closed = true; }); // EPIPE or ECONNRESET: writing after the server closed
    await new Promise((r) => socket.on('connect', r));
    socket.write('GET / HTTP/1.1\r\nHost: t\r\n');
    let sent = 0;
    let peak = 0;
    for (let i = 0; i < 100 && !closed; i++) {
      socket.write(line);
      sent += line.length;
      await sleep(60);
      if (counting && !closed) peak = Math.max(peak, (await usage()) - baseline);
    }
    await sleep(200);
    socket.destroy();
    const [res] = parseResponses(Buffer.concat(received).toString('latin1'));
    assert.ok(res, 'an answer came');
    assert.equal(res.status, 431);
    assert.equal(closed, true, 'the server closed the connection');
    assert.ok(sent <= 3 * line.length, `the server answered after ${sent} bytes of fields`);
    if (counting) {
      // 16 KB held as strings is about 1400 JsVars of 12 characters; the parser's copies at most double that.
      assert.ok(peak < 4000, `${peak} JsVars above the baseline while the headers arrived`);
      await sleep(300);
      const after = await usage();
      t.diagnostic(`JsVars: baseline ${baseline}, at most ${peak} more while the headers arrived, ${after} after`);
      assert.ok(after - baseline <= 10, `JsVars went from ${baseline} to ${after}`);
    }
    const again = parseResponses((await rawExchange(app.port, request('GET / HTTP/1.1', 'Host: t', 'Connection: close'))).text);
    assert.deepEqual(again.map((r) => r.status), [200], 'the server still answers');
  });
});
