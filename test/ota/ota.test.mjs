// OTA end to end (examples/files.ts, POST /ota and GET /ota), on the interpreter booting
// from Storage: the example is put there as `npm run flash` leaves it, and every E.reboot()
// (which ends the Linux build and the emulation) is followed by a new start in the same
// directory, as a board boots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle } from '../../build.mjs';
import { freePort } from '../helpers/ports.mjs';
import { startServer, installApp, lane } from '../helpers/server.mjs';
import { runFlash } from '../flash/lib.mjs';

const ENTRY = fileURLToPath(new URL('../../examples/files.ts', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/ota.ts', import.meta.url));
const BASIC = fileURLToPath(new URL('../../examples/basic.ts', import.meta.url));
const ADMIN = 'Basic ' + Buffer.from('admin:change-me').toString('base64');
/** The example keeps a new app once it has been listening 5 s; boots on a shared host are slow. */
const HEALTHY_WITHIN_MS = 30000;
const TIMEOUT = { timeout: 180000 };

const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');

/** The example built for `port`, with its bytes changed by `edit` (the bundle's top-level names are globals: app, Response). */
async function exampleBundle(port, edit = (code) => code, entry = ENTRY) {
  const { code } = await buildBundle(entry, { port, write: false, countMethodDepth: !process.env.ESPRUINO });
  return Buffer.from(edit(code), 'latin1');
}

const withVersionRoute = (code) => code + '\napp.get("/version",function(){return Response.plain("v2")});\n';
const throwingAtBoot = (code) => 'throw new Error("no sensor on pin 4");\n' + code;

/** A board in a temp dir with the example (or `entry`) flashed: boot() starts it from Storage, as a power-on does. */
async function flashedBoard(t, entry = ENTRY) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-board-'));
  const port = await freePort();
  const bundle = await exampleBundle(port, undefined, entry);
  const file = path.join(dir, 'flashed.js');
  fs.writeFileSync(file, bundle);
  await installApp(dir, file);
  let server = null;
  const board = {
    port,
    bundle,
    url: `http://127.0.0.1:${port}`,
    get server() { return server; },
    async boot() {
      server = await startServer(null, { port, workDir: dir, timeoutMs: 30000 });
      return server;
    },
    /** Waits for the running interpreter to end by E.reboot() (the Linux build's "Not implemented", status 1). */
    async rebooted(ms = 15000) {
      const end = Date.now() + ms;
      while (!server.exitStatus()) {
        if (Date.now() > end) throw new Error('no reboot within ' + ms + ' ms; output:\n' + server.output());
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(server.exitStatus().code, 1, server.output());
      assert.match(server.output(), /Not implemented/);
      await server.stop();
    },
  };
  t.after(async () => {
    if (server) await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await board.boot();
  return board;
}

function postBundle(board, bytes, { authorization = ADMIN, checksum = sha256(bytes) } = {}) {
  return fetch(board.url + '/ota', {
    method: 'POST',
    headers: { Authorization: authorization, 'Content-Type': 'application/octet-stream', ...(checksum ? { 'X-Content-SHA256': checksum } : {}) },
    body: bytes,
  }).catch((e) => {
    throw new Error(`POST /ota: ${e.message} (${e.cause?.message}); the board:\n${board.server.output().slice(-3000)}`);
  });
}

async function otaStatus(board) {
  const res = await fetch(board.url + '/ota');
  assert.equal(res.status, 200);
  return res.json();
}

async function storedFileNames(board) {
  const res = await fetch(board.url + '/files');
  return (await res.json()).files.map((f) => f.name);
}

test(`OTA (${lane()}): the new bundle boots after the restart, is kept once healthy, and stays after a power cycle`, TIMEOUT, async (t) => {
  const board = await flashedBoard(t);
  assert.deepEqual(await otaStatus(board), { state: 'flashed', app: { name: '.app0', size: board.bundle.length }, previous: null, lastFailure: null });

  const v2 = await exampleBundle(board.port, withVersionRoute);
  const res = await postBundle(board, v2);
  const answer = await res.json();
  assert.equal(res.status, 202, JSON.stringify(answer));
  assert.deepEqual(answer.installed, { name: '@0ota-a.js', size: v2.length, sha256: sha256(v2) });
  assert.equal(answer.previous.name, '.app0');
  await board.rebooted();

  await board.boot();
  assert.equal(await (await fetch(board.url + '/version')).text(), 'v2');
  const trial = await otaStatus(board);
  assert.equal(trial.state, 'trial', JSON.stringify(trial));
  assert.equal(trial.bootsLeft, 2, 'this boot took one of its three');
  const end = Date.now() + HEALTHY_WITHIN_MS;
  let status = trial;
  while (status.state !== 'healthy' && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 500));
    status = await otaStatus(board);
  }
  assert.deepEqual(status, {
    state: 'healthy',
    app: { name: '@0ota-a.js', size: v2.length, sha256: sha256(v2) },
    previous: { name: '.app0', size: board.bundle.length },
    lastFailure: null,
  });

  // A power cycle: the kept app boots again, off trial.
  await board.server.stop();
  await board.boot();
  assert.equal(await (await fetch(board.url + '/version')).text(), 'v2');
  assert.equal((await otaStatus(board)).state, 'healthy');
});

test(`OTA (${lane()}): a bundle that throws at boot is rolled back, and GET /ota reports why`, TIMEOUT, async (t) => {
  const board = await flashedBoard(t);
  const broken = await exampleBundle(board.port, throwingAtBoot);
  const res = await postBundle(board, broken);
  assert.equal(res.status, 202, await res.text());
  await board.rebooted();

  // The boot that tries the new app: it throws, the boot code switches back and reboots.
  await assert.rejects(board.boot(), (e) => {
    assert.match(e.message, /OTA: @0ota-a\.js threw at boot: Error: no sensor on pin 4; \.app0 boots again/);
    assert.match(e.message, /process exited \(code 1/);
    return true;
  });
  await board.server?.stop();

  await board.boot();
  assert.equal((await fetch(board.url + '/version')).status, 404, 'the flashed app answers');
  const status = await otaStatus(board);
  assert.deepEqual(status, {
    state: 'healthy',
    app: { name: '.app0', size: board.bundle.length },
    previous: null,
    lastFailure: { app: '@0ota-a.js', size: broken.length, sha256: sha256(broken), reason: 'threw at boot: Error: no sensor on pin 4' },
  });
  assert.deepEqual((await storedFileNames(board)).filter((n) => n.startsWith('ota-')), [], 'the failed bundle is erased');
});

test(`OTA (${lane()}): a wrong password gets 401 and changes nothing; a bad checksum gets 400 and changes nothing`, TIMEOUT, async (t) => {
  const board = await flashedBoard(t);
  const before = await otaStatus(board);
  const v2 = await exampleBundle(board.port, withVersionRoute);

  const refused = await postBundle(board, v2, { authorization: 'Basic ' + Buffer.from('admin:wrong').toString('base64') });
  assert.equal(refused.status, 401);
  assert.match(refused.headers.get('www-authenticate'), /^Basic realm="files"/);
  const mismatch = await postBundle(board, v2, { checksum: sha256(Buffer.from('something else')) });
  assert.equal(mismatch.status, 400);
  assert.match((await mismatch.json()).error, /SHA-256 mismatch/);

  assert.deepEqual(await otaStatus(board), before);
  assert.deepEqual((await storedFileNames(board)).filter((n) => n.startsWith('ota-')), []);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(board.server.exitStatus(), null, 'no restart');
  // A power cycle boots the same app.
  await board.server.stop();
  await board.boot();
  assert.equal((await fetch(board.url + '/version')).status, 404);
  assert.deepEqual(await otaStatus(board), before);
});

test(`npm run flash -- APP --ota URL --auth admin:change-me (${lane()}): the upload with its progress bar, then the board keeps the new app; a wrong password fails naming it`, TIMEOUT, async (t) => {
  const board = await flashedBoard(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-flash-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const v2File = path.join(dir, 'v2.js');
  const v2 = await exampleBundle(board.port, withVersionRoute);
  fs.writeFileSync(v2File, v2);

  const refused = await runFlash([v2File, '--ota', board.url, '--auth', 'admin:wrong'], { cwd: dir });
  assert.equal(refused.code, 1, refused.out);
  assert.match(refused.out, /flash failed: the board refused the user or password of --auth \(401\); nothing changed/);
  assert.equal((await otaStatus(board)).state, 'flashed');

  const flashing = runFlash([v2File, '--ota', board.url, '--auth', 'admin:change-me'], { cwd: dir });
  // The board's side of the restart: the interpreter ends at E.reboot() and is started again.
  await board.rebooted(60000);
  await board.boot();
  const res = await flashing;
  assert.equal(res.code, 0, res.out + '\n--- board ---\n' + board.server.output());
  assert.match(res.out, /board: 127\.0\.0\.1:\d+ boots "\.app0" \(\d+ bytes\), state flashed/);
  assert.match(res.out, new RegExp(`ota: \\S*v2\\.js \\(${v2.length} bytes, SHA-256 ${sha256(v2)}\\) -> POST ${board.url}/ota`));
  assert.match(res.out, /\[#{24}\] [\d.]+ KB\/[\d.]+ KB [\d.]+ s {2}the bundle \(verified on the board as "@0ota-a\.js"\)/);
  assert.match(res.out, /flashed \S*v2\.js over the air to http:\/\/127\.0\.0\.1:\d+: the board runs the new app and kept it \("@0ota-a\.js", [\d.]+ KB\)/);
  assert.equal(await (await fetch(board.url + '/version')).text(), 'v2');
});

test(`OTA (${lane()}): a new app that never proves itself healthy (it lacks the plug-in) is rebooted at the trial's deadline, three boots, then rolled back`, TIMEOUT, async (t) => {
  const board = await flashedBoard(t, FIXTURE);
  const basic = await exampleBundle(board.port, undefined, BASIC);
  const res = await postBundle(board, basic, { authorization: 'none' });
  assert.equal(res.status, 202, await res.text());
  await board.rebooted();
  for (let boot = 1; boot <= 3; boot++) {
    await board.boot();
    assert.deepEqual(await (await fetch(board.url + '/')).json(), { message: 'Hello from MicroServer' }, 'the new app serves, boot ' + boot);
    await board.rebooted(20000);
    assert.match(board.server.output(), /OTA: @0ota-a\.js not healthy after 3000 ms: rebooting/);
  }
  await assert.rejects(board.boot(), /OTA: @0ota-a\.js was not healthy within 3 boots; \.app0 boots again/);
  await board.server?.stop();
  await board.boot();
  assert.equal(await (await fetch(board.url + '/')).text(), 'ota fixture');
  const status = await otaStatus(board);
  assert.equal(status.state, 'healthy');
  assert.deepEqual(status.lastFailure, { app: '@0ota-a.js', size: basic.length, sha256: sha256(basic), reason: 'was not healthy within 3 boots' });
});
