// The servers the benchmark measures: bundles of bench/apps/*.ts and the
// examples (built for a free port and a board), and the reference scripts of
// bench/reference/, each started on a given interpreter.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle } from '../build.mjs';
import { freePort } from '../test/helpers/ports.mjs';
import { startInterpreter } from './interpreter.mjs';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'microserver-bench-builds-'));
process.on('exit', () => fs.rmSync(WORK, { recursive: true, force: true }));

/**
 * Builds `entry` (relative to the repository) for `board` and a free port and
 * starts it on `binary`, from Storage (`.bootcde`) when `fromStorage`, else from RAM.
 * Resolves with the interpreter handle plus { port, size }.
 */
export async function startApp(binary, entry, { board, fromStorage = false } = {}) {
  const port = await freePort();
  const out = path.join(WORK, `${path.basename(entry, '.ts')}-${board}-${port}.js`);
  const { size } = await buildBundle(path.resolve(ROOT, entry), { out, port, board });
  const interpreter = await startInterpreter(binary, fromStorage ? { bundle: out, port } : { script: out, port });
  return Object.assign(interpreter, { port, size });
}

/** Starts a script of bench/reference/ on `binary`, with `var PORT = <free port>;` put before it. */
export async function startReference(binary, name) {
  const port = await freePort();
  const out = path.join(WORK, `${path.basename(name, '.js')}-${port}.js`);
  fs.writeFileSync(out, `var PORT = ${port};\n` + fs.readFileSync(path.join(ROOT, 'bench', 'reference', name), 'utf8'));
  const interpreter = await startInterpreter(binary, { script: out, port });
  return Object.assign(interpreter, { port });
}
