// Tests of the Espruino emulation itself (test/emulation/espruino.mjs), over
// real loopback sockets, with small hand-written ES5 bundles.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';

import { runBundleFile, CHUNK_SIZE } from './espruino.mjs';
import { freePort } from '../helpers/ports.mjs';
import { startServer, installApp, lane } from '../helpers/server.mjs';

const RUN_MJS = fileURLToPath(new URL('./run.mjs', import.meta.url));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'espruino-emulation-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let bundleCount = 0;
/** Writes an ES5 bundle to a temp file (as UTF-8, like the build does). */
function bundleFile(source) {
  const file = path.join(tmp, `bundle-${++bundleCount}.js`);
  fs.writeFileSync(file, source, 'utf8');
  return file;
}

/** Runs a bundle in-process; its printed lines are collected. Stopped when the test ends. */
function emulate(t, source, options = {}) {
  const lines = [];
  const emu = runBundleFile(bundleFile(source), { stdout: (line) => lines.push(line), ...options });
  t.after(() => emu.stop());
  const waitForLine = (regex, ms = 3000) => new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      const found = lines.find((line) => regex.test(line));
      if (found !== undefined) return resolve(found);
      if (Date.now() - started > ms) return reject(new Error(`no line matching ${regex}; got:\n${lines.join('\n')}`));
      setTimeout(poll, 5);
    };
    poll();
  });
  return { emu, lines, waitForLine };
}

/** Connects to a port, retrying briefly while the server starts listening. */
async function connect(port) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise((resolve, reject) => {
        const socket = net.connect({ port, host: '127.0.0.1' }, () => resolve(socket));
        socket.once('error', reject);
      });
    } catch (e) {
      if (attempt > 50) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Sends payload and collects the reply until the server closes, or until `until(buffer)` is true. */
async function exchange(port, payload, { until, halfClose = false, timeoutMs = 5000 } = {}) {
  const socket = await connect(port);
  return new Promise((resolve, reject) => {
    const chunks = [];
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(() => finish(new Error(`timeout; got ${Buffer.concat(chunks).length} bytes`)), timeoutMs);
    socket.on('data', (d) => {
      chunks.push(d);
      if (until && until(Buffer.concat(chunks))) finish();
    });
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (e) => finish(e));
    if (payload !== undefined) {
      if (halfClose) socket.end(payload);
      else socket.write(payload);
    }
  });
}

const ECHO_SERVER = (port) => `
var net = require('net');
net.createServer(function (socket) {
  socket.on('data', function (data) {
    print('data ' + data.length);
    socket.write(data);
  });
}).listen(${port});
print('echo listening on port ${port}');
`;

test('echo server: all 256 byte values come back exactly', async (t) => {
  const port = await freePort();
  const { waitForLine } = emulate(t, ECHO_SERVER(port));
  await waitForLine(/listening/);
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const reply = await exchange(port, all, { until: (b) => b.length >= 256 });
  assert.deepEqual(reply, all);
});

test(`a 2000-byte send arrives in 'data' chunks of at most ${CHUNK_SIZE} bytes`, async (t) => {
  const port = await freePort();
  const { lines, waitForLine } = emulate(t, ECHO_SERVER(port));
  await waitForLine(/listening/);
  const payload = Buffer.alloc(2000, 'x');
  const reply = await exchange(port, payload, { until: (b) => b.length >= 2000 });
  assert.equal(reply.length, 2000);
  const sizes = lines.filter((l) => l.startsWith('data ')).map((l) => Number(l.slice(5)));
  assert.ok(sizes.length >= 4, `expected several chunks, got ${sizes}`);
  assert.ok(sizes.every((n) => n <= CHUNK_SIZE), `chunk over ${CHUNK_SIZE}: ${sizes}`);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 2000);
});

test('data events are byte strings; write() takes byte strings', async (t) => {
  const port = await freePort();
  const { lines, waitForLine } = emulate(t, `
    require('net').createServer(function (socket) {
      socket.on('data', function (data) {
        var codes = [];
        for (var i = 0; i < data.length; i++) codes.push(data.charCodeAt(i));
        print('codes ' + codes.join(','));
        socket.end('\\xff\\x00ok');
      });
    }).listen(${port});
    print('listening on port ${port}');
  `);
  await waitForLine(/listening/);
  const reply = await exchange(port, Buffer.from('é', 'utf8'));
  assert.deepEqual(reply, Buffer.from([0xff, 0x00, 0x6f, 0x6b]));
  assert.ok(lines.includes('codes 195,169'), lines.join('\n'));
});

