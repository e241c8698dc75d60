// examples/files.ts end to end: uploads streamed into Storage (multipart and
// raw PUT), downloads, limits, failures that must leave the old file whole.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { startApp } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';
import { randomBytes } from '../helpers/random.mjs';
import { multipart } from '../helpers/multipart.mjs';

const ADMIN = 'Basic ' + Buffer.from('admin:change-me').toString('base64');

/**
 * Sends a request on its own socket, the body in `pieceSize` pieces `delayMs` apart,
 * and resolves with { status, headers, body } (or { died: true } when `dieAfter` bytes
 * of the body were sent and the socket was destroyed). With `expectContinue`, the body
 * waits for "100 Continue" and is never sent if a final answer comes first.
 */
function send(port, { method = 'POST', path, headers = {}, body = Buffer.alloc(0), pieceSize = 4096, delayMs = 0, dieAfter, expectContinue, onProgress }) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let sending = false;
    let settled = false;
    const finish = (value) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(value);
    };
    const head = [`${method} ${path} HTTP/1.1`, 'Host: test', `Content-Length: ${body.length}`, 'Connection: close',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), ...(expectContinue ? ['Expect: 100-continue'] : [])].join('\r\n') + '\r\n\r\n';
    const sendBody = async () => {
      if (sending) return;
      sending = true;
      for (let at = 0; at < body.length && !settled; at += pieceSize) {
        if (dieAfter !== undefined && at >= dieAfter) return finish({ died: true });
        socket.write(body.subarray(at, at + pieceSize));
        if (onProgress) await onProgress(at / body.length);
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      }
    };
    const parse = () => {
      let text = received.toString('latin1');
      if (text.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
        received = received.subarray(25);
        text = received.toString('latin1');
        sendBody();
      }
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = text.slice(0, end).split('\r\n');
      const res = { status: Number(lines[0].split(' ')[1]), headers: {} };
      for (const line of lines.slice(1)) res.headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
      const length = Number(res.headers['content-length'] || 0);
      if (received.length - end - 4 < length) return;
      res.body = received.subarray(end + 4, end + 4 + length);
      finish(res);
    };
    socket.on('data', (d) => { received = Buffer.concat([received, d]); parse(); });
    socket.on('error', (e) => (settled ? null : e.code === 'ECONNRESET' || e.code === 'EPIPE' ? finish({ reset: true }) : reject(e)));
    socket.on('end', () => finish({ closedEarly: true, text: received.toString('latin1') }));
    socket.on('connect', () => {
      socket.write(head);
      if (!expectContinue) sendBody();
    });
  });
}

