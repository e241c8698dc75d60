// Server-Sent Events end to end, read by a real EventSource client and by raw sockets.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { startApp, rawExchange, request } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';

/** Collects `count` events of the given types from an EventSource. */
function collect(source, types, count) {
  return new Promise((resolve, reject) => {
    const events = [];
    const timer = setTimeout(() => reject(new Error(`only ${events.length} events: ${JSON.stringify(events)}`)), 5000);
    for (const type of types) {
      source.addEventListener(type, (e) => {
        events.push({ type, data: e.data, id: e.lastEventId });
        if (events.length === count) {
          clearTimeout(timer);
          resolve(events);
        }
      });
    }
  });
}

async function clients(app) {
  return (await (await fetch(app.url + '/events/clients')).json()).clients;
}

async function until(check, what) {
  for (let i = 0; i < 50; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe(`Server-Sent Events (${lane()})`, () => {
  let app;
  before(async () => { app = await startApp('test/fixtures/app.ts'); });
  after(() => app.stop());

  test('sse() headers and the event format (multi-line data, event, id, retry, comments)', async () => {
    const { text } = await rawExchange(app.port, request('GET /events/list HTTP/1.1', 'Host: t'));
    assert.match(text, /Content-Type: text\/event-stream\r\n/);
    assert.match(text, /Cache-Control: no-cache\r\n/);
    assert.match(text, /X-Accel-Buffering: no\r\n/);
    const body = Buffer.from(text, 'latin1').toString('utf8');
    for (const expected of ['data: {"n":1,"text":"né"}\n\n', 'event: named\nid: 7\ndata: two\ndata: lines\n\n', 'data: raw text\n\n', ': just a comment\n\n', 'retry: 3000\ndata: last\n\n']) {
      assert.ok(body.includes(expected), `missing ${JSON.stringify(expected)} in ${JSON.stringify(body)}`);
    }
  });

  test('an EventSource receives named events and broadcasts; the hub forgets clients that leave', async () => {
    const before = await clients(app);
    const source = new EventSource(app.url + '/events/hub');
    const events = collect(source, ['welcome', 'message'], 3);
    await until(async () => (await clients(app)) === before + 1, 'the client to join');
    await fetch(app.url + '/events/broadcast', { method: 'POST', body: JSON.stringify({ temperature: 21.5 }) });
    await fetch(app.url + '/events/broadcast', { method: 'POST', body: JSON.stringify({ label: 'café ☕' }) });
    const received = await events;
    assert.deepEqual(JSON.parse(received[0].data), { hello: 'first time' });
    assert.equal(received[0].type, 'welcome');
    assert.deepEqual(JSON.parse(received[1].data), { temperature: 21.5 });
    assert.deepEqual(JSON.parse(received[2].data), { label: 'café ☕' });
    assert.match(received[2].id, /^\d+$/);
    source.close();
    await until(async () => (await clients(app)) === before, 'the hub to forget the client');
  });

  test('Last-Event-ID is exposed to the handler', async () => {
    const { text } = await rawExchange(app.port, request('GET /events/hub HTTP/1.1', 'Host: t', 'Last-Event-ID: 41'), { idleMs: 300 });
    assert.match(text, /event: welcome\ndata: \{"hello":"41"\}\n\n/);
  });

  test('an idle stream gets heartbeat comments; closeAll ends streams with a terminating chunk', async () => {
    const pending = rawExchange(app.port, request('GET /events/hub HTTP/1.1', 'Host: t'), { idleMs: 3000 });
    await new Promise((r) => setTimeout(r, 1500));
    await fetch(app.url + '/events/close', { method: 'POST' });
    const { text } = await pending;
    assert.match(text, /: ping\n\n/);
    assert.match(text, /\r\n0\r\n\r\n$/);
  });
});