test('write(Uint8Array) sends its text form (device quirk); write() returns false', async (t) => {
  const port = await freePort();
  const { lines, waitForLine } = emulate(t, `
    require('net').createServer(function (socket) {
      print('returned ' + socket.write(new Uint8Array([1, 2, 3])));
      socket.write([4, 5]);
      socket.end();
    }).listen(${port});
    print('listening on port ${port}');
  `);
  await waitForLine(/listening/);
  const reply = await exchange(port);
  assert.equal(reply.toString('latin1'), '1,2,34,5');
  assert.ok(lines.includes('returned false'));
});

test("'drain' follows once written data has been sent", async (t) => {
  const port = await freePort();
  const { waitForLine } = emulate(t, `
    require('net').createServer(function (socket) {
      socket.on('drain', function () { print('drain'); socket.end(); });
      socket.write('hello');
    }).listen(${port});
    print('listening on port ${port}');
  `);
  await waitForLine(/listening/);
  const reply = await exchange(port);
  assert.equal(reply.toString(), 'hello');
  await waitForLine(/^drain$/);
});

test('end() flushes everything written before closing', async (t) => {
  const port = await freePort();
  const { waitForLine } = emulate(t, `
    require('net').createServer(function (socket) {
      var block = '';
      for (var i = 0; i < 1000; i++) block += 'abcdefghij';
      for (var j = 0; j < 20; j++) socket.write(block);
      socket.end('END');
    }).listen(${port});
    print('listening on port ${port}');
  `);
  await waitForLine(/listening/);
  const reply = await exchange(port);
  assert.equal(reply.length, 200003);
  assert.equal(reply.subarray(-3).toString(), 'END');
});

test("a client disconnect shows as 'end' then 'close'", async (t) => {
  const port = await freePort();
  const { lines, waitForLine } = emulate(t, `
    require('net').createServer(function (socket) {
      socket.on('end', function () { print('event end'); });
      socket.on('close', function () { print('event close'); });
    }).listen(${port});
    print('listening on port ${port}');
  `);
  await waitForLine(/listening/);
  const client = await connect(port);
  await new Promise((r) => setTimeout(r, 50));
  client.end();
  await waitForLine(/event close/);
  assert.deepEqual(lines.filter((l) => l.startsWith('event ')), ['event end', 'event close']);
});

test('a client reset shows as end/close and never as an exception', async (t) => {
  const port = await freePort();
  const { lines, waitForLine } = emulate(t, `
    require('net').createServer(function (socket) {
      socket.on('data', function () { socket.write('x'); });
      socket.on('close', function () { print('event close'); });
    }).listen(${port});
    print('listening on port ${port}');
  `);
  await waitForLine(/listening/);
  const client = await connect(port);
  client.write('hi');
  await new Promise((r) => setTimeout(r, 50));
  client.resetAndDestroy();
  await waitForLine(/event close/);
  assert.ok(!lines.some((l) => l.startsWith('Uncaught')), lines.join('\n'));
});

test('sockets lack the Node-only members', async (t) => {
  const port = await freePort();
  const { lines, waitForLine } = emulate(t, `
    require('net').createServer(function (socket) {
      var names = ['remoteAddress', 'remotePort', 'destroy', 'setTimeout', 'setNoDelay', 'pause', 'resume'];
      var present = [];
      for (var i = 0; i < names.length; i++) if (socket[names[i]] !== undefined) present.push(names[i]);
      print('present [' + present.join(',') + '] ' + typeof socket.write + ' ' + typeof socket.on);
      socket.end();
    }).listen(${port});
    print('listening on port ${port}');
  `);
  await waitForLine(/listening/);
  await exchange(port);
  await waitForLine(/^present/);
  assert.ok(lines.includes('present [] function function'), lines.join('\n'));
});

