// WebSockets end to end: a real client library (ws) and raw sockets that send
// exactly the frames RFC 6455 forbids. Fixture: test/fixtures/app.ts.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import crypto from 'node:crypto';
import WebSocket from 'ws';
import { startApp, rawExchange, parseResponses, request } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';

/** Opens a ws client and collects messages; resolves { messages, code, reason } on close. */
function session(url, { protocols, headers, onOpen, onMessage } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    const messages = [];
    ws.on('open', () => onOpen && onOpen(ws));
    ws.on('message', (data, isBinary) => {
      messages.push(isBinary ? [...data] : data.toString('utf8'));
      if (onMessage) onMessage(ws, messages);
    });
    ws.on('close', (code, reason) => resolve({ messages, code, reason: reason.toString('utf8'), protocol: ws.protocol }));
    ws.on('error', reject);
  });
}

/** A client frame: masked, as RFC 6455 requires of clients (unless mask: false). */
function frame(opcode, payload, { fin = true, mask = true, rsv = 0 } = {}) {
  const data = Buffer.from(payload);
  const head = [(fin ? 0x80 : 0) | rsv | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (data.length < 126) head.push(maskBit | data.length);
  else if (data.length < 65536) head.push(maskBit | 126, data.length >> 8, data.length & 255);
  else head.push(maskBit | 127, 0, 0, 0, 0, (data.length >>> 24) & 255, (data.length >> 16) & 255, (data.length >> 8) & 255, data.length & 255);
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = crypto.randomBytes(4);
  const masked = Buffer.from(data.map((b, i) => b ^ key[i % 4]));
  return Buffer.concat([Buffer.from(head), key, masked]);
}

/** Server frames in a byte buffer: [{ opcode, fin, payload }]. */
function readFrames(buffer) {
  const frames = [];
  let at = 0;
  while (at + 2 <= buffer.length) {
    const fin = (buffer[at] & 0x80) !== 0;
    const opcode = buffer[at] & 15;
    let length = buffer[at + 1] & 127;
    let start = at + 2;
    assert.equal(buffer[at + 1] & 0x80, 0, 'server frames are never masked');
    if (length === 126) { length = buffer.readUInt16BE(at + 2); start = at + 4; }
    else if (length === 127) { length = Number(buffer.readBigUInt64BE(at + 2)); start = at + 10; }
    if (start + length > buffer.length) break;
    frames.push({ opcode, fin, payload: buffer.subarray(start, start + length) });
    at = start + length;
  }
  return frames;
}

const closeCode = (f) => f.payload.readUInt16BE(0);

/** Handshakes on a raw socket, sends `frames`, and collects what comes back until the server closes or goes quiet. */
function rawSession(port, path, frames, { idleMs = 500 } = {}) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const key = crypto.randomBytes(16).toString('base64');
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    let idle;
    const done = (closed) => {
      clearTimeout(idle);
      socket.destroy();
      resolve({ frames: readFrames(buffer), closed });
    };
    socket.on('connect', () => socket.write(request(`GET ${path} HTTP/1.1`, 'Host: t', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13')));
    socket.on('data', (d) => {
      buffer = Buffer.concat([buffer, d]);
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        assert.match(buffer.subarray(0, end).toString('latin1'), /^HTTP\/1\.1 101 /);
        buffer = buffer.subarray(end + 4);
        upgraded = true;
        for (const f of frames) socket.write(f);
      }
      clearTimeout(idle);
      idle = setTimeout(() => done(false), idleMs);
    });
    socket.on('end', () => done(true));
    socket.on('error', () => done(true));
  });
}

