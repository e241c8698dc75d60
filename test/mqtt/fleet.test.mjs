// Boards on a real Mosquitto (test/mqtt/broker.mjs starts it): three boards on
// one broker, 1,000 QoS 1 commands with none lost, a broker restart, a board
// killed (its will), a clean stop. Each board is an interpreter process, at
// the device's C stack on the real lane; two have byte strings like an ESP32,
// one the Unicode strings of the Linux build.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { lane } from '../helpers/server.mjs';
import { brokerMissing, startBroker, watch, publish, startBoard, getJson, pollJson } from './broker.mjs';

const FIXTURE = 'test/fixtures/fleet.ts';

describe(`three boards on one Mosquitto (${lane()})`, { skip: brokerMissing, timeout: 180000 }, () => {
  let broker;
  let boards = [];
  let statuses;

  before(async () => {
    broker = await startBroker();
    statuses = await watch(broker.port, 'microserver/+/status');
    // board-3 on the Unicode build, the others with byte strings like an ESP32.
    boards = await Promise.all(['board-1', 'board-2', 'board-3'].map((id) => startBoard(FIXTURE, { brokerPort: broker.port, id, mode: id === 'board-3' ? 'linux' : 'esp32' })));
  });
  after(async () => {
    statuses?.stop();
    await Promise.all(boards.map((board) => board.stop()));
    await broker?.close();
  });

  test('each publishes status "online" (retained), and sees its peers through a + subscription', async () => {
    for (const board of boards) await statuses.waitForLast(`microserver/${board.id}/status`, 'online');
    const late = await watch(broker.port, 'microserver/+/status');
    try {
      // Retained: a subscriber that comes later gets them at once.
      await late.waitFor((all) => all.length >= 3, 5000, 'three retained statuses');
      assert.deepEqual(late.messages().map((m) => m.payload), ['online', 'online', 'online']);
    } finally {
      late.stop();
    }
    for (const board of boards) {
      const peers = await pollJson(board, '/peers', (p) => Object.keys(p).length === 3);
      assert.deepEqual(peers, { 'board-1': 'online', 'board-2': 'online', 'board-3': 'online' });
      const state = await getJson(board, '/mqtt');
      assert.equal(state.state, 'online');
      assert.equal(state.clientId, board.id);
      assert.equal(state.base, `microserver/${board.id}/`);
    }
  });

  test('a command goes to its board only; the reply comes back on reply/<name>; unknown and async commands', async () => {
    const replies = await watch(broker.port, 'microserver/+/reply/#');
    try {
      await publish(broker.port, 'microserver/board-2/cmd/echo', ['héllo board 2']);
      await replies.waitFor((all) => all.length >= 1);
      await publish(broker.port, 'microserver/board-3/cmd/later', ['x']);
      await publish(broker.port, 'microserver/board-1/cmd/nothing', ['x']);
      await publish(broker.port, 'microserver/board-1/cmd/toString', ['x']);
      await publish(broker.port, 'microserver/board-3/cmd/écho', ['ça']);
      await replies.waitFor((all) => all.length >= 5);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(replies.messages(), [
        { topic: 'microserver/board-2/reply/echo', payload: 'héllo board 2' },
        { topic: 'microserver/board-3/reply/later', payload: '{"later":"x"}' },
        { topic: 'microserver/board-1/reply/nothing', payload: '{"error":"Unknown command nothing"}' },
        { topic: 'microserver/board-1/reply/toString', payload: '{"error":"Unknown command toString"}' },
        { topic: 'microserver/board-3/reply/écho', payload: 'ça!' },
      ]);
    } finally {
      replies.stop();
    }
  });

  test('a # subscription gets every topic under it', async () => {
    await publish(broker.port, 'broadcast/room/1', ['lights off'], { qos: 0 });
    for (const board of boards) await pollJson(board, '/broadcast', (b) => b.last === 'broadcast/room/1 lights off', 5000);
    await publish(broker.port, 'broadcast', ['bare'], { qos: 1 });
    for (const board of boards) await pollJson(board, '/broadcast', (b) => b.last === 'broadcast bare', 5000);
  });

  test('a topic with a wildcard or a malformed filter is refused with a clear error; the connection stays up', async () => {
    const post = async (path) => {
      const res = await fetch(boards[0].url + path, { method: 'POST', body: 'x' });
      return [res.status, await res.json()];
    };
    assert.deepEqual(await post('/publish?topic=' + encodeURIComponent('a/#')), [400, { error: 'MqttClient.publish: the topic to publish to must have no wildcard (+ or #): a/#' }]);
    assert.deepEqual(await post('/publish?topic=' + encodeURIComponent('a/+/b')), [400, { error: 'MqttClient.publish: the topic to publish to must have no wildcard (+ or #): a/+/b' }]);
    assert.deepEqual(await post('/publish?topic='), [400, { error: 'MqttClient.publish: the topic must be a non-empty string' }]);
    assert.deepEqual(await post('/subscribe?filter=' + encodeURIComponent('a/#/b')), [400, { error: 'MqttClient.subscribe: # must be the last level: a/#/b' }]);
    assert.deepEqual(await post('/subscribe?filter=' + encodeURIComponent('a/b#')), [400, { error: 'MqttClient.subscribe: a wildcard (+ or #) must be a whole level: a/b#' }]);
    assert.deepEqual(await post('/subscribe?filter=' + encodeURIComponent('sport+')), [400, { error: 'MqttClient.subscribe: a wildcard (+ or #) must be a whole level: sport+' }]);
    // Good ones go through, on the same connection.
    const watcher = await watch(broker.port, 'direct/#');
    try {
      assert.deepEqual(await post('/subscribe?filter=' + encodeURIComponent('late/+')), [200, { subscribed: true }]);
      assert.deepEqual(await post('/publish?topic=direct/1'), [200, { published: true }]);
      await watcher.waitForLast('direct/1', 'x');
      await publish(broker.port, 'late/1', ['joined later']);
      await pollJson(boards[0], '/broadcast', (b) => b.last === 'late/1 joined later', 5000);
    } finally {
      watcher.stop();
    }
    assert.equal((await getJson(boards[0], '/mqtt')).connects, 1);
  });

  test('what a forwarded SSE or WebSocket hub broadcasts goes to events/<name>, and to the hub\'s clients', async () => {
    const events = await watch(broker.port, 'microserver/board-1/events/+');
    const ws = new WebSocket(boards[0].url.replace('http:', 'ws:') + '/ws');
    const received = new Promise((resolve, reject) => {
      ws.on('message', (m) => resolve(m.toString()));
      ws.on('error', reject);
    });
    await new Promise((resolve) => ws.on('open', resolve));
    // The handler adds the socket to the hub from a timer after the 101.
    await new Promise((r) => setTimeout(r, 200));
    try {
      const res = await fetch(boards[0].url + '/hubs', { method: 'POST', body: 'ça va' });
      assert.deepEqual(await res.json(), { ok: true });
      await events.waitFor((all) => all.length >= 2);
      assert.deepEqual(events.messages(), [
        { topic: 'microserver/board-1/events/sse', payload: '{"text":"ça va"}' },
        { topic: 'microserver/board-1/events/ws', payload: 'ça va' },
      ]);
      assert.equal(await received, 'ça va');
    } finally {
      ws.terminate();
      events.stop();
    }
  });

  test('1,000 QoS 1 commands to a board, none lost', async () => {
    const numbers = Array.from({ length: 1000 }, (_, i) => String(i));
    await publish(broker.port, 'microserver/board-1/cmd/tally', numbers, { qos: 1 });
    const tally = await pollJson(boards[0], '/tally', (t) => t.count >= 1000, 60000);
    // Each once: 0 + 1 + ... + 999.
    assert.deepEqual(tally, { count: 1000, sum: 499500 });
    assert.equal((await getJson(boards[0], '/mqtt')).connects, 1);
  });

  test('1,000 QoS 1 messages from a board, none lost', async () => {
    const burst = await watch(broker.port, 'microserver/board-2/events/burst');
    try {
      const res = await fetch(boards[1].url + '/burst', { method: 'POST', body: '1000' });
      assert.deepEqual(await res.json(), { publishing: 1000 });
      await burst.waitFor((all) => all.length >= 1000, 90000, '1,000 messages');
      assert.deepEqual(burst.messages().map((m) => Number(m.payload)), Array.from({ length: 1000 }, (_, i) => i));
      const state = await pollJson(boards[1], '/mqtt', (s) => s.inflight === 0 && s.queued === 0, 5000);
      assert.equal(state.dropped, 0);
      assert.equal(state.connects, 1);
    } finally {
      burst.stop();
    }
  });

  test('a broker restart is survived: every board reconnects and says "online" again', async () => {
    await broker.stop();
    // Offline, each board still serves HTTP, and says why it is offline.
    for (const board of boards) {
      const state = await pollJson(board, '/mqtt', (s) => s.state !== 'online', 15000);
      assert.match(state.lastError, /connection closed|cannot connect|no answer/);
    }
    await broker.restart();
    // Persistence is off: the retained statuses were lost with the broker, so these are new.
    const after = await watch(broker.port, 'microserver/+/status');
    try {
      for (const board of boards) await after.waitForLast(`microserver/${board.id}/status`, 'online', 20000);
    } finally {
      after.stop();
    }
    for (const board of boards) {
      const state = await pollJson(board, '/mqtt', (s) => s.state === 'online');
      assert.equal(state.connects, 2);
      assert.match(state.lastError, /connection closed|cannot connect|no answer/);
    }
    // Commands work again.
    const replies = await watch(broker.port, 'microserver/board-3/reply/echo');
    try {
      await publish(broker.port, 'microserver/board-3/cmd/echo', ['back']);
      await replies.waitFor((all) => all.some((m) => m.payload === 'back'));
    } finally {
      replies.stop();
    }
  });

  test('a board killed (SIGKILL): the broker publishes its will, "offline"', async () => {
    const watcher = await watch(broker.port, 'microserver/board-3/status');
    try {
      await watcher.waitForLast('microserver/board-3/status', 'online');
      process.kill(boards[2].pid, 'SIGKILL');
      await watcher.waitForLast('microserver/board-3/status', 'offline', 10000);
    } finally {
      watcher.stop();
    }
    for (const board of boards.slice(0, 2)) await pollJson(board, '/peers', (p) => p['board-3'] === 'offline');
  });

  test('a clean stop publishes "offline" and disconnects: no reconnect', async () => {
    const watcher = await watch(broker.port, 'microserver/board-2/status');
    try {
      await watcher.waitForLast('microserver/board-2/status', 'online');
      const stopped = await (await fetch(boards[1].url + '/stop', { method: 'POST' })).json();
      assert.equal(stopped.state, 'stopped');
      await watcher.waitForLast('microserver/board-2/status', 'offline', 10000);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await getJson(boards[1], '/mqtt')).state, 'stopped');
      assert.equal(watcher.messages().at(-1).payload, 'offline');
    } finally {
      watcher.stop();
    }
  });
});
