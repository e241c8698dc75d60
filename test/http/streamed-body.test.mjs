// Streamed request bodies: a route with { streamBody: true } takes its body in
// pieces through req.receive(sink), with back-pressure; routes set their own limits.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp, rawExchange, parseResponses, request } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';

/** The fixture's checksum: the sum of every byte, whatever pieces they came in. */
function sum(buffer) {
  let s = 0;
  for (let i = 0; i < buffer.length; i++) s = (s + buffer[i]) % 65536;
  return s;
}

function body(size) {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = (i * 7 + (i >> 8)) & 255;
  return out;
}

describe(`streamed request bodies (${lane()})`, () => {
  let app;
  before(async () => { app = await startApp('test/fixtures/streamed.ts'); });
  after(() => app.stop());

  test('a Content-Length body arrives whole in pieces; the connection then serves the next request', async () => {
    const data = body(30000);
    const head = request('POST /count HTTP/1.1', 'Host: t', `Content-Length: ${data.length}`);
    const next = request('POST /small HTTP/1.1', 'Host: t', 'Content-Length: 3', 'Connection: close') + 'abc';
    const chunks = [head];
    for (let at = 0; at < data.length; at += 3000) chunks.push(data.subarray(at, at + 3000));
    chunks.push(next);
    const responses = parseResponses((await rawExchange(app.port, null, { chunks, idleMs: 15000, timeoutMs: 30000 })).text);
    assert.equal(responses.length, 2);
    const counted = JSON.parse(responses[0].body);
    assert.equal(counted.bytes, data.length);
    assert.equal(counted.sum, sum(data));
    assert.ok(counted.pieces > 1);
    assert.deepEqual(JSON.parse(responses[1].body), { bytes: 3 });
  });

  test('req.receive() on a request without a body, or on a route that took its body whole, feeds the sink at once', async () => {
    const empty = await fetch(app.url + '/count', { method: 'POST', headers: { 'Content-Length': '0' } });
    assert.deepEqual(await empty.json(), { bytes: 0, pieces: 0, maxInFlight: 0, sum: 0 });
    const whole = await fetch(app.url + '/whole', { method: 'POST', body: 'abc' });
    assert.deepEqual(await whole.json(), { bytes: 3, pieces: 1, maxInFlight: 0, sum: 97 + 98 + 99 });
  });

  test('a chunked body streams too, its chunk lines split anywhere', async () => {
    const data = body(5000);
    let wire = '';
    for (let at = 0; at < data.length; at += 1234) {
      const piece = data.subarray(at, at + 1234);
      wire += piece.length.toString(16) + '\r\n' + piece.toString('latin1') + '\r\n';
    }
    wire = request('POST /count HTTP/1.1', 'Host: t', 'Transfer-Encoding: chunked', 'Connection: close') + wire + '0\r\n\r\n';
    const chunks = [];
    for (let at = 0; at < wire.length; at += 5) chunks.push(wire.slice(at, at + 5));
    const [res] = parseResponses((await rawExchange(app.port, null, { chunks: chunks.slice(0, 40).concat([chunks.slice(40).join('')]), idleMs: 15000, timeoutMs: 30000 })).text);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body).bytes, data.length);
    assert.equal(JSON.parse(res.body).sum, sum(data));
  });

  test('back-pressure: a write that returns a promise is never overlapped by the next; what arrives meanwhile waits', async () => {
    const data = body(20000);
    const chunks = [request('POST /slow HTTP/1.1', 'Host: t', `Content-Length: ${data.length}`, 'Connection: close')];
    for (let at = 0; at < data.length; at += 1000) chunks.push(data.subarray(at, at + 1000));
    const [res] = parseResponses((await rawExchange(app.port, null, { chunks, idleMs: 15000, timeoutMs: 30000 })).text);
    const counted = JSON.parse(res.body);
    assert.equal(counted.bytes, data.length);
    assert.equal(counted.sum, sum(data));
    assert.equal(counted.maxInFlight, 1);
  });

  test('the body timeout counts the client\'s silence, not the time writes take (0.7 s each, bodyTimeout 1 s)', async () => {
    const chunk = (letter) => '64\r\n' + letter.repeat(100) + '\r\n';
    const socket = net.connect(app.port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => { text += d.toString('latin1'); });
    const ended = new Promise((resolve) => socket.on('close', resolve));
    await new Promise((resolve) => socket.on('connect', resolve));
    // One piece, then nothing until its write is done: the connection waits on the client and its timer runs.
    socket.write(request('POST /slower HTTP/1.1', 'Host: t', 'Transfer-Encoding: chunked', 'Connection: close') + chunk('a'));
    await new Promise((r) => setTimeout(r, 1000));
    // Then four pieces at once: 2.8 s of writes, the client silent meanwhile because everything was sent.
    socket.write(chunk('b') + chunk('c') + chunk('d') + chunk('e') + '0\r\n\r\n');
    await ended;
    const [res] = parseResponses(text);
    assert.equal(res.status, 200, res.body);
    assert.equal(JSON.parse(res.body).bytes, 500);
  });

  test('a client that sends far more than a pending write lets pile up gets 503, and the sink aborts', async () => {
    // Espruino's sockets cannot be paused: while a write is pending, at most LIMITS.maxPipelined (16 KB) may wait.
    const res = await fetch(app.url + '/slow', { method: 'POST', body: body(64000) });
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { error: 'The body arrived faster than it was taken', code: 503 });
    await app.waitFor(/aborted: The body arrived faster than it was taken/);
  });

  test('a route sets its own limit, above or below the app\'s maxBodySize (1024)', async () => {
    const big = await fetch(app.url + '/big', { method: 'POST', body: body(3000) });
    assert.deepEqual(await big.json(), { bytes: 3000 });
    const [tooBigForBig] = parseResponses((await rawExchange(app.port, request('POST /big HTTP/1.1', 'Host: t', 'Content-Length: 5001'))).text);
    assert.equal(tooBigForBig.status, 413);
    assert.match(tooBigForBig.body, /larger than 5000 bytes/);
    const [tooBigForApp] = parseResponses((await rawExchange(app.port, request('POST /small HTTP/1.1', 'Host: t', 'Content-Length: 2000'))).text);
    assert.equal(tooBigForApp.status, 413);
    assert.match(tooBigForApp.body, /larger than 1024 bytes/);
    // A chunked streamed body over its route's limit: 413 when the chunk size says so.
    const chunked = request('POST /count HTTP/1.1', 'Host: t', 'Transfer-Encoding: chunked') + '100\r\n' + 'x'.repeat(256) + '\r\n' + '20000\r\n';
    const [overChunked] = parseResponses((await rawExchange(app.port, chunked)).text);
    assert.equal(overChunked.status, 413);
    await app.waitFor(/aborted: Request body larger than 100000 bytes/);
  });

  test('a body that stops arriving gets 408 after bodyTimeout, and the sink aborts', async () => {
    const started = Date.now();
    const { text, closed } = await rawExchange(app.port, request('POST /count HTTP/1.1', 'Host: t', 'Content-Length: 1000') + 'x'.repeat(100), { idleMs: 4000 });
    const [res] = parseResponses(text);
    assert.equal(res.status, 408);
    assert.ok(closed);
    assert.ok(Date.now() - started >= 900);
    await app.waitFor(/aborted: Body not received in time/);
  });

  test('a handler that answers without reading the body closes the connection after its answer; Expect: 100-continue gets no 100', async () => {
    const { text, closed } = await rawExchange(app.port, request('POST /ignore HTTP/1.1', 'Host: t', 'Content-Length: 500', 'Expect: 100-continue'));
    assert.doesNotMatch(text, /100 Continue/);
    const [res] = parseResponses(text);
    assert.deepEqual(JSON.parse(res.body), { ignored: true });
    assert.match(res.headers.connection, /close/);
    assert.ok(closed);
  });

  test('Expect: 100-continue gets its 100 once the handler asks for the body', async () => {
    const socket = net.connect(app.port, '127.0.0.1');
    let text = '';
    await new Promise((resolve) => socket.on('connect', resolve));
    socket.write(request('POST /count HTTP/1.1', 'Host: t', 'Content-Length: 4', 'Expect: 100-continue', 'Connection: close'));
    await new Promise((resolve) => socket.on('data', (d) => { text += d.toString('latin1'); if (text.includes('100 Continue')) resolve(); }));
    socket.write('abcd');
    await new Promise((resolve) => socket.on('end', resolve));
    assert.match(text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200/);
    assert.match(text, /"bytes":4/);
  });
});