test('listening on a busy port prints an Espruino-like error and carries on', async (t) => {
  const port = await freePort();
  const blocker = net.createServer().listen(port, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  t.after(() => blocker.close());
  const { waitForLine } = emulate(t, `
    require('net').createServer(function () {}).listen(${port});
    setTimeout(function () { print('still running'); }, 50);
  `);
  await waitForLine(/^Uncaught InternalError: Unable to create socket$/);
  await waitForLine(/still running/);
});

test('an uncaught exception in a timer prints "Uncaught" and the server keeps answering', async (t) => {
  const port = await freePort();
  const { lines, waitForLine } = emulate(t, `
    setTimeout(function () { throw new Error('timer boom'); }, 1);
    require('net').createServer(function (socket) {
      socket.on('data', function (d) {
        if (d === 'throw') throw new Error('handler boom');
        socket.end('pong');
      });
    }).listen(${port});
    print('listening on port ${port}');
  `);
  await waitForLine(/Uncaught Error: timer boom/);
  await exchange(port, 'throw', { timeoutMs: 300 }).catch(() => {});
  await waitForLine(/Uncaught Error: handler boom/);
  assert.equal((await exchange(port, 'ping')).toString(), 'pong');
  assert.ok(lines.some((l) => l.startsWith('Uncaught Error: timer boom')));
});

test('unhandled promise rejections are reported, not fatal', async (t) => {
  const { waitForLine } = emulate(t, `
    Promise.reject(new Error('nobody catches me'));
    setTimeout(function () { print('after'); }, 20);
  `);
  await waitForLine(/^Uncaught Error: Unhandled promise rejection: Error: nobody catches me/);
  await waitForLine(/^after$/);
});

test('timers: numeric ids, clearTimeout(undefined) throws, clearTimeout() clears everything', async (t) => {
  const { lines, waitForLine } = emulate(t, `
    var fired = [];
    var a = setTimeout(function () { fired.push('a'); }, 5);
    var b = setInterval(function () { fired.push('b'); }, 5);
    print('ids ' + typeof a + ' ' + a + ' ' + b);
    try { clearTimeout(undefined); print('undefined ok'); } catch (e) { print('undefined threw: ' + e.message); }
    try { clearTimeout(null); print('null ok'); } catch (e) { print('null threw'); }
    clearTimeout(12345);
    clearTimeout();
    // clearTimeout() cleared everything, so ids start again at 1 (device quirk).
    var c = setTimeout(function () { print('fired [' + fired.join(',') + '] ' + c); }, 40);
  `);
  await waitForLine(/^fired/);
  assert.ok(lines.includes('ids number 1 2'), lines.join('\n'));
  assert.ok(lines.includes('undefined threw: clearTimeout(undefined) not allowed. Use clearTimeout() instead'), lines.join('\n'));
  assert.ok(lines.includes('null threw'), lines.join('\n'));
  assert.ok(lines.includes('fired [] 1'), lines.join('\n'));
});

test('globals and methods Espruino lacks are absent', (t) => {
  const { emu } = emulate(t, '');
  const types = emu.run(`[typeof Map, typeof Set, typeof Symbol, typeof Buffer, typeof TextEncoder, typeof TextDecoder,
    typeof queueMicrotask, typeof setImmediate, typeof module, typeof exports, typeof __dirname, typeof URL,
    typeof Array.from, typeof Object.freeze, typeof Promise.race, typeof Promise.prototype.finally,
    typeof [].flat, typeof ''.trimStart, typeof Number.isFinite].join(',')`);
  assert.equal(types, Array(19).fill('undefined').join(','));
  const present = emu.run(`[typeof global, typeof globalThis, typeof require, typeof E, typeof process, typeof print,
    typeof console.log, typeof getTime, typeof btoa, typeof Promise, typeof Uint8Array, global === this].join(',')`);
  assert.equal(present, 'object,object,function,object,object,function,function,function,function,function,function,true');
  assert.equal(emu.run(`try { new Map(); 'no error' } catch (e) { e.name }`), 'ReferenceError');
});

test("require('x') throws \"Module x not found\"; known modules load", (t) => {
  const { emu } = emulate(t, '');
  assert.equal(emu.run(`try { require('x'); 'loaded' } catch (e) { e.message }`), 'Module x not found');
  assert.equal(emu.run(`try { require('x') } catch (e) { e instanceof Error }`), true);
  assert.equal(emu.run(`[typeof require('net').createServer, typeof require('crypto').SHA1,
    typeof require('Storage').read, require('Storage') === require('Storage')].join(',')`), 'function,function,function,true');
});

test('esp32 mode: the source is latin1 (byte strings) and JSON.stringify escapes bytes >= 0x80', (t) => {
  const { lines } = emulate(t, `
    var s = "é";
    print(s.length + ' ' + JSON.stringify(s) + ' ' + JSON.stringify({ "ü": 1 }));
    print(JSON.parse('"\\\\u20AC"').charCodeAt(0));
    print(String.fromCharCode(0x141) + ' ' + process.env.BOARD + ' ' + E.isUTF8('x'));
  `);
  assert.deepEqual(lines, ['2 "\\u00C3\\u00A9" {"\\u00C3\\u00BC":1}', '172', 'A ESP32 false']);
});

test('linux mode: the source is UTF-8 (Unicode strings)', (t) => {
  const { lines } = emulate(t, `
    var s = "é";
    print(s.length + ' ' + JSON.stringify(s) + ' ' + JSON.stringify('\\u20ac'));
    print(String.fromCharCode(0x141) + ' ' + process.env.BOARD + ' ' + E.isUTF8('\\u20ac'));
    var bytes = E.fromUTF8('\\u20ac');
    print(bytes.length + ' ' + E.asUTF8(bytes).length + ' ' + E.asUTF8('\\xff'));
  `, { mode: 'linux' });
  assert.deepEqual(lines, ['1 "\\u00E9" "\\u20AC"', 'A LINUX true', '3 1 \xff']);
});

test('URI functions throw on non-ASCII (device quirk)', (t) => {
  const { emu } = emulate(t, '');
  assert.equal(emu.run(`decodeURIComponent('a%20b') + encodeURIComponent('a b&')`), 'a ba%20b%26');
  assert.equal(emu.run(`try { decodeURIComponent('%C3%A9'); 'ok' } catch (e) { e.message }`), 'Invalid URI');
  assert.equal(emu.run(`try { encodeURIComponent('\\xe9'); 'ok' } catch (e) { e.message }`), 'Invalid URI');
});

test('Storage: write, read, list, erase, StorageFile append', (t) => {
  const storageFile = path.join(tmp, 'storage-test.json');
  const { lines, emu } = emulate(t, `
    var S = require('Storage');
    print(S.write('a.txt', 'hello\\xff\\x00') + ' ' + JSON.stringify(S.read('a.txt')) + ' ' + S.read('a.txt', 1, 3));
    S.writeJSON('cfg', { x: 1 });
    print(S.readJSON('cfg').x + ' ' + S.read('missing') + ' ' + S.readJSON('missing'));
    S.write('big', 'Hello', 0, 10);
    S.write('big', 'World', 5);
    print(S.read('big'));
    var f = S.open('log', 'a');
    f.write('one\\n');
    f = S.open('log', 'a');
    f.write('two\\n');
    var r = S.open('log', 'r');
    print(JSON.stringify([r.readLine(), r.readLine(), r.readLine(), r.getLength()]));
    print(JSON.stringify(S.list()) + ' ' + JSON.stringify(S.list(/^a/)) + ' ' + JSON.stringify(S.list(undefined, { sf: true })));
    S.erase('a.txt');
    print(JSON.stringify(S.list(undefined, { sf: false })) + ' ' + (S.getStats().totalBytes - S.getFree() > 0));
    try { S.write('this-name-is-far-too-long-for-flash', 'x'); } catch (e) { print(e.message); }
  `, { storageFile });
  assert.deepEqual(lines, [
    'true "hello\\u00FF\\u0000" ell',
    '1 undefined undefined',
    'HelloWorld',
    '["one\\n","two\\n",null,8]',
    '["a.txt","cfg","big","log\\u0001"] ["a.txt"] ["log"]',
    '["cfg","big"] true',
    'Name too long',
  ]);
  // Persisted, byte-exact, for a later run.
  const saved = JSON.parse(fs.readFileSync(storageFile, 'utf8'));
  assert.equal(Buffer.from(saved.files.cfg, 'base64').toString(), '{"x":1}');
  emu.stop();
  const again = emulate(t, `print(require('Storage').read('big') + ' ' + require('Storage').open('log', 'r').getLength());`, { storageFile });
  assert.deepEqual(again.lines, ['HelloWorld 8']);
});

test('crypto.SHA1("abc") gives the known digest as an ArrayBuffer', (t) => {
  const { emu } = emulate(t, '');
  const hex = emu.run(`
    var digest = require('crypto').SHA1('abc');
    var bytes = new Uint8Array(digest), hex = '';
    for (var i = 0; i < bytes.length; i++) hex += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    (digest instanceof ArrayBuffer) + ' ' + hex`);
  assert.equal(hex, 'true a9993e364706816aba3e25717850c26c9cd0d89d');
});

test('E, btoa/atob and process.memory()', (t) => {
  const { emu } = emulate(t, '');
  assert.equal(emu.run(`E.toString(new Uint8Array([104, 105])) + E.toString([33]) + E.toUint8Array('\\xff').length`), 'hi!1');
  assert.equal(emu.run(`btoa('\\xff\\x00') + ' ' + atob('/wA=').charCodeAt(0)`), '/wA= 255');
  emu.memory.setUsage(1000);
  assert.equal(emu.run(`var m = process.memory(); m.total + ' ' + m.usage + ' ' + m.free`), '16383 1000 15383');
  assert.equal(emu.run(`typeof getTime() + ' ' + (getTime() > 1e9)`), 'number true');
});

test(`startServer() runs a bundle (${lane()}) and stops it`, async () => {
  const port = await freePort();
  const bundle = bundleFile(`
    require('net').createServer(function (socket) { socket.end('hi from ' + process.env.BOARD); }).listen(${port});
    print('Test server listening on port ${port}');
  `);
  const server = await startServer(bundle, { port, mode: 'esp32' });
  try {
    assert.equal(server.port, port);
    assert.match((await exchange(port)).toString(), /^hi from /);
    await server.waitFor(/listening on port/);
    assert.match(server.output(), /listening on port \d+/);
  } finally {
    await server.stop();
  }
  await assert.rejects(connect(port).then((s) => s.destroy()));
});

test('startServer() rejects with the output when the bundle never listens', async () => {
  const bundle = bundleFile(`print('about to fail'); quit();`);
  await assert.rejects(startServer(bundle, { timeoutMs: 5000 }), /about to fail/);
});

test('run.mjs exits like the Linux build: 1 on a top-level exception, 0 once idle or on quit()', () => {
  const runIt = (source, ...extra) => spawnSync(process.execPath, [RUN_MJS, bundleFile(source), ...extra], { encoding: 'utf8', timeout: 10000 });
  const thrown = runIt(`print('before'); throw new Error('top level');`);
  assert.equal(thrown.status, 1);
  assert.match(thrown.stdout, /^Espruino emulation 2v29 \(esp32\)\nbefore\nUncaught Error: top level\n/);
  const idle = runIt(`setTimeout(function () { print('timer ran'); }, 20);`, '--mode', 'linux');
  assert.equal(idle.status, 0);
  assert.equal(idle.stdout, 'Espruino emulation 2v29 (linux)\ntimer ran\n');
  const quitting = runIt(`setInterval(function () {}, 1000); setTimeout(quit, 20);`);
  assert.equal(quitting.status, 0);
});

test('JSON.parse of a byte above ASCII outside a string stops the emulation, as the device crashes (device quirk)', async (t) => {
  const { lines, waitForLine } = emulate(t, `
    print(JSON.parse('{"s":"\\xe9"}').s.length);
    try { JSON.parse('\\xd2\\xf4'); } catch (e) { print('caught'); }
    setTimeout(function () { print('still running'); }, 50);
  `);
  await waitForLine(/^ASSERT FAILED: JSON\.parse met a character above ASCII/);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(lines[0], '1', 'inside a string a byte above ASCII is fine');
  assert.ok(!lines.includes('still running'), lines.join('\n'));
});

test(`booting from Storage and E.reboot() (${lane()}): each start runs ".bootcde"; E.reboot() ends the interpreter with status 1 at once`, async (t) => {
  const dir = fs.mkdtempSync(path.join(tmp, 'board-'));
  const port = await freePort();
  const bundle = bundleFile(`
    var S = require('Storage'), boots = (S.read('boots') || '').length + 1;
    S.write('boots', 'x'.repeat(boots));
    require('net').createServer(function (socket) {
      socket.end('boot ' + boots);
      setTimeout(function () { E.reboot(); print('still running after E.reboot()'); }, 50);
    }).listen(${port});
    print('Test server listening on port ${port}');
  `);
  await installApp(dir, bundle);
  for (const boot of [1, 2]) {
    const server = await startServer(null, { port, workDir: dir });
    t.after(() => server.stop());
    assert.equal((await exchange(port)).toString(), 'boot ' + boot);
    const end = Date.now() + 10000;
    while (!server.exitStatus() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.exitStatus()?.code, 1, server.output());
    assert.match(server.output(), /Not implemented/);
    assert.doesNotMatch(server.output(), /still running/);
    await server.stop();
  }
});

test('crypto copies a string that is not flat onto the C stack: a long one fails as on a board; a typed array is hashed in place', (t) => {
  const { emu } = emulate(t, '');
  assert.equal(emu.run(`E.getAddressOf('abc', true) + ' ' + (E.getAddressOf(new Uint8Array(4), true) !== 0)`), '0 true');
  assert.equal(emu.run(`try { require('crypto').SHA256('x'.repeat(60000)); 'hashed' } catch (e) { e.message }`), 'Not enough stack memory to decode data');
  assert.equal(emu.run(`var u = new Uint8Array(60000); u.fill(120); new Uint8Array(require('crypto').SHA256(u))[0]`),
    crypto.createHash('sha256').update('x'.repeat(60000)).digest()[0]);
});
