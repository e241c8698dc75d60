// Runs an ES5 bundle and returns the lines it printed, on the real Espruino
// interpreter when ESPRUINO names its binary (e.g. /tmp/espruino/espruino),
// else in the emulation (test/emulation/espruino.mjs, ESP32 mode). The same
// test runs in both lanes:
//
//   ESPRUINO=/tmp/espruino/espruino node --test test/build/
//
// Lines come back as text decoded from UTF-8 bytes in both lanes: the
// emulation's ESP32 mode prints byte strings (one char per byte), the Linux
// build prints UTF-8.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createEspruino } from '../emulation/espruino.mjs';

export const ESPRUINO = process.env.ESPRUINO || '';
export const LANE = ESPRUINO ? `real interpreter (${ESPRUINO})` : 'emulation (esp32)';

let tmpDir;
function tempFile(name) {
  tmpDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'build-test-'));
  return path.join(tmpDir, name);
}

/**
 * Runs `code` (a string, or the bytes of a bundle file) and resolves with the
 * printed lines. The real interpreter exits by itself once no timers or
 * callbacks are left; the emulation is stopped when a line equal to `until`
 * has been printed (give it for code that prints asynchronously), or, without
 * `until`, once the pending timers of a short wait have run. An uncaught
 * exception shows up as a line starting with "Uncaught".
 */
export async function runBundle(code, { until, timeoutMs = 10000 } = {}) {
  const bytes = typeof code === 'string' ? Buffer.from(code, 'utf8') : Buffer.from(code);
  return ESPRUINO ? runReal(bytes, timeoutMs) : runEmulated(bytes, until, timeoutMs);
}

function runEmulated(bytes, until, timeoutMs) {
  return new Promise((resolve) => {
    const lines = [];
    let finished = false;
    let emulation;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      emulation.stop().then(() => resolve(lines));
    };
    const timer = setTimeout(finish, until === undefined ? 50 : timeoutMs);
    emulation = createEspruino({
      mode: 'esp32',
      stdout: (line) => {
        if (finished) return;
        lines.push(Buffer.from(line, 'latin1').toString('utf8'));
        if (until !== undefined && (line === until || line.startsWith('Uncaught'))) setImmediate(finish);
      },
      onQuit: finish,
    });
    emulation.run(bytes, 'bundle.js');
  });
}

let runs = 0;
function runReal(bytes, timeoutMs) {
  const file = tempFile(`bundle-${++runs}.js`);
  fs.writeFileSync(file, bytes);
  return new Promise((resolve, reject) => {
    // stdin stays an open, empty pipe: at end-of-file some builds read garbage from the console.
    const child = spawn(ESPRUINO, [file], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => out.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve(consoleLines(Buffer.concat(out).toString('utf8')));
    });
  });
}

/** The lines a program printed on the Linux build's console: no banner, no REPL prompts. */
export function consoleLines(text) {
  const banner = /espruino\.com\/Donate\r?\n\r?\n/.exec(text);
  if (banner) text = text.slice(banner.index + banner[0].length);
  // The prompt ">" is printed when the top level ends and erased ("\r" + ESC[J) before later output.
  text = text.replace(/>\r\x1b\[J/g, '').replace(/\x1b\[J/g, '').replace(/\r\n/g, '\n');
  const lines = text.split('\n');
  if (/^>?$/.test(lines[lines.length - 1])) lines.pop();
  return lines;
}
