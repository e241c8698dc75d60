// The TestClient (tools/test-client.mjs, `microserver-espruino/testing`): an app run in-process in
// the emulation, over in-memory connections: requests, headers, JSON, cookies, WebSocket, SSE.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { TestClient, TestClientError } from '../../tools/test-client.mjs';

const APP = fileURLToPath(new URL('../fixtures/test-client.ts', import.meta.url));
let client;

before(async () => { client = await TestClient.start(APP); });
after(() => client.close());

test('GET with path and query parameters, status, headers and JSON', async () => {
  const res = await client.get('/users/1?page=2');
  assert.equal(res.status, 200);
  assert.equal(res.ok, true);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  assert.deepEqual(res.json, { id: 1, page: '2' });
  assert.equal((await client.get('/users/x')).status, 404);
});

test('request headers reach the app, response headers come back', async () => {
  const res = await client.get('/agent', { headers: { 'X-Agent': 'test' } });
  assert.equal(res.text, 'test');
  assert.equal(res.headers.get('x-served-by'), 'microserver');
});

test('JSON bodies with POST and PUT, DELETE, HEAD, and a bad method', async () => {
  assert.deepEqual((await client.post('/echo', { json: { a: [1, 'é'] } })).json, { received: { a: [1, 'é'] }, type: 'application/json' });
  assert.deepEqual((await client.put('/users/7', { json: { name: 'Ada' } })).json, { updated: 7, name: 'Ada' });
  const deleted = await client.delete('/users/7');
  assert.equal(deleted.status, 204);
  assert.equal(deleted.text, '');
  const head = await client.head('/users/1');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal((await client.patch('/users/7')).status, 405);
  const raw = await client.post('/echo', { body: '{"raw":true}', headers: { 'content-type': 'application/json' } });
  assert.deepEqual(raw.json.received, { raw: true });
});

test('a body that is not JSON: .json throws naming it', async () => {
  const res = await client.get('/agent');
  assert.throws(() => res.json, (e) => e instanceof TestClientError && /not JSON .*none/.test(e.message));
});

test('cookies: kept from Set-Cookie, sent back, removed by Max-Age=0', async () => {
  assert.equal((await client.get('/me')).status, 401);
  assert.equal((await client.post('/login', { json: { user: 'ada' } })).status, 200);
  assert.equal(client.cookies.get('session'), 's3cr3t');
  assert.deepEqual((await client.get('/me')).json, { user: 'ada' });
  await client.post('/logout');
  assert.equal(client.cookies.has('session'), false);
  assert.equal((await client.get('/me')).status, 401);
});

test('a WebSocket session: messages both ways, binary, and the server closing it', async () => {
  const ws = await client.webSocket('/ws/echo');
  assert.equal(await ws.receive(), 'hello');
  ws.send('héllo');
  assert.equal(await ws.receive(), 'echo: héllo');
  ws.send(Buffer.from([0, 255, 10]));
  assert.deepEqual(await ws.receive(), Buffer.from([0, 255, 10]));
  ws.send('bye');
  assert.equal(await ws.receive(), null);
  assert.equal(ws.closeCode, 4000);
  assert.equal(ws.closeReason, 'see you');
});

test('a WebSocket closed by the client; an upgrade refused carries the response', async () => {
  const ws = await client.webSocket('/ws/echo');
  assert.equal(await ws.receive(), 'hello');
  assert.equal(await ws.close(), 1000);
  await assert.rejects(client.webSocket('/users/1'), (e) => e instanceof TestClientError && e.response.status === 200 && /not 101/.test(e.message));
});

test('an SSE session: events in order, comments skipped, the end of the stream', async () => {
  const events = await client.sse('/events');
  assert.equal(events.response.headers.get('content-type'), 'text/event-stream');
  assert.deepEqual(await events.next(), { event: 'message', data: '{"n":1}', id: undefined, retry: undefined });
  assert.deepEqual(await events.next(), { event: 'named', data: 'two\nlines', id: '7', retry: undefined });
  assert.equal((await events.next()).data, 'last');
  assert.equal(await events.next(), null);
  await assert.rejects(client.sse('/users/1'), /not 200 text\/event-stream/);
});

test('an app that throws at start, or never listens, is an error naming it', async () => {
  const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'test-client-'));
  try {
    writeFileSync(join(dir, 'throws.js'), 'throw new Error("no config");');
    await assert.rejects(TestClient.start(join(dir, 'throws.js')), /threw at start:[\s\S]*no config/);
    writeFileSync(join(dir, 'silent.js'), 'console.log("idle");');
    await assert.rejects(TestClient.start(join(dir, 'silent.js'), { timeoutMs: 200 }), /listens on no port after 200 ms[\s\S]*idle/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file of www/ stored gzipped comes decoded, like fetch', async () => {
  const page = await TestClient.start(APP, { storage: { 'www/page.txt.gz': gzipSync('stored gzipped').toString('latin1') } });
  try {
    const res = await page.get('/files/page.txt');
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.equal(res.text, 'stored gzipped');
  } finally {
    await page.close();
  }
});

test('an app on two ports: `port` picks one, the first by default, one it does not listen on is an error', async () => {
  const twoPorts = await TestClient.start(fileURLToPath(new URL('../fixtures/test-client-ports.ts', import.meta.url)));
  try {
    assert.equal((await twoPorts.get('/')).text, 'site');
    assert.equal((await twoPorts.get('/', { port: 8081 })).text, 'admin');
    assert.equal((await twoPorts.get('/', { port: 80 })).text, 'site');
    await assert.rejects(twoPorts.get('/', { port: 9 }), (e) => e instanceof TestClientError && e.message === 'the app listens on 80, 8081, not on 9');
  } finally {
    await twoPorts.close();
  }
});
