// Streamed responses end to end: chunked framing, every source kind, back-pressure,
// a source that fails, a client that leaves, HTTP/1.0 and HEAD.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startApp, rawExchange, request } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';

const GET = (path, ...headers) => request(`GET ${path} HTTP/1.1`, 'Host: test', ...headers);

/** Decodes a chunked body; returns { chunks, rest, terminated }. */
function dechunk(text) {
  const chunks = [];
  let at = 0;
  for (;;) {
    const eol = text.indexOf('\r\n', at);
    if (eol < 0) return { chunks, terminated: false };
    const size = parseInt(text.slice(at, eol), 16);
    assert.match(text.slice(at, eol), /^[0-9a-f]+$/, 'chunk sizes are lowercase hex');
    if (size === 0) {
      assert.equal(text.slice(eol, eol + 4), '\r\n\r\n');
      return { chunks, rest: text.slice(eol + 4), terminated: true };
    }
    chunks.push(text.slice(eol + 2, eol + 2 + size));
    assert.equal(text.slice(eol + 2 + size, eol + 4 + size), '\r\n');
    at = eol + 4 + size;
  }
}

function splitHead(text) {
  const end = text.indexOf('\r\n\r\n');
  return { head: text.slice(0, end), body: text.slice(end + 4) };
}

describe(`streamed responses (${lane()})`, () => {
  let app;
  before(async () => { app = await startApp('test/fixtures/app.ts'); });
  after(() => app.stop());

  test('an array source: chunked with correct hex sizes, empty chunks skipped, UTF-8 text, terminated', async () => {
    const { text, closed } = await rawExchange(app.port, GET('/stream/array'));
    const { head, body } = splitHead(text);
    assert.match(head, /Transfer-Encoding: chunked/);
    assert.doesNotMatch(head, /Content-Length/);
    const { chunks, terminated } = dechunk(body);
    assert.ok(terminated);
    assert.deepEqual(chunks.map((c) => Buffer.from(c, 'latin1').toString('utf8')), ['one ', 'two ', 'thrée']);
    assert.equal(closed, false);
  });

  test('pull functions with promises, generators, and byte chunks', async () => {
    assert.equal(await (await fetch(app.url + '/stream/pull')).text(), 'pull 0\npull 1\npull 2\n');
    const gen = await fetch(app.url + '/stream/generator');
    assert.equal(gen.headers.get('content-type'), 'text/csv');
    assert.equal(await gen.text(), 'gen 0\ngen 1\ngen 2\n');
    const bytes = Buffer.from(await (await fetch(app.url + '/stream/bytes')).arrayBuffer());
    assert.deepEqual([...bytes], [0, 255, 10, 128]);
  });

  test('keep-alive is preserved after a stream: the next request on the connection is answered', async () => {
    const { text, closed } = await rawExchange(app.port, GET('/stream/generator') + GET('/users/5'));
    const { rest, terminated } = dechunk(splitHead(text).body);
    assert.ok(terminated);
    assert.match(rest, /^HTTP\/1\.1 200 OK[^]*\{"id":"5"\}$/);
    assert.equal(closed, false);
  });

  test('HTTP/1.0 clients get the body unframed, then the connection closes; HEAD gets headers only', async () => {
    const old = await rawExchange(app.port, 'GET /stream/generator HTTP/1.0\r\n\r\n');
    const { head, body } = splitHead(old.text);
    assert.doesNotMatch(head, /Transfer-Encoding/);
    assert.match(head, /Connection: close/);
    assert.equal(body, 'gen 0\ngen 1\ngen 2\n');
    assert.equal(old.closed, true);
    const headOnly = await rawExchange(app.port, request('HEAD /stream/endless HTTP/1.1', 'Host: t') + GET('/users/1'));
    assert.match(headOnly.text, /Transfer-Encoding: chunked\r\n\r\nHTTP\/1\.1 200 OK/);
  });

  test('many chunks arrive complete and in order (pulled one per drain)', async () => {
    const text = await (await fetch(app.url + '/stream/many?count=300')).text();
    const lines = text.trim().split('\n');
    assert.equal(lines.length, 300);
    lines.forEach((line, i) => assert.ok(line.startsWith(`line ${i} `), line));
  });

  test('a source that throws mid-stream cuts the body short (no terminating chunk) and is logged', async () => {
    const { text, closed } = await rawExchange(app.port, GET('/stream/throws'));
    const { chunks, terminated } = dechunk(splitHead(text).body);
    assert.deepEqual(chunks, ['ok 1\n', 'ok 2\n']);
    assert.equal(terminated, false);
    assert.equal(closed, true);
    await app.waitFor(/\[ERROR\].*Stream source failed: source broke/, 2000);
    assert.equal((await fetch(app.url + '/')).status, 200);
  });

  test('a client that leaves mid-stream stops the source (its finally block runs)', async () => {
    const before = (await (await fetch(app.url + '/stream/cancelled')).json()).cancelled;
    await new Promise((resolve) => {
      const req = http.get(app.url + '/stream/endless', (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
    });
    let cancelled = before;
    for (let i = 0; i < 20 && cancelled === before; i++) {
      await new Promise((r) => setTimeout(r, 50));
      cancelled = (await (await fetch(app.url + '/stream/cancelled')).json()).cancelled;
    }
    assert.equal(cancelled, before + 1);
  });
});
