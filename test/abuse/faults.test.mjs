// Faults end to end, on the emulation or (ESPRUINO set) the real interpreter:
// handlers that never answer (handlerTimeout), and clients and code that fail
// in the middle of things while another client is served throughout.
// Fixture: test/fixtures/abuse.ts (handlerTimeout 1 s, SSE heartbeat 1 s).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { request } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';
import { GET, sleep, connect, keepAliveClient, takeResponse, startAtRest, backToBaseline } from './lib.mjs';

const json = async (client, path) => JSON.parse((await client.ask(GET(path))).body);

/** What /stream/bulk sends: `count` chunks of 4096 bytes, each starting "chunk <i> ". */
function bulk(count) {
  const parts = [];
  for (let i = 0; i < count; i++) {
    const label = `chunk ${i} `;
    parts.push(label + '.'.repeat(4096 - label.length));
  }
  return parts.join('');
}

/** Reads from a raw connection until `enough(text)`, then drops it (a reset when `reset`). */
async function leaveAfter(port, payload, enough, { reset = false } = {}) {
  const client = await connect(port);
  client.socket.write(payload);
  while (!enough(client.text())) {
    if (client.closed()) throw new Error(`closed before the client left: ${client.text().slice(0, 300)}`);
    await sleep(10);
  }
  if (reset) client.socket.resetAndDestroy();
  else client.socket.destroy();
  return client.text();
}

describe(`handler timeout (${lane()})`, () => {
  let app;
  let baseline;
  before(async () => { ({ app, baseline } = await startAtRest()); });
  after(() => app.stop());

  test('a handler that answers within handlerTimeout is served', async () => {
    const client = await keepAliveClient(app.port);
    assert.equal((await client.ask(GET('/slow'))).body, 'slow but in time');
    await client.close();
  });

  test('a handler that never settles: 503 after handlerTimeout, logged; its late answer is never sent', async () => {
    const client = await keepAliveClient(app.port);
    const started = Date.now();
    const res = await client.ask(GET('/never'));
    const seconds = (Date.now() - started) / 1000;
    assert.equal(res.status, 503);
    assert.deepEqual(JSON.parse(res.body), { error: 'The handler did not answer in time', code: 503 });
    assert.ok(seconds >= 0.9 && seconds < 5, `answered after ${seconds} s`);
    await app.waitFor(/\[ERROR\].*Handler for GET \/never did not answer within 1 s/, 2000);
    // The connection goes on; the handler settles late and nothing more arrives on it.
    assert.deepEqual(await json(client, '/never/pending'), { pending: 1 });
    assert.deepEqual(await json(client, '/users/3'), { id: '3' });
    const other = await keepAliveClient(app.port);
    assert.deepEqual(JSON.parse((await other.ask(request('POST /never/settle HTTP/1.1', 'Host: t', 'Content-Length: 0'))).body), { settled: 1 });
    await sleep(300);
    assert.deepEqual(await json(client, '/users/4'), { id: '4' }, 'the next answer is the next request\'s, not "too late"');
    await client.close();
    await other.close();
    await backToBaseline(app, baseline);
  });

  test('streams, Server-Sent Events and WebSockets run longer than handlerTimeout once started', async () => {
    const started = Date.now();
    const running = () => Date.now() - started > 2500;
    const streamed = leaveAfter(app.port, GET('/stream/endless'), running);
    const events = leaveAfter(app.port, GET('/events'), (text) => running() && /event: news/.test(text));
    const ws = new WebSocket(`ws://127.0.0.1:${app.port}/ws/echo`);
    await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
    await sleep(2600);
    const other = await keepAliveClient(app.port);
    await other.ask(request('POST /events/broadcast HTTP/1.1', 'Host: t', 'Content-Length: 5') + 'later');
    await other.close();
    const echoed = new Promise((resolve) => ws.once('message', (data) => resolve(data.toString())));
    ws.send('still here');
    assert.equal(await echoed, 'still here');
    ws.close();
    const stream = await streamed;
    assert.match(stream, /^HTTP\/1\.1 200 /);
    assert.ok(stream.match(/tick \d+/g).length > 20, 'ticks kept coming after handlerTimeout');
    const sse = await events;
    assert.match(sse, /^HTTP\/1\.1 200 [^]*event: welcome[^]*: ping[^]*event: news\ndata: later/);
    assert.doesNotMatch(stream + sse, / 503 /);
    await backToBaseline(app, baseline);
  });
});

