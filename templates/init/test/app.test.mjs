// The app run in-process in the Espruino emulation: no board, no socket, no interpreter.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient } from 'microserver-espruino/testing';

let client;
before(async () => { client = await TestClient.start(new URL('../app.ts', import.meta.url)); });
after(() => client.close());

test('the page of www/ is served at /', async () => {
  const res = await client.get('/');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/html/);
  assert.match(res.text, /Hello from MicroServer/);
});

test('GET /api/hello/<name> answers JSON', async () => {
  const res = await client.get('/api/hello/ada');
  assert.deepEqual(res.json, { hello: 'ada' });
});

test('POST /api/echo sends the JSON back, and refuses a body that is not JSON', async () => {
  assert.deepEqual((await client.post('/api/echo', { json: { led: 'on' } })).json, { received: { led: 'on' } });
  assert.equal((await client.post('/api/echo', { body: 'not json' })).status, 400);
});

test('the WebSocket echoes', async () => {
  const ws = await client.webSocket('/ws/echo');
  ws.send('ping');
  assert.equal(await ws.receive(), 'ping');
  await ws.close();
});
