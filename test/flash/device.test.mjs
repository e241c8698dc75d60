// npm run flash against the real interpreter, as a board: its console over a serial line
// (a pty that Debian's socat links to the console) and over TCP (the telnet console), on a
// build with an ESP32's heap (ESPRUINO_ESP32) and one with an ESP32-C3's 4095 JsVars
// (ESPRUINO_C3). Each flash is checked by restarting the interpreter in the same directory,
// as a board boots, and asking the app. FLASH_REPEAT sets the flashes in a row (default 10).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInterpreter, waitFor, canConnect, serialLink, hasSocat, TELNET_PORT } from '../helpers/telnet.mjs';
import { freePort } from '../helpers/ports.mjs';
import { ROOT, runFlash, assertFlashed, assertServes, writeBytesBundle, assertBytesServed } from './lib.mjs';

const REPEAT = Number(process.env.FLASH_REPEAT || 10);
const BUILDS = [
  { name: 'ESP32-memory build', binary: process.env.ESPRUINO_ESP32, env: 'ESPRUINO_ESP32', fitsFull: true },
  { name: '4095-JsVar (C3) build', binary: process.env.ESPRUINO_C3, env: 'ESPRUINO_C3', fitsFull: false },
];

function skipFor(build) {
  if (!process.env.ESPRUINO) return 'set ESPRUINO (and ESPRUINO_ESP32, ESPRUINO_C3) to run the flash flows on the real interpreter';
  if (!build.binary) return `set ${build.env} to run this on the ${build.name}`;
  if (!hasSocat()) return "the serial line needs Debian's socat (apt-get install socat)";
  return false;
}

/** A board in a temporary directory: the interpreter with its telnet console, restartable. */
async function boardIn(t, binary) {
  assert.equal(await canConnect(TELNET_PORT), false, `something already listens on ${TELNET_PORT} (an old Espruino --telnet?): stop it first`);
  const dir = mkdtempSync(join(tmpdir(), 'flash-board-'));
  let esp = startInterpreter(dir, undefined, binary);
  const board = {
    dir,
    output: () => esp.output(),
    async restart() {
      await esp.stop();
      esp = startInterpreter(dir, undefined, binary);
      await waitFor('the telnet console', () => canConnect(TELNET_PORT));
    },
  };
  t.after(async () => {
    await esp.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor('the telnet console', () => canConnect(TELNET_PORT));
  return board;
}

/** Flashes over `transport` ('serial': a fresh pty link for the run; 'tcp': the telnet console). */
async function flash(board, transport, entry, appPort, options = {}) {
  const link = transport === 'serial' ? await serialLink(join(board.dir, 'tty')) : null;
  try {
    const port = link ? link.path : `tcp://127.0.0.1:${TELNET_PORT}`;
    const extra = entry.endsWith('.js') ? [] : ['--app-port', String(appPort)];
    return await runFlash([entry, '--board', 'linux', '--port', port, ...extra], { cwd: board.dir, ...options });
  } finally {
    if (link) await link.stop();
  }
}

for (const build of BUILDS) {
  for (const transport of ['serial', 'tcp']) {
    const examples = build.fitsFull ? ['basic', 'full'] : ['basic'];
    test(`${build.name}, over ${transport}: ${REPEAT} flashes in a row of ${examples.join(' and ')}, each served after a restart`,
      { skip: skipFor(build), timeout: REPEAT * 60000 }, async (t) => {
        const board = await boardIn(t, build.binary);
        const appPort = await freePort();
        for (let i = 0; i < REPEAT; i++) {
          const example = examples[i % examples.length];
          const res = await flash(board, transport, join(ROOT, 'examples', `${example}.ts`), appPort);
          assertFlashed(res, board.output());
          if (example === 'full') assert.match(res.out, /upload the web folder \(3 files[\s\S]*?ok \([\d.]+ s\): \d written and checked, \d unchanged/);
          await board.restart();
          await assertServes(example, appPort);
        }
      });
  }
}

test('4095-JsVar (C3) build: an app too big for the heap is reported as such, and the board can be flashed again', { skip: skipFor(BUILDS[1]), timeout: 180000 }, async (t) => {
  const board = await boardIn(t, BUILDS[1].binary);
  const appPort = await freePort();
  const tooBig = await flash(board, 'serial', join(ROOT, 'examples', 'full.ts'), appPort);
  assert.equal(tooBig.code, 1, tooBig.out);
  assert.match(tooBig.out, /"\.bootcde" boots "\.app0"/);
  // Whether the board still prints "Execution Interrupted" to the console or no longer answers at all depends on timing.
  assert.match(tooBig.out, /flash failed: the new app (ran out of memory at boot: it is too big for this board \(the flash itself worked\)|does not let the board answer after its reset: it ran out of memory at boot)/);
  // The board's heap is full of that app: the next flash stops it first and works.
  const res = await flash(board, 'serial', join(ROOT, 'examples', 'basic.ts'), appPort);
  assertFlashed(res, board.output());
  await board.restart();
  await assertServes('basic', appPort);
});

for (const transport of ['serial', 'tcp']) {
  test(`ESP32-memory build, over ${transport}: a flash killed midway leaves the previous app booting`, { skip: skipFor(BUILDS[0]), timeout: 300000 }, async (t) => {
    const board = await boardIn(t, BUILDS[0].binary);
    const appPort = await freePort();
    const basic = join(ROOT, 'examples', 'basic.ts');
    const full = join(ROOT, 'examples', 'full.ts');
    assertFlashed(await flash(board, transport, basic, appPort), board.output());
    // Cut off while the web folder goes up, then while the bundle goes up (pieces in flight).
    for (const at of [/upload the web folder/, /upload the bundle to the app slot/]) {
      const res = await flash(board, transport, full, appPort, { cut: { at, ms: 400 } });
      assert.ok(res.killed, `the flash ended before it was cut off:\n${res.out}`);
      assert.doesNotMatch(res.out, /boots "\.app/, 'the boot code was switched before the cut');
      await board.restart();
      await assertServes('basic', appPort);
    }
    // And the next flash finishes the job.
    const res = await flash(board, transport, full, appPort);
    assertFlashed(res, board.output());
    await board.restart();
    await assertServes('full', appPort);
  });
}

test('every byte survives both transports: a bundle with all 256 byte values, and UTF-8 text served back', { skip: skipFor(BUILDS[0]), timeout: 180000 }, async (t) => {
  const board = await boardIn(t, BUILDS[0].binary);
  const appPort = await freePort();
  const bundle = await writeBytesBundle(board.dir, appPort);
  for (const transport of ['serial', 'tcp']) {
    assertFlashed(await flash(board, transport, bundle, appPort), board.output());
    await board.restart();
    await assertBytesServed(appPort, `over ${transport}`);
  }
});
