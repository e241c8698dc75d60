// examples/fleet.ts on a real Mosquitto (test/mqtt/broker.mjs starts it): the
// `led` command switches the simulated LED, replies with its state and
// broadcasts it (to the page's SSE clients and to events/led); GET /mqtt shows
// the connection.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { lane, DEVICE_STACK_KB } from '../helpers/server.mjs';
import { brokerMissing, startBroker, watch, publish, startBoard, getJson, pollJson } from '../mqtt/broker.mjs';

/** Reads an SSE response's `data:` lines as they come. */
function sseData(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  return {
    /** Resolves with every data value so far once `count` have come. */
    async waitFor(count) {
      for (;;) {
        const data = [...text.matchAll(/^data: (.*)$/gm)].map((m) => m[1]);
        if (data.length >= count) return data;
        const { value, done } = await reader.read();
        if (done) throw new Error(`the event stream ended after ${JSON.stringify(text)}`);
        text += decoder.decode(value, { stream: true });
      }
    },
    cancel: () => reader.cancel(),
  };
}

describe(`examples/fleet.ts on Mosquitto (${lane()})`, { skip: brokerMissing, timeout: 120000 }, () => {
  let broker;
  let board;

  before(async () => {
    broker = await startBroker();
    // 2 KB under the device's C stack on the real interpreter: a command that broadcasts to a
    // forwarded hub once needed all of the 24 KB (the bridge now runs both from timers).
    board = await startBoard('examples/fleet.ts', { brokerPort: broker.port, id: 'board-1', cStackKb: DEVICE_STACK_KB - 2 });
  });
  after(async () => {
    await board?.stop();
    await broker?.close();
  });

  test('GET /mqtt shows the connection: online, its broker, client id and topics', async () => {
    // Settled: online, and the broker has acknowledged the QoS 1 status published on connecting.
    const state = await pollJson(board, '/mqtt', (s) => s.state === 'online' && s.inflight === 0);
    assert.deepEqual(state, {
      state: 'online', broker: `127.0.0.1:${broker.port}`, clientId: 'board-1', connects: 1,
      queued: 0, inflight: 0, dropped: 0, lastError: '', base: 'microserver/board-1/',
    });
  });

  test('led on/off: the LED changes, the reply is its new state, the event goes to SSE clients and to events/led; a bad payload is refused', async () => {
    const topics = await watch(broker.port, 'microserver/board-1/#');
    const events = sseData(await fetch(board.url + '/events'));
    try {
      assert.deepEqual(await getJson(board, '/'), { led: 'off' });
      await publish(broker.port, 'microserver/board-1/cmd/led', ['on']);
      await topics.waitFor((all) => all.some((m) => m.topic.endsWith('/reply/led')));
      assert.deepEqual(await getJson(board, '/'), { led: 'on' });
      await publish(broker.port, 'microserver/board-1/cmd/led', ['off']);
      await publish(broker.port, 'microserver/board-1/cmd/led', ['blink']);
      await topics.waitFor((all) => all.filter((m) => m.topic.endsWith('/reply/led')).length >= 3);
      assert.deepEqual(await getJson(board, '/'), { led: 'off' });
      const seen = topics.messages().filter((m) => !m.topic.endsWith('/status') && !m.topic.includes('/cmd/'));
      // The reply goes first: a forwarded broadcast is published from a timer right after.
      assert.deepEqual(seen, [
        { topic: 'microserver/board-1/reply/led', payload: 'on' },
        { topic: 'microserver/board-1/events/led', payload: 'on' },
        { topic: 'microserver/board-1/reply/led', payload: 'off' },
        { topic: 'microserver/board-1/events/led', payload: 'off' },
        { topic: 'microserver/board-1/reply/led', payload: '{"error":"led takes \'on\' or \'off\'"}' },
      ]);
      assert.deepEqual(await events.waitFor(2), ['on', 'off']);
      assert.equal(topics.messages().find((m) => m.topic === 'microserver/board-1/status').payload, 'online');
    } finally {
      events.cancel();
      topics.stop();
    }
  });
});