describe(`faults while another client is served throughout (${lane()})`, () => {
  let app;
  let baseline;
  before(async () => { ({ app, baseline } = await startAtRest()); });
  after(() => app.stop());

  test('failing clients, handlers, middleware and sources; every other request answered correctly', async () => {
    // The steady client: one keep-alive connection after another, every answer checked.
    let faultsDone = false;
    let served = 0;
    const steady = (async () => {
      while (!faultsDone) {
        const client = await keepAliveClient(app.port);
        for (let i = 0; i < 5 && !faultsDone; i++, served++) {
          assert.deepEqual(await json(client, '/users/' + served), { id: String(served) });
        }
        await client.close();
      }
    })();
    const statusOf = async (path) => (await (await keepAliveClient(app.port)).ask(GET(path, 'Connection: close'))).status;
    const faults = {
      'a reset in the middle of a response': () => leaveAfter(app.port, GET('/stream/bulk?count=200'), (t) => t.length > 8000, { reset: true }),
      'a client that disconnects mid-body': async () => {
        const client = await connect(app.port);
        client.socket.write(request('POST /echo HTTP/1.1', 'Host: t', 'Content-Length: 5000') + 'x'.repeat(1000));
        await sleep(200);
        client.socket.destroy();
        assert.equal(client.text(), '');
      },
      'a client that leaves mid-stream': () => leaveAfter(app.port, GET('/stream/endless'), (t) => /tick 3\n/.test(t)),
      'a client that leaves mid-file': () => leaveAfter(app.port, GET('/static/big.html'), (t) => t.includes('<p>static file line')),
      'a client that leaves mid-SSE': () => leaveAfter(app.port, GET('/events'), (t) => /event: welcome/.test(t)),
      'a client that stops reading (back-pressure), then reads on': async () => {
        const client = await connect(app.port);
        client.socket.pause();
        client.socket.write(GET('/stream/bulk?count=400', 'Connection: close'));
        await sleep(1500);
        client.socket.resume();
        await client.ended;
        const res = takeResponse(client.text());
        assert.equal(res.status, 200);
        assert.ok(res.body === bulk(400), `1.6 MB in 4 KB chunks arrive whole and in order (got ${res.body.length} bytes)`);
      },
      'a handler that throws': async () => assert.equal(await statusOf('/throw'), 500),
      'a handler that rejects': async () => assert.equal(await statusOf('/reject'), 500),
      'a handler that never settles': async () => assert.equal(await statusOf('/never'), 503),
      'middleware that throws': async () => assert.equal(await statusOf('/middleware-throws'), 500),
      'a stream source that throws': async () => {
        const client = await connect(app.port);
        client.socket.write(GET('/stream/throws'));
        await client.ended;
        assert.match(client.text(), /^HTTP\/1\.1 200 [^]*\r\n\r\n5\r\nok 1\n\r\n5\r\nok 2\n\r\n$/, 'cut short: no terminating chunk');
      },
    };
    // In waves of five, so with the steady client they stay under maxConns (8).
    const names = Object.keys(faults);
    const failures = [];
    for (let wave = 0; wave < names.length; wave += 5) {
      const results = await Promise.allSettled(names.slice(wave, wave + 5).map((name) => faults[name]()));
      results.forEach((result, i) => result.status === 'rejected' && failures.push(`${names[wave + i]}: ${result.reason.stack}`));
    }
    faultsDone = true;
    await steady;
    assert.deepEqual(failures, []);
    assert.ok(served >= 20, `the steady client was served ${served} times meanwhile`);

    // What the server logged, and what it cleaned up.
    for (const line of [/GET \/throw: boom/, /GET \/reject: async boom/, /did not answer within 1 s/, /GET \/middleware-throws: middleware broke/, /Stream source failed: source broke/]) {
      await app.waitFor(line, 2000);
    }
    const check = await keepAliveClient(app.port);
    assert.ok((await json(check, '/stream/stopped')).stopped >= 1, 'the endless stream\'s finally ran');
    assert.equal(JSON.parse((await check.ask(request('POST /never/settle HTTP/1.1', 'Host: t', 'Content-Length: 0'))).body).settled, 1);
    await check.close();
    await backToBaseline(app, baseline);
    assert.doesNotMatch(app.output(), /Uncaught|OUT OF MEMORY/);
  });
});