describe(`examples/files.ts (${lane()})`, () => {
  let app;
  before(async () => { app = await startApp('examples/files.ts', { board: 'linux' }); });
  after(() => app.stop());

  const list = async () => (await (await fetch(app.url + '/files')).json());
  const download = async (name) => {
    const res = await fetch(app.url + '/files/' + name);
    return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const status = async () => (await (await fetch(app.url + '/status')).json());

  test('a wrong password or none gets 401 and stores nothing; the body is not even asked for', async () => {
    const before = await list();
    const upload = multipart([{ filename: 'intruder.bin', data: randomBytes(3000, 1) }]);
    for (const authorization of [undefined, 'Basic ' + Buffer.from('admin:wrong').toString('base64')]) {
      const headers = { 'Content-Type': upload.contentType, ...(authorization ? { Authorization: authorization } : {}) };
      const res = await send(app.port, { path: '/files', headers, body: upload.body, expectContinue: true });
      assert.equal(res.status, 401);
      assert.match(res.headers['www-authenticate'], /^Basic realm="files"/);
    }
    const put = await send(app.port, { method: 'PUT', path: '/files/intruder.bin', headers: { Authorization: 'Basic eDp5' }, body: randomBytes(100, 2), expectContinue: true });
    assert.equal(put.status, 401);
    const del = await fetch(app.url + '/files/intruder.bin', { method: 'DELETE' });
    assert.equal(del.status, 401);
    assert.deepEqual(await list(), before);
  });

  test('a 150 KB binary file, uploaded in pieces, comes back byte for byte; the heap stays flat meanwhile', async (t) => {
    const data = randomBytes(150 * 1024, 3);
    const upload = multipart([{ filename: 'big.bin', data }]);
    const first = await status();
    const samples = [first.jsVars.used];
    const freeSamples = [first.storageFree];
    let next = 0.25;
    const res = await send(app.port, {
      path: '/files', headers: { 'Content-Type': upload.contentType, Authorization: ADMIN }, body: upload.body, pieceSize: 2048, delayMs: 2,
      onProgress: async (done) => {
        if (done < next) return;
        next += 0.25;
        const now = await status();
        samples.push(now.jsVars.used);
        freeSamples.push(now.storageFree);
      },
    });
    assert.equal(res.status, 201, res.body && res.body.toString());
    assert.deepEqual(JSON.parse(res.body), { stored: [{ name: 'big.bin', size: data.length }] });
    const back = await download('big.bin');
    assert.equal(back.status, 200);
    assert.ok(back.bytes.equals(data), 'the downloaded bytes are the uploaded ones');
    assert.ok((await list()).files.some((f) => f.name === 'big.bin' && f.size === data.length));
    assert.ok(samples.length >= 4, `sampled during the upload: ${samples}`);
    // In both lanes: a quarter of the way in, the file already has its Storage (the bytes go to flash as they come).
    assert.ok(freeSamples[1] <= freeSamples[0] - data.length, `Storage free during the upload: ${freeSamples}`);
    // Held whole, 150 KB would take about 10,000 JsVars; streamed, the heap only moves by what a request costs.
    t.diagnostic(`JsVars in use during the upload (of ${first.jsVars.total}): ${samples}`);
    if (app.lane === 'espruino') assert.ok(Math.max(...samples) - Math.min(...samples) < 600, `JsVars in use during the upload: ${samples}`);
  });

  test('a file larger than the free Storage gets 507 and leaves nothing behind', async () => {
    // Fill Storage until less is free than the largest file allowed (200 KB), so free space is what refuses.
    const fillers = [];
    for (let free = (await list()).free; free > 150 * 1024; free = (await list()).free) {
      const name = `filler${fillers.length}.bin`;
      const res = await send(app.port, { method: 'PUT', path: '/files/' + name, headers: { Authorization: ADMIN }, body: randomBytes(Math.min(190 * 1024, free - 120 * 1024), 20) });
      assert.equal(res.status, 201);
      fillers.push(name);
    }
    const before = await list();
    const tooBig = randomBytes(before.free + 1000, 4);
    const upload = multipart([{ filename: 'huge.bin', data: tooBig }]);
    const res = await send(app.port, { path: '/files', headers: { 'Content-Type': upload.contentType, Authorization: ADMIN }, body: upload.body, expectContinue: true });
    assert.equal(res.status, 507);
    const put = await send(app.port, { method: 'PUT', path: '/files/huge.bin', headers: { Authorization: ADMIN }, body: tooBig, expectContinue: true });
    assert.equal(put.status, 507);
    assert.deepEqual(await list(), before);
    assert.equal((await download('huge.bin')).status, 404);
    for (const name of fillers) assert.equal((await fetch(app.url + '/files/' + name, { method: 'DELETE', headers: { Authorization: ADMIN } })).status, 204);
  });

  test('a client that dies mid-upload leaves the old file intact and frees the new bytes', async () => {
    const old = randomBytes(20000, 5);
    const first = await send(app.port, { method: 'PUT', path: '/files/keep.bin', headers: { Authorization: ADMIN }, body: old });
    assert.equal(first.status, 201);
    const before = await list();
    for (const how of ['PUT', 'POST']) {
      const replacement = randomBytes(20000, 6);
      const upload = how === 'PUT' ? { body: replacement, contentType: 'application/octet-stream' } : multipart([{ filename: 'keep.bin', data: replacement }]);
      const died = await send(app.port, { method: how, path: how === 'PUT' ? '/files/keep.bin' : '/files', headers: { 'Content-Type': upload.contentType, Authorization: ADMIN }, body: upload.body, pieceSize: 1000, delayMs: 2, dieAfter: 10000 });
      assert.ok(died.died);
      // The server sees the close and erases the half-written version.
      let after;
      for (let i = 0; i < 50; i++) {
        after = await list();
        if (after.free === before.free) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(after, before);
      assert.ok((await download('keep.bin')).bytes.equals(old));
    }
    // And the name is free again: a whole upload replaces it.
    const fresh = randomBytes(5000, 7);
    assert.equal((await send(app.port, { method: 'PUT', path: '/files/keep.bin', headers: { Authorization: ADMIN }, body: fresh })).status, 201);
    assert.ok((await download('keep.bin')).bytes.equals(fresh));
  });

  test('two uploads at once, interleaved, are both stored whole', async () => {
    const a = randomBytes(30000, 8);
    const b = randomBytes(25000, 9);
    const upA = multipart([{ filename: 'a.bin', data: a }]);
    const [resA, resB] = await Promise.all([
      send(app.port, { path: '/files', headers: { 'Content-Type': upA.contentType, Authorization: ADMIN }, body: upA.body, pieceSize: 1500, delayMs: 3 }),
      send(app.port, { method: 'PUT', path: '/files/b.bin', headers: { Authorization: ADMIN }, body: b, pieceSize: 1300, delayMs: 3 }),
    ]);
    assert.equal(resA.status, 201);
    assert.equal(resB.status, 201);
    assert.ok((await download('a.bin')).bytes.equals(a));
    assert.ok((await download('b.bin')).bytes.equals(b));
  });

  test('while a name is being uploaded, a second upload or a DELETE of it gets 409 and the first completes', async () => {
    const first = randomBytes(20000, 17);
    const slow = send(app.port, { method: 'PUT', path: '/files/busy.bin', headers: { Authorization: ADMIN }, body: first, pieceSize: 1000, delayMs: 40 });
    await new Promise((r) => setTimeout(r, 300));
    const second = await send(app.port, { method: 'PUT', path: '/files/busy.bin', headers: { Authorization: ADMIN }, body: randomBytes(100, 18) });
    assert.equal(second.status, 409);
    assert.equal((await fetch(app.url + '/files/busy.bin', { method: 'DELETE', headers: { Authorization: ADMIN } })).status, 409);
    assert.equal((await slow).status, 201);
    assert.ok((await download('busy.bin')).bytes.equals(first));
    assert.equal((await fetch(app.url + '/files/busy.bin', { method: 'DELETE', headers: { Authorization: ADMIN } })).status, 204);
  });

  test('fields and several files in one body, split anywhere (7-byte pieces); a SHA-256 is checked', async () => {
    const one = Buffer.from('first file\r\n--not-a-boundary\r\n');
    const two = randomBytes(700, 10);
    const sha = crypto.createHash('sha256').update(two).digest('hex');
    const upload = multipart([{ field: 'note', data: 'hello' }, { filename: 'one.txt', data: one }, { field: 'sha256', data: sha }, { filename: 'two.bin', data: two }]);
    const res = await send(app.port, { path: '/files', headers: { 'Content-Type': upload.contentType, Authorization: ADMIN }, body: upload.body, pieceSize: 7 });
    assert.equal(res.status, 201, String(res.body));
    assert.deepEqual(JSON.parse(res.body).stored, [{ name: 'one.txt', size: one.length }, { name: 'two.bin', size: two.length }]);
    assert.ok((await download('one.txt')).bytes.equals(one));
    assert.ok((await download('two.bin')).bytes.equals(two));
    // A wrong SHA-256 (raw PUT): 400, and the file keeps its old bytes.
    const wrong = await send(app.port, { method: 'PUT', path: '/files/two.bin', headers: { Authorization: ADMIN, 'X-Content-SHA256': '0'.repeat(64) }, body: randomBytes(700, 11) });
    assert.equal(wrong.status, 400);
    assert.match(String(wrong.body), /SHA-256 mismatch/);
    assert.ok((await download('two.bin')).bytes.equals(two));
    // A malformed X-Content-SHA256: 400 before anything is written, and the name stays free.
    const malformed = await send(app.port, { method: 'PUT', path: '/files/two.bin', headers: { Authorization: ADMIN, 'X-Content-SHA256': 'abc' }, body: randomBytes(10, 19) });
    assert.equal(malformed.status, 400);
    assert.match(String(malformed.body), /64 hex digits/);
    const right = randomBytes(300, 12);
    const ok = await send(app.port, { method: 'PUT', path: '/files/two.bin', headers: { Authorization: ADMIN, 'X-Content-SHA256': crypto.createHash('sha256').update(right).digest('hex') }, body: right });
    assert.equal(ok.status, 201);
    assert.ok((await download('two.bin')).bytes.equals(right));
  });

  test('files announced by a "size" field take just their own Storage; a wrong size gets 400 and stores nothing', async () => {
    const first = randomBytes(60 * 1024, 14);
    const second = randomBytes(50 * 1024, 15);
    // Room for them in the Linux build's 256 KB: the files of the tests above have been checked.
    for (const name of ['big.bin', 'a.bin', 'b.bin']) assert.equal((await fetch(app.url + '/files/' + name, { method: 'DELETE', headers: { Authorization: ADMIN } })).status, 204);
    const before = await list();
    const upload = multipart([{ field: 'size', data: String(first.length) }, { filename: 'first.bin', data: first }, { field: 'size', data: String(second.length) }, { filename: 'second.bin', data: second }]);
    const res = await send(app.port, { path: '/files', headers: { 'Content-Type': upload.contentType, Authorization: ADMIN }, body: upload.body });
    assert.equal(res.status, 201, String(res.body));
    assert.deepEqual(JSON.parse(res.body).stored, [{ name: 'first.bin', size: first.length }, { name: 'second.bin', size: second.length }]);
    // Without the size, the first file would have taken Storage for the whole rest of the body (110 KB).
    const taken = before.free - (await list()).free;
    assert.ok(taken <= first.length + second.length + 512, `${taken} bytes of Storage taken for ${first.length + second.length} bytes of files`);
    assert.ok((await download('first.bin')).bytes.equals(first));
    assert.ok((await download('second.bin')).bytes.equals(second));
    const stored = await list();
    // More bytes than announced are refused as they arrive (413), fewer at the closing boundary (400).
    for (const [size, status] of [[first.length - 1, 413], [first.length + 1, 400]]) {
      const wrong = multipart([{ field: 'size', data: String(size) }, { filename: 'first.bin', data: randomBytes(first.length, 16) }]);
      const refused = await send(app.port, { path: '/files', headers: { 'Content-Type': wrong.contentType, Authorization: ADMIN }, body: wrong.body });
      assert.equal(refused.status, status, `size ${size}: ${refused.body}`);
      assert.deepEqual(await list(), stored);
      assert.ok((await download('first.bin')).bytes.equals(first));
    }
    for (const name of ['first.bin', 'second.bin']) assert.equal((await fetch(app.url + '/files/' + name, { method: 'DELETE', headers: { Authorization: ADMIN } })).status, 204);
  });

  test('malformed multipart bodies get 400, a part over the limit 413; nothing is stored', async () => {
    const before = await list();
    const headers = { Authorization: ADMIN };
    const noBoundary = await send(app.port, { path: '/files', headers: { ...headers, 'Content-Type': 'multipart/form-data' }, body: Buffer.from('x') });
    assert.equal(noBoundary.status, 400);
    const empty = await send(app.port, { path: '/files', headers: { ...headers, 'Content-Type': 'multipart/form-data; boundary=XyZ' } });
    assert.equal(empty.status, 400);
    assert.match(String(empty.body), /ended before its closing boundary/);
    const cut = multipart([{ filename: 'cut.bin', data: 'abc' }], { boundary: 'XyZ' });
    const truncated = await send(app.port, { path: '/files', headers: { ...headers, 'Content-Type': cut.contentType }, body: cut.body.subarray(0, cut.body.length - 9) });
    assert.equal(truncated.status, 400);
    const noName = Buffer.from('--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--\r\n');
    assert.equal((await send(app.port, { path: '/files', headers: { ...headers, 'Content-Type': 'multipart/form-data; boundary=B' }, body: noName })).status, 400);
    const badName = multipart([{ filename: '../etc/passwd', data: 'x' }]);
    assert.equal((await send(app.port, { path: '/files', headers: { ...headers, 'Content-Type': badName.contentType }, body: badName.body })).status, 400);
    const noFile = multipart([{ field: 'note', data: 'only a field' }]);
    assert.equal((await send(app.port, { path: '/files', headers: { ...headers, 'Content-Type': noFile.contentType }, body: noFile.body })).status, 400);
    const over = multipart([{ filename: 'over.bin', data: randomBytes(200 * 1024 + 1, 13) }]);
    const tooLarge = await send(app.port, { path: '/files', headers: { ...headers, 'Content-Type': over.contentType }, body: over.body, expectContinue: true });
    assert.ok(tooLarge.status === 413 || tooLarge.status === 507, `status ${tooLarge.status}`);
    assert.deepEqual(await list(), before);
  });

  test('DELETE removes a file; the page is served', async () => {
    assert.equal((await fetch(app.url + '/files/one.txt', { method: 'DELETE', headers: { Authorization: ADMIN } })).status, 204);
    assert.equal((await download('one.txt')).status, 404);
    assert.equal((await fetch(app.url + '/files/one.txt', { method: 'DELETE', headers: { Authorization: ADMIN } })).status, 404);
    const page = await fetch(app.url + '/');
    assert.match(await page.text(), /id="drop"/);
  });
});

describe(`examples/files.ts across a power loss (${lane()})`, () => {
  // The board loses power mid-upload (the interpreter is killed with SIGKILL, so
  // nothing runs after), then boots again on the same Storage (the same directory).
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'files-power-'));
  let app;
  after(async () => {
    await app?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  const list = async () => (await (await fetch(app.url + '/files')).json());

  test('power lost mid-upload: after the next boot the old file is intact and the half-written version is gone', async () => {
    app = await startApp('examples/files.ts', { board: 'linux', workDir });
    const old = randomBytes(30000, 50);
    assert.equal((await send(app.port, { method: 'PUT', path: '/files/keep.bin', headers: { Authorization: ADMIN }, body: old })).status, 201);
    const before = await list();
    const replacement = randomBytes(30000, 51);
    const cut = send(app.port, { method: 'PUT', path: '/files/keep.bin', headers: { Authorization: ADMIN }, body: replacement, pieceSize: 1000, delayMs: 5 });
    // Wait until the new version has taken its Storage (its first piece was written), then cut the power.
    for (let i = 0; i < 100 && (await list()).free === before.free; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok((await list()).free < before.free, 'the new version was being written when the power went');
    process.kill(app.pid, 'SIGKILL');
    await cut.catch(() => {});
    await app.stop();
    app = await startApp('examples/files.ts', { board: 'linux', workDir });
    assert.deepEqual(await list(), before);
    const back = await fetch(app.url + '/files/keep.bin');
    assert.ok(Buffer.from(await back.arrayBuffer()).equals(old));
  });
});
