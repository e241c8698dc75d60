// A client that keeps sending while its response streams: the bytes past
// LIMITS.maxPipelined must not pile up (they would never be read: the
// connection closes after its answer). JsVars are only counted on the real
// interpreter. Fixture: test/fixtures/app.ts (its /stream/endless never ends).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp, rawExchange, request } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe(`pipelined bytes during a long response stay bounded (${lane()})`, { skip: !process.env.ESPRUINO && 'JsVars are only counted on the real interpreter (set ESPRUINO)' }, () => {
  let app;
  before(async () => { app = await startApp('test/fixtures/app.ts'); });
  after(() => app.stop());

  const usage = async () => JSON.parse((await rawExchange(app.port, request('GET /memory HTTP/1.1', 'Host: t', 'Connection: close'))).text.split('\r\n\r\n')[1]).usage;

  /** One client that sends 160 KB while its endless stream runs, then leaves; JsVars above `baseline` every 40 KB. */
  async function floodDuringStream(baseline) {
    const socket = net.connect(app.port, '127.0.0.1');
    socket.on('data', () => {});
    socket.on('error', () => {});
    await new Promise((r) => socket.on('connect', r));
    socket.write(request('GET /stream/endless HTTP/1.1', 'Host: t'));
    await sleep(200);
    const samples = [];
    for (let i = 1; i <= 40; i++) {
      socket.write('X'.repeat(4096));
      await sleep(50);
      if (i % 10 === 0) samples.push((await usage()) - baseline);
    }
    socket.destroy();
    await sleep(500); // the stream notices the client left at its next pull
    return samples;
  }

  test('160 KB sent during an endless stream: JsVars level off, and come back once the client leaves', async (t) => {
    await floodDuringStream(await usage()); // the first run's one-time allocations are not a leak
    const baseline = await usage();
    const samples = await floodDuringStream(baseline);
    const after = await usage();
    t.diagnostic(`JsVars above the baseline after each 40 KB: ${samples.join(', ')}; ${after - baseline} after the client left`);
    assert.ok(samples[3] - samples[0] < 200, `JsVars kept growing: ${samples.join(', ')}`);
    assert.ok(after - baseline <= 10, `JsVars went from ${baseline} to ${after}`);
  });
});
