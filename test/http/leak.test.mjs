// Memory comes back: JsVars in use after mixed traffic return to the baseline.
// Only the real interpreter counts JsVars (process.memory() is a stub in the
// emulation, where the method-depth counting stands in for the leak it found).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, rawExchange, request } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';

const GET = (path, ...headers) => request(`GET ${path} HTTP/1.1`, 'Host: t', ...headers);

describe(`no leaks per request (${lane()})`, { skip: !process.env.ESPRUINO && 'JsVars are only counted on the real interpreter (set ESPRUINO)' }, () => {
  let app;
  before(async () => { app = await startApp('test/fixtures/app.ts'); });
  after(() => app.stop());

  const usage = async () => JSON.parse((await rawExchange(app.port, GET('/memory'), { idleMs: 150 })).text.split('\r\n\r\n')[1]).usage;

  test('keep-alive, close, pipelined, POST, errors, bad input, streams and clients that leave', async () => {
    const kinds = [
      [GET('/users/7'), 50],
      [GET('/', 'Connection: close'), 50],
      [GET('/') + GET('/search?q=1&q=2') + GET('/nope'), 80],
      [request('POST /json HTTP/1.1', 'Host: t', 'Content-Length: 13') + '{"a":[1,2,3]}', 50],
      [GET('/throw'), 50],
      ['GARBAGE\r\n\r\n', 50],
      ['GET / HTTP/1.1\r\nHost', 50],
      [GET('/stream/generator'), 80],
      [GET('/stream/endless'), 50],
      [GET('/async'), 120],
    ];
    for (let warm = 0; warm < 2; warm++) for (const [payload, idleMs] of kinds) await rawExchange(app.port, payload, { idleMs });
    const baseline = await usage();
    for (let round = 0; round < 5; round++) {
      for (const [payload, idleMs] of kinds) await rawExchange(app.port, payload, { idleMs });
    }
    await new Promise((r) => setTimeout(r, 300));
    const after = await usage();
    assert.ok(after - baseline <= 10, `JsVars grew from ${baseline} to ${after} over 50 connections`);
  });
});
