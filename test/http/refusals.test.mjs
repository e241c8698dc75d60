// Every refusal is an answer: a request whose bytes already prove it malformed
// gets its status line at once, then the connection closes; it is not left to
// wait for the rest of its line (or of its header section) until the request
// timer answers 408, and it is never closed without a status. Each input below
// stops where the malformation is proven (no line end, no final CRLF, no half
// close): a server that waited would answer 408 after bodyTimeout (2 s in the
// fixture) or nothing. Valid input cut at the same places still waits.
// Fixture: test/fixtures/app.ts (maxBodySize 8192, bodyTimeout 2 s).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, rawExchange, parseResponses } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';

// Well under bodyTimeout: an answer this late came from the request timer.
const PROMPT_MS = 1500;

/** Sends `payload` (or `chunks`) and returns the one response, the close and the time to the close. */
async function refusal(port, payload, chunks) {
  const started = Date.now();
  const reply = await rawExchange(port, payload, { idleMs: 4000, timeoutMs: 8000, chunks });
  const elapsed = Date.now() - started;
  const responses = parseResponses(reply.text);
  assert.equal(responses.length, 1, `expected one response, got ${JSON.stringify(reply.text.slice(0, 300))}`);
  const res = responses[0];
  const error = JSON.parse(res.body).error;
  return { status: res.status, statusLine: res.statusLine, connection: res.headers.connection, error, closed: reply.closed, elapsed };
}

function assertRefused(got, status, message, what) {
  assert.equal(got.status, status, `${what}: ${got.statusLine} (${got.error})`);
  if (message) assert.match(got.error, message, what);
  assert.equal(got.connection, 'close', what);
  assert.equal(got.closed, true, `${what}: the server closes after the status`);
  assert.ok(got.elapsed < PROMPT_MS, `${what}: answered after ${got.elapsed} ms, not at once`);
}

const CHUNKED = 'POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n';

