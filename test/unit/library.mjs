// Loads src/ modules for unit tests the way they run on a device: each fixture
// (test/unit/fixtures/<name>.ts re-exports a module) is built by the real
// pipeline into ES5 and evaluated in the Espruino emulation.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { buildBundle } from '../../build.mjs';
import { createEspruino } from '../emulation/espruino.mjs';

/** The ES5 library build of test/unit/fixtures/<name>.ts. */
export async function buildFixture(name) {
  const entry = fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url));
  // Without aliases for the interpreter's globals: the tests swap getTime and others after loading.
  const { code } = await buildBundle(entry, { library: true, write: false, aliasGlobals: false });
  assert.match(code, /\bmodule\.exports\s*=/, `the library build of ${name}.ts assigns module.exports`);
  return code;
}

const emulations = [];
after(() => Promise.all(emulations.map((emu) => emu.stop())));

/**
 * Runs a library bundle in a fresh emulation ('esp32' or 'linux' strings),
 * after `prelude` code if given; returns { emu, exports, lines } (what it printed).
 */
export function loadEmulated(code, mode, name, prelude) {
  const lines = [];
  const emu = createEspruino({ mode, stdout: (line) => lines.push(line) });
  emulations.push(emu);
  if (prelude) {
    emu.run(prelude, 'prelude.js');
    if (emu.lastRunThrew) throw new Error(`the prelude for ${name} threw (${mode}):\n${lines.join('\n')}`);
  }
  const module = emu.run('({ exports: {} })');
  emu.context.module = module;
  emu.context.exports = module.exports;
  emu.run(Buffer.from(code, 'utf8'), `${name}.js`);
  if (emu.lastRunThrew) throw new Error(`${name} bundle threw on load (${mode}):\n${lines.join('\n')}`);
  return { emu, exports: module.exports, lines };
}

/** loadEmulated's module.exports alone. */
export function loadBundle(code, mode, name, prelude) {
  return loadEmulated(code, mode, name, prelude).exports;
}

/** A host copy of a value made in the emulation's context (deepStrictEqual compares prototypes). */
export function plain(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/** A seeded PRNG (mulberry32): random splits and samples that repeat run to run. */
export { prng } from '../helpers/random.mjs';
