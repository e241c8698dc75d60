// Memory-aware admission on an ESP32-C3's heap (4095 JsVars, --board esp32c3:
// minFreeJsVars 400), end to end. On the real interpreter (ESPRUINO_C3) the
// fixture fills the heap itself; the emulation does not count JsVars, so there
// its memory is scripted. Fixture: test/fixtures/lowmem.ts.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startApp, request } from '../helpers/app.mjs';
import { lane, c3Unavailable, C3_JSVARS } from '../helpers/server.mjs';
import { GET, sleep, connect, keepAliveClient, takeResponse } from './lib.mjs';

const POST = (path) => request(`POST ${path} HTTP/1.1`, 'Host: t', 'Content-Length: 0');

/** Opens a WebSocket to the echo route; resolves once open. */
function openEcho(port) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/echo`);
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

const echo = (ws, text) => new Promise((resolve) => {
  ws.once('message', (data) => resolve(data.toString()));
  ws.send(text);
});

describe(`low memory: 503 for new connections, 1013 for WebSockets (${lane()}, C3 heap)`, { skip: c3Unavailable() }, () => {
  let app;
  before(async () => { app = await startApp('test/fixtures/lowmem.ts', { mode: 'c3', board: 'esp32c3' }); });
  after(() => app.stop());

  test('below minFreeJsVars new clients get 503 and Retry-After, an open WebSocket 1013; service resumes once memory is back', async () => {
    // Opened while memory is plentiful: this connection fills and releases the heap.
    const keeper = await keepAliveClient(app.port);
    const memory = JSON.parse((await keeper.ask(GET('/memory'))).body);
    assert.equal(memory.floor, 400, 'the esp32c3 board\'s minFreeJsVars');
    assert.ok(memory.free > memory.floor + 300, `${memory.free} JsVars free at the start`);
    const ws = await openEcho(app.port);
    assert.equal(await echo(ws, 'before'), 'before');

    const target = memory.floor - 100;
    if (app.lane === 'espruino') {
      const filled = JSON.parse((await keeper.ask(POST(`/memory/fill?free=${target}`))).body);
      assert.ok(filled.free <= target, `filled to ${filled.free} JsVars free`);
    } else {
      app.setEmulatedUsage(C3_JSVARS - target);
    }

    for (let i = 0; i < 5; i++) {
      const client = await connect(app.port);
      client.socket.write(GET('/'));
      await Promise.race([client.ended, sleep(5000)]); // an admitted client would be kept alive
      const res = takeResponse(client.text());
      assert.equal(res.status, 503, client.text());
      assert.deepEqual(JSON.parse(res.body), { error: 'Low on memory', code: 503 });
      assert.equal(res.headers['retry-after'], '5');
      assert.equal(res.headers.connection, 'close');
    }
    await app.waitFor(/\[WARNING\].*Connection refused: fewer than 400 JsVars free/, 2000);

    const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.send('while memory is low');
    assert.deepEqual(await closed, { code: 1013, reason: 'Try Again Later' });

    if (app.lane === 'espruino') await keeper.ask(POST('/memory/release'));
    else app.setEmulatedUsage(400);
    await keeper.close();

    const fresh = await keepAliveClient(app.port);
    assert.deepEqual(JSON.parse((await fresh.ask(GET('/'))).body), { ok: true });
    await fresh.close();
    const again = await openEcho(app.port);
    assert.equal(await echo(again, 'after'), 'after');
    again.close();
    assert.doesNotMatch(app.output(), /OUT OF MEMORY|LOW_MEMORY|Uncaught/);
  });
});