// [name, bytes, status, message]: each is sent in one piece, then a byte at a time.
const CASES = [
  // Content-Length: judged at its own line (and digit by digit while it arrives), not at the end of the section.
  ['Content-Length with more digits than fit, section unfinished', 'PUT /users/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000000000000000\r\n', 413, /larger than 8192/],
  ['Content-Length above maxBodySize, section unfinished', 'PUT /users/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 8193\r\n', 413, /larger than 8192/],
  ['Content-Length above maxBodySize, its line unfinished', 'PUT /users/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 99999', 413, /larger than 8192/],
  ['Content-Length overflow before other headers', 'POST /echo HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\nHost: t\r\n', 413, /larger than 8192/],
  ['Content-Length with a letter, section unfinished', 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 12a\r\n', 400, /Content-Length/],
  ['Content-Length with a sign, its line unfinished', 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: -1', 400, /Content-Length/],
  // The HTTP version, as soon as it cannot be HTTP/1.0 or HTTP/1.1.
  ['HTTP/5.6 with no line end', 'GET / HTTP/5.6', 505, /HTTP\/1\.0 and HTTP\/1\.1/],
  ['HTTP/2.0 followed by more', 'GET / HTTP/2.0 x', 505, /HTTP\/1\.0 and HTTP\/1\.1/],
  ['a version that cannot become HTTP/d.d', 'GET / HTTX', 400, /HTTP version/],
  ['a lowercase version', 'GET / http/1.1\r\n', 400, /HTTP version/],
  // Whitespace after the start line.
  ['a space after the version', 'GET / HTTP/1.1 ', 400, /whitespace after the HTTP version/],
  ['a tab after the version', 'GET / HTTP/1.1\t', 400, /whitespace after the HTTP version/],
  ['a space after the version, line ended', 'GET / HTTP/1.1 \r\n', 400, /whitespace after the HTTP version/],
  ['a line starting with a space after the request line', 'GET / HTTP/1.1\r\n Host: foo', 400, /whitespace after the request line/],
  ['a line starting with a tab after the request line', 'GET / HTTP/1.1\r\n\tHost: foo', 400, /whitespace after the request line/],
  ['a folded line after a field', 'GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n continued', 400, /folding/],
  ['whitespace before the method', ' GET / HTTP/1.1', 400, /before the method/],
  // The end of the header section.
  ['a CR not followed by LF where the section ends (body follows)', 'PUT /users/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\rabc', 400, /Bare CR/],
  ['a bare LF ending the section (body follows)', 'PUT /users/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\nabc', 400, /CRLF/],
  ['a body right after the last field line, no empty line', 'POST /json HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\n{"a":1}', 400, /header field/],
  ['a bare CR inside a field line', 'GET / HTTP/1.1\r\nHost: t\rX', 400, /Bare CR/],
  ['a bare CR inside the request line', 'GET /a\rb', 400, /Bare CR/],
  // Field lines and the request line, at the first byte that cannot fit.
  ['a space before the colon', 'GET / HTTP/1.1\r\nHost : t', 400, /field name/],
  ['a control character in a field value', 'GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x01', 400, /Invalid character/],
  ['a control character in the target', 'GET /a\x00', 400, /request target/],
  ['a character no method has', 'G(T / HTTP/1.1', 400, /method/],
  ['the 51st field line', 'GET / HTTP/1.1\r\nHost: t\r\n' + Array.from({ length: 49 }, (_, i) => `X-${i}: v\r\n`).join('') + 'X', 431, /Too many header fields/],
  // Chunked bodies.
  ['a chunk size that is not hex', CHUNKED + 'zz', 400, /chunk size/],
  ['a chunk size above maxBodySize, its line unfinished', CHUNKED + 'fffff', 413, /larger than 8192/],
  ['whitespace after a chunk size', CHUNKED + '5 ', 400, /chunk size/],
  ['chunk data not followed by CRLF', CHUNKED + '5\r\nhelloX', 400, /Chunk data not followed by CRLF/],
  ['a malformed chunk extension, its line unfinished', CHUNKED + '5;a b', 400, /chunk extension/],
];

describe(`a malformed request is answered at once, before the close (${lane()})`, () => {
  let app;
  before(async () => { app = await startApp('test/fixtures/app.ts'); });
  after(() => app.stop());

  for (const [name, bytes, status, message] of CASES) {
    test(name, async () => {
      assertRefused(await refusal(app.port, bytes), status, message, 'in one piece');
      // A byte at a time: the same verdict, at the byte that proves it.
      if (bytes.length <= 80) assertRefused(await refusal(app.port, null, bytes.split('')), status, message, 'a byte at a time');
    });
  }

  test('valid requests cut at the same places still wait for the rest, then are served', async () => {
    const waiting = [
      'GET / HTTP/1.',
      'GET / HTTP/1.1\r',
      'GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r',
      'PUT /users/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 8192',
      CHUNKED + 'ff;a="b c',
    ];
    for (const bytes of waiting) {
      const reply = await rawExchange(app.port, bytes, { idleMs: 500 });
      assert.equal(reply.text, '', `${JSON.stringify(bytes)}: no answer yet`);
      assert.equal(reply.closed, false, `${JSON.stringify(bytes)}: still open`);
    }
    const whole = 'GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\nConnection: close\r\n\r\n';
    for (const chunks of [whole.split(''), [whole.slice(0, 13), whole.slice(13, 30), whole.slice(30)]]) {
      const reply = await rawExchange(app.port, null, { chunks, idleMs: 2000 });
      assert.deepEqual(parseResponses(reply.text).map((r) => r.status), [200], reply.text.slice(0, 200));
    }
    const post = 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello';
    const reply = await rawExchange(app.port, null, { chunks: post.split(''), idleMs: 2000 });
    const [res] = parseResponses(reply.text);
    assert.equal(res && res.body, 'hello', reply.text.slice(0, 200));
  });

  test('the server still answers after the refusals', async () => {
    const reply = await rawExchange(app.port, 'GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    assert.deepEqual(parseResponses(reply.text).map((r) => r.status), [200]);
  });
});