describe(`WebSockets (${lane()})`, () => {
  let app;
  let ws;
  before(async () => {
    app = await startApp('test/fixtures/app.ts');
    ws = app.url.replace('http:', 'ws:');
  });
  after(() => app.stop());

  // 64-bit lengths are covered by test/unit/frames.test.mjs: a 64 KB message does not fit an ESP32's heap twice.
  test('echo with await ws.receive(): UTF-8 text, binary, 7- and 16-bit lengths; the close code is echoed', async () => {
    const big = 'y'.repeat(20000);
    const result = await session(ws + '/ws/echo', {
      onOpen: (c) => {
        c.send('héllo €');
        c.send(Buffer.from([0, 255, 128]));
        c.send('x'.repeat(300));
        c.send(big);
      },
      onMessage: (c, messages) => { if (messages.length === 5) c.close(1000, 'done'); },
    });
    assert.deepEqual(result.messages.slice(0, 3), ['Welcome!', 'Echo: héllo €', [0, 255, 128]]);
    assert.equal(result.messages[3], 'Echo: ' + 'x'.repeat(300));
    assert.equal(result.messages[4], 'Echo: ' + big);
    assert.equal(result.code, 1000);
  });

  test('Espruino-style ws.on("message") handlers', async () => {
    const result = await session(ws + '/ws/events', {
      onOpen: (c) => c.send('ping me'),
      onMessage: (c) => c.close(),
    });
    assert.deepEqual(result.messages, ['ping me']);
  });

  test('a hub broadcasts to every open socket of a room and forgets closed ones', async () => {
    const size = async () => (await (await fetch(app.url + '/ws/room-size')).json()).size;
    const alice = new WebSocket(ws + '/ws/room/lobby');
    await new Promise((r) => alice.on('open', r));
    const bob = new WebSocket(ws + '/ws/room/lobby');
    await new Promise((r) => bob.on('open', r));
    assert.equal(await size(), 2);
    const heard = new Promise((r) => bob.once('message', (m) => r(m.toString())));
    alice.send('hi all');
    assert.equal(await heard, 'lobby: hi all');
    alice.terminate();
    for (let i = 0; i < 40 && (await size()) !== 1; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await size(), 1);
    bob.close();
  });

  test('a handler that throws closes with 1011, logged; the server keeps serving', async () => {
    const result = await session(ws + '/ws/throws', { onOpen: (c) => c.send('boom') });
    assert.equal(result.code, 1011);
    await app.waitFor(/\[ERROR\].*WebSocket handler for \/ws\/throws failed: ws handler broke/, 2000);
    assert.equal((await fetch(app.url + '/')).status, 200);
  });

  test('the server closes with a code and reason of its own', async () => {
    const result = await session(ws + '/ws/bye', { onOpen: (c) => c.send('bye') });
    assert.equal(result.code, 4000);
    assert.equal(result.reason, 'see you');
  });

  test('subprotocol selection and the origin hook', async () => {
    const chosen = await session(ws + '/ws/proto', { protocols: ['chat', 'superchat'], onMessage: (c) => c.close() });
    assert.equal(chosen.protocol, 'superchat');
    assert.deepEqual(chosen.messages, ['protocol=superchat']);
    const refused = await session(ws + '/ws/proto', { headers: { origin: 'http://evil.example' } }).catch((e) => e);
    assert.match(String(refused.message), /403/);
  });

  const handshake = (path, ...headers) => request(`GET ${path} HTTP/1.1`, 'Host: t', ...headers);
  const valid = ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'];

  test('the accept key is computed per RFC 6455 §1.3 (the RFC\'s own example)', async () => {
    const { text } = await rawExchange(app.port, handshake('/ws/events', ...valid), { idleMs: 300 });
    assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(text, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
    assert.match(text, /\r\nUpgrade: websocket\r\n/);
    assert.match(text, /\r\nConnection: Upgrade\r\n/);
  });

  const refusals = [
    ['a missing Sec-WebSocket-Key → 400', handshake('/ws/echo', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13'), 400],
    ['a key that is not 16 bytes → 400', handshake('/ws/echo', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: c2hvcnQ=', 'Sec-WebSocket-Version: 13'), 400],
    ['Connection without upgrade → 400', handshake('/ws/echo', 'Upgrade: websocket', 'Connection: keep-alive', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'), 400],
    ['version 8 → 426 with Sec-WebSocket-Version: 13', handshake('/ws/echo', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 8'), 426],
    ['a POST upgrade → 405 (a WebSocket route is a GET route)', request('POST /ws/echo HTTP/1.1', 'Host: t', ...valid, 'Content-Length: 0'), 405],
    ['a plain GET to a WebSocket path → 426', handshake('/ws/echo'), 426],
  ];
  for (const [name, payload, status] of refusals) {
    test(`handshake: ${name}, no upgrade`, async () => {
      const [res] = parseResponses((await rawExchange(app.port, payload, { idleMs: 300 })).text);
      assert.equal(res.status, status);
      assert.notEqual(res.status, 101);
      if (status === 426 && /version/.test(name)) assert.equal(res.headers['sec-websocket-version'], '13');
    });
  }

  test('frames split across TCP segments, fragments with a ping between them, a pong answers the ping', async () => {
    const whole = Buffer.concat([frame(1, 'frag', { fin: false }), frame(9, 'are you there'), frame(0, 'mented', { fin: true })]);
    const pieces = [];
    for (let i = 0; i < whole.length; i += 3) pieces.push(whole.subarray(i, i + 3));
    const { frames } = await rawSession(app.port, '/ws/events', pieces);
    assert.equal(frames[0].opcode, 10);
    assert.equal(frames[0].payload.toString(), 'are you there');
    assert.equal(frames[1].opcode, 1);
    assert.equal(frames[1].payload.toString(), 'fragmented');
  });

  const violations = [
    ['an unmasked client frame', [frame(1, 'hi', { mask: false })], 1002],
    ['a reserved bit set', [frame(1, 'hi', { rsv: 0x40 })], 1002],
    ['an unknown opcode', [frame(3, 'hi')], 1002],
    ['a fragmented control frame', [frame(9, 'x', { fin: false })], 1002],
    ['a data frame inside a fragmented message', [frame(1, 'a', { fin: false }), frame(1, 'b')], 1002],
    ['a continuation with nothing to continue', [frame(0, 'x')], 1002],
    ['invalid UTF-8 in a text message', [frame(1, Buffer.from([0x68, 0xc0, 0x80]))], 1007],
    ['invalid UTF-8 split over fragments', [frame(1, Buffer.from([0xe2, 0x82]), { fin: false }), frame(0, Buffer.from([0x28]))], 1007],
    ['a 1-byte close payload', [frame(8, Buffer.from([3]))], 1002],
    ['an invalid close code (1005)', [frame(8, Buffer.from([0x03, 0xed]))], 1002],
    ['a message over maxMessageSize (1024)', [frame(2, Buffer.alloc(2000))], 1009, '/ws/small'],
    ['a frame announcing 2^62 bytes', [Buffer.from([0x82, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4])], 1009],
  ];
  for (const [name, frames, code, path] of violations) {
    test(`${name} → close ${code}`, async () => {
      const { frames: replies, closed } = await rawSession(app.port, path || '/ws/events', frames);
      const close = replies.find((f) => f.opcode === 8);
      assert.ok(close, `expected a close frame, got ${JSON.stringify(replies.map((f) => f.opcode))}`);
      assert.equal(closeCode(close), code);
      assert.equal(closed, true);
    });
  }

  test('a valid multi-byte character split across fragments is accepted', async () => {
    const euro = Buffer.from('€');
    const { frames } = await rawSession(app.port, '/ws/events', [frame(1, euro.subarray(0, 1), { fin: false }), frame(0, euro.subarray(1))]);
    assert.equal(frames[0].payload.toString('utf8'), '€');
  });

  test('a client that stops answering pings is disconnected after two intervals', async () => {
    const started = Date.now();
    const { frames, closed } = await rawSession(app.port, '/ws/ping', [], { idleMs: 5000 });
    assert.ok(frames.filter((f) => f.opcode === 9).length >= 2, 'pings were sent');
    assert.equal(closed, true);
    assert.ok(Date.now() - started >= 2500);
  });

  test('frames sent with the handshake wait for the handler (started from a timer) and reach its listeners', async () => {
    const socket = net.connect(app.port, '127.0.0.1');
    const key = crypto.randomBytes(16).toString('base64');
    let buffer = Buffer.alloc(0);
    await new Promise((r) => socket.on('connect', r));
    socket.write(Buffer.concat([
      Buffer.from(request('GET /ws/events HTTP/1.1', 'Host: t', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13')),
      frame(1, 'early one'), frame(1, 'early two'),
    ]));
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 3000);
      socket.on('data', (d) => {
        buffer = Buffer.concat([buffer, d]);
        const end = buffer.indexOf('\r\n\r\n');
        if (end >= 0 && readFrames(buffer.subarray(end + 4)).length >= 2) { clearTimeout(timer); resolve(); }
      });
    });
    socket.destroy();
    const end = buffer.indexOf('\r\n\r\n');
    assert.match(buffer.subarray(0, end).toString('latin1'), /^HTTP\/1\.1 101 /);
    assert.deepEqual(readFrames(buffer.subarray(end + 4)).map((f) => f.payload.toString()), ['early one', 'early two']);
  });

  test('abrupt disconnects mid-message leave the server serving', async () => {
    const socket = net.connect(app.port, '127.0.0.1');
    await new Promise((r) => socket.on('connect', r));
    socket.write(handshake('/ws/echo', ...valid));
    await new Promise((r) => setTimeout(r, 100));
    socket.write(frame(1, 'x'.repeat(500)).subarray(0, 100));
    socket.destroy();
    const result = await session(ws + '/ws/events', { onOpen: (c) => c.send('still here'), onMessage: (c) => c.close() });
    assert.deepEqual(result.messages, ['still here']);
  });
});
