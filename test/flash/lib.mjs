// What the flash tests share: running tools/flash.mjs (and cutting it off), what a
// successful flash prints, the examples answering after a restart, and an app whose
// bundle holds every byte value.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/telnet.mjs';
import { buildBundle } from '../../build.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FLASH = join(ROOT, 'tools', 'flash.mjs');
const PAGE = readFileSync(join(ROOT, 'examples', 'www', 'index.html'), 'utf8');

/** Runs the flash tool in `cwd`; with `cut: { at: regex, ms }` it is killed `ms` after its output first matches. */
export function runFlash(args, { cwd, cut = null, timeout = 120000 }) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FLASH, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let killed = false;
    let cutTimer = null;
    const collect = (d) => {
      out += d;
      if (cut && !cutTimer && cut.at.test(out)) {
        cutTimer = setTimeout(() => { killed = child.exitCode === null; child.kill('SIGKILL'); }, cut.ms);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('close', (code) => { clearTimeout(timer); clearTimeout(cutTimer); resolve({ code, out, killed }); });
  });
}

/** What every successful flash of an app prints: the board, the checked bundle, the switch, the listing, the app running. */
export function assertFlashed(res, boardOutput = '') {
  assert.equal(res.code, 0, res.out + '\n--- board ---\n' + boardOutput.slice(-3000));
  assert.match(res.out, /board: Espruino \S+ \(\w+\), app stopped with reset\(\)/);
  assert.match(res.out, /holds \d+ bytes, CRC-32 0x[0-9a-f]{8}/);
  assert.match(res.out, /"\.bootcde" boots "\.app[01]"/);
  assert.match(res.out, /^ {4}\.app[01] +\d+ bytes$/m);
  assert.match(res.out, /ok \([\d.]+ s\): the app runs, \d+ of \d+ JsVars free/);
  assert.match(res.out, /^flashed /m);
}

export async function fetchWhenUp(url, what) {
  return waitFor(what, async () => {
    const r = await fetch(url);
    return r.ok && r;
  }, 20000);
}

/** The example answers: basic's JSON, or full's status and its page (from Storage). */
export async function assertServes(example, appPort) {
  const res = await fetchWhenUp(`http://127.0.0.1:${appPort}/`, example);
  const body = await res.json();
  if (example === 'basic') {
    assert.deepEqual(body, { message: 'Hello from MicroServer' });
  } else {
    assert.equal(body.status, 'online');
    const page = await fetch(`http://127.0.0.1:${appPort}/static/`);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), PAGE);
  }
}

export const ALL_BYTES = Array.from({ length: 256 }, (_, b) => b);
export const UTF8_TEXT = 'Grüße – 5 €';

/**
 * A built bundle (written to `dir`/bytes.js) whose string literal holds all 256 byte values,
 * served at /bytes, and UTF8_TEXT at /text. Returns the file's path.
 */
export async function writeBytesBundle(dir, appPort) {
  const app = join(dir, 'bytes-app.ts');
  writeFileSync(app, `import { MicroServer, Response } from ${JSON.stringify(join(ROOT, 'src/index'))};\n` +
    `const app = new MicroServer({ port: ${appPort} });\n` +
    `const ALL_BYTES = "@@ALL_BYTES@@";\n` +
    `app.get('/bytes', () => new Response(ALL_BYTES, 200, 'application/octet-stream'));\n` +
    `app.get('/text', () => Response.plain(${JSON.stringify(UTF8_TEXT)}));\n` +
    `app.run();\n`);
  const built = await buildBundle(app, { board: 'linux', write: false });
  // Raw bytes, but for those a string literal cannot hold raw (NUL ends Espruino's source text).
  const escapes = { 0x00: '\\x00', 0x0a: '\\n', 0x0d: '\\r', 0x22: '\\"', 0x5c: '\\\\' };
  const literal = Buffer.concat(ALL_BYTES.map((b) => Buffer.from(escapes[b] || String.fromCharCode(b), 'latin1')));
  const [before, after] = built.code.split('@@ALL_BYTES@@');
  assert.ok(after !== undefined, 'the placeholder is in the bundle');
  const file = join(dir, 'bytes.js');
  writeFileSync(file, Buffer.concat([Buffer.from(before, 'utf8'), literal, Buffer.from(after, 'utf8')]));
  return file;
}

/** The bytes app answers with every byte value and the UTF-8 text, unchanged. */
export async function assertBytesServed(appPort, what) {
  const bytes = Buffer.from(await (await fetchWhenUp(`http://127.0.0.1:${appPort}/bytes`, 'the bytes app')).arrayBuffer());
  assert.deepEqual([...bytes], ALL_BYTES, what);
  const text = await fetch(`http://127.0.0.1:${appPort}/text`);
  assert.equal(await text.text(), UTF8_TEXT, what);
}
