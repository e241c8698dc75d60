// npm run flash end to end against an emulated board (test/emulation/console.mjs: the
// emulation's Storage, E and REPL behind a TCP console), so CI checks the upload protocol,
// the checks and every failure it names: a corrupted piece, a board that stops answering,
// a full Storage, an app that throws at boot, a flash cut off. device.test.mjs runs the
// same flows on the real interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulatedBoard } from '../emulation/console.mjs';
import { freePort } from '../helpers/ports.mjs';
import { ROOT, runFlash, assertFlashed, assertServes, writeBytesBundle, assertBytesServed, fetchWhenUp } from './lib.mjs';

const BASIC = join(ROOT, 'examples', 'basic.ts');
const FULL = join(ROOT, 'examples', 'full.ts');

async function emulatedBoard(t, options = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'flash-emulated-'));
  const board = await startEmulatedBoard({ dir, ...options });
  t.after(async () => {
    await board.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  board.dir = dir;
  board.flash = (entry, appPort, extra = [], opts = {}) =>
    runFlash([entry, '--board', 'linux', '--port', board.port, ...(entry.endsWith('.js') ? [] : ['--app-port', String(appPort)]), ...extra], { cwd: dir, ...opts });
  return board;
}

test('flash, restart, flash again: the app and its page served, unchanged web files skipped, the slots alternate', async (t) => {
  const board = await emulatedBoard(t);
  const appPort = await freePort();
  let res = await board.flash(FULL, appPort);
  assertFlashed(res, board.output());
  assert.match(res.out, /3 written and checked, 0 unchanged/);
  assert.match(res.out, /"\.bootcde" boots "\.app0"/);
  await board.restart();
  await assertServes('full', appPort);

  res = await board.flash(FULL, appPort);
  assertFlashed(res, board.output());
  assert.match(res.out, /0 written and checked, 3 unchanged/);
  assert.match(res.out, /"\.bootcde" boots "\.app1"/);
  assert.doesNotMatch(res.out, /^ {4}\.app0 /m, 'the old slot is erased');
  await board.restart();
  await assertServes('full', appPort);

  res = await board.flash(BASIC, appPort);
  assertFlashed(res, board.output());
  assert.match(res.out, /"\.bootcde" boots "\.app0"/);
  await board.restart();
  await assertServes('basic', appPort);
});

test('every byte survives: a bundle with all 256 byte values, and UTF-8 text served back', async (t) => {
  const board = await emulatedBoard(t);
  const appPort = await freePort();
  const bundle = await writeBytesBundle(board.dir, appPort);
  assertFlashed(await board.flash(bundle, appPort), board.output());
  await board.restart();
  await assertBytesServed(appPort, 'emulated board');
});

test('a piece corrupted on the way is a checksum mismatch naming the file; the previous app still boots', async (t) => {
  let writes = 0;
  // The 3rd piece of the bundle loses one base64 character's worth of bits.
  const tamper = (line) => (/Storage"\)\.write\("\.app\d",atob\("/.test(line) && ++writes === 3 ? line.replace(/atob\("(.)/, (m, c) => `atob("${c === 'A' ? 'B' : 'A'}`) : line);
  const board = await emulatedBoard(t, { tamper });
  const appPort = await freePort();
  writes = -Infinity; // the first flash goes through untouched
  assertFlashed(await board.flash(BASIC, appPort), board.output());
  writes = 0;
  const res = await board.flash(FULL, appPort);
  assert.equal(res.code, 1, res.out);
  assert.match(res.out, /flash failed: checksum mismatch for "\.app1": the board holds \d+ bytes with CRC-32 0x[0-9a-f]{8}, sent were \d+ bytes with CRC-32 0x[0-9a-f]{8}/);
  assert.doesNotMatch(res.out, /boots "\.app1"|^flashed/m);
  await board.restart();
  await assertServes('basic', appPort);
});

test('a board that stops answering mid-upload: "no answer" naming the piece, no false success', async (t) => {
  let silenceAtBundle = false;
  // From its second piece of the bundle on, the board swallows every line.
  let pieces = 0;
  const board = await emulatedBoard(t, {
    tamper: (line) => {
      if (silenceAtBundle && /Storage"\)\.write\("\.app\d",atob/.test(line) && ++pieces === 2) board.stopAnswering();
      return line;
    },
  });
  const appPort = await freePort();
  assertFlashed(await board.flash(BASIC, appPort), board.output());
  silenceAtBundle = true;
  const res = await board.flash(FULL, appPort, ['--timeout', '2']);
  assert.equal(res.code, 1, res.out);
  assert.match(res.out, /flash failed: no answer from the write of "\.app1" at byte 4096 within 2 s on tcp:\S+ \(it answered before: did it hang, reset or lose power\?\)/);
  assert.doesNotMatch(res.out, /boots "\.app1"|^flashed/m);
});

test('a Storage too full for the upload is refused before anything is written', async (t) => {
  const board = await emulatedBoard(t);
  const appPort = await freePort();
  const S = board.emulation.storage;
  const free = S.getFree();
  S.write('big.bin', 'x', 0, free - 10000); // leaves less than any bundle needs
  const res = await board.flash(BASIC, appPort);
  assert.equal(res.code, 1, res.out);
  assert.match(res.out, /flash failed: the board's Storage is too full: [\d.]+ KB free and 0 B to reclaim, the upload needs [\d.]+ KB/);
  assert.equal(S.read('.app0'), undefined, 'nothing was written');
});

test('an app that throws at boot: the flash says so, with the exception', async (t) => {
  const board = await emulatedBoard(t);
  const appPort = await freePort();
  const app = join(board.dir, 'broken.ts');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(app, `import { MicroServer } from ${JSON.stringify(join(ROOT, 'src/index'))};\nconst app = new MicroServer();\n` +
    `function readSensor(): number { throw new Error('no sensor on pin 4'); }\nreadSensor();\napp.run();\n`);
  const res = await board.flash(app, appPort);
  assert.equal(res.code, 1, res.out);
  assert.match(res.out, /"\.bootcde" boots "\.app0"/);
  assert.match(res.out, /flash failed: the new app failed at boot: Error: no sensor on pin 4 \(the flash itself worked; fix the app and flash again\)/);
});

test('a flash cut off while the bundle goes up leaves the previous app booting; the next one finishes', async (t) => {
  const board = await emulatedBoard(t);
  const appPort = await freePort();
  assertFlashed(await board.flash(BASIC, appPort), board.output());
  // Slow pieces, so the cut lands inside the upload.
  const res = await board.flash(FULL, appPort, ['--piece-size', '256'], { cut: { at: /upload the bundle to the app slot/, ms: 150 } });
  assert.ok(res.killed, res.out);
  await board.restart();
  await assertServes('basic', appPort);
  assert.equal(board.emulation.storage.read('.bootcde').includes('".app0"'), true);
  assertFlashed(await board.flash(FULL, appPort), board.output());
  await board.restart();
  await assertServes('full', appPort);
});

test('--module: the core and each plug-in as Storage modules, used from plain JavaScript with require()', async (t) => {
  const board = await emulatedBoard(t);
  const res = await runFlash(['--module', '--board', 'linux', '--port', board.port], { cwd: board.dir });
  assert.equal(res.code, 0, res.out);
  assert.match(res.out, /each loads with require\(\): MicroServer \(\d+ exports\), MicroServer\/websocket \(\d+ exports\), MicroServer\/sse/);
  const appPort = await freePort();
  board.emulation.run(`var M = require("MicroServer"), W = require("MicroServer/websocket"), ST = require("MicroServer/static");
    var app = new M.MicroServer({ port: ${appPort} });
    app.get("/hi/<name>", function (req) { return M.Response.json({ hi: req.pathParams.name }); });
    app.get("/ws", W.webSocket(function (ws) { ws.send("hello"); }));
    ST.mountStatic(app, "/s", "www/");
    app.run();`);
  assert.deepEqual(await (await fetchWhenUp(`http://127.0.0.1:${appPort}/hi/board`, 'the REPL app')).json(), { hi: 'board' });
  assert.equal((await fetch(`http://127.0.0.1:${appPort}/s`, { redirect: 'manual' })).status, 301);
  const { default: WebSocket } = await import('ws');
  const message = await new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${appPort}/ws`);
    ws.on('message', (m) => { resolve(String(m)); ws.close(); });
    ws.on('error', reject);
  });
  assert.equal(message, 'hello');
});
