#!/usr/bin/env node
// Runs an ES5 bundle in the Espruino emulation, the way `espruino bundle.js`
// runs it on Espruino's Linux build (targets/linux/main.c, single-file mode):
//
//   node test/emulation/run.mjs <bundle.js> [--mode esp32|linux] [--storage file.json] [--jsvars N]
//   node test/emulation/run.mjs --boot --storage file.json [...]
//
// - with --boot, runs the boot code in Storage (".bootcde") instead of a file, as
//   `espruino` without a file does (and as a board boots);
// - prints a banner line, then runs the bundle;
// - if the bundle's top level throws: prints "Uncaught ..." and exits with code 1;
// - otherwise keeps running while the bundle has timers, servers, sockets or
//   queued events (Node's event loop stays alive exactly that long), then exits 0;
// - quit() exits 0; SIGINT/SIGTERM close the servers and exit 0;
// - E.reboot() prints "Not implemented" and exits with status 1 at once, as the Linux
//   build does: a test restarts it in the same directory, as a board would boot;
// - --jsvars sets process.memory().total (the C3 has 4095), and a line
//   "usage N" on stdin sets the JsVars in use, so tests can script low memory
//   (the emulation does not count what the bundle allocates).

import fs from 'node:fs';
import path from 'node:path';
import { createEspruino, VERSION } from './espruino.mjs';

function usage(message) {
  if (message) process.stderr.write(message + '\n');
  process.stderr.write('usage: node test/emulation/run.mjs <bundle.js | --boot> [--mode esp32|linux] [--storage file.json] [--jsvars N]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const args = { bundle: undefined, boot: false, mode: 'esp32', storageFile: undefined, totalJsVars: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--mode') args.mode = argv[++i];
    else if (arg.startsWith('--mode=')) args.mode = arg.slice('--mode='.length);
    else if (arg === '--storage') args.storageFile = argv[++i];
    else if (arg.startsWith('--storage=')) args.storageFile = arg.slice('--storage='.length);
    else if (arg === '--jsvars') args.totalJsVars = Number(argv[++i]);
    else if (arg === '--boot') args.boot = true;
    else if (arg === '--help' || arg === '-h') usage();
    else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
    else if (args.bundle === undefined) args.bundle = arg;
    else usage(`unexpected argument ${arg}`);
  }
  if (!args.bundle && !args.boot) usage('no bundle given');
  if (args.bundle && args.boot) usage('--boot runs the boot code in Storage: no bundle with it');
  if (args.boot && !args.storageFile) usage('--boot needs --storage');
  if (args.mode !== 'esp32' && args.mode !== 'linux') usage(`--mode must be esp32 or linux, not ${args.mode}`);
  return args;
}

// `node --test test/` (Node 20) runs every .mjs file under test/ as a test
// file, this one included, with no arguments: nothing to do then.
if (process.argv.length <= 2 && process.env.NODE_TEST_CONTEXT) process.exit(0);

const args = parseArgs(process.argv.slice(2));

let source;
try {
  if (args.bundle) source = fs.readFileSync(args.bundle);
} catch (e) {
  process.stderr.write(`run.mjs: cannot read ${args.bundle}: ${e.message}\n`);
  process.exit(1);
}

let emulation;

async function shutdown(code) {
  if (emulation) await emulation.stop();
  process.exit(code);
}

process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

process.stdout.write(`Espruino emulation ${VERSION} (${args.mode})\n`);
emulation = createEspruino({
  mode: args.mode, storageFile: args.storageFile, totalJsVars: args.totalJsVars, onQuit: () => shutdown(0),
  onReboot: () => {
    process.stdout.write('Not implemented\n');
    process.exit(1);
  },
});
let stdinText = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  const lines = (stdinText + text).split('\n');
  stdinText = lines.pop();
  for (const line of lines) {
    const usage = /^usage (\d+)$/.exec(line.trim());
    if (usage) emulation.memory.setUsage(Number(usage[1]));
  }
});
// Listening to stdin must not keep the emulation running (a file or /dev/null ends by itself).
if (typeof process.stdin.unref === 'function') process.stdin.unref();
if (args.boot) {
  const bootCode = emulation.storage.read('.bootcde');
  if (bootCode !== undefined) emulation.run(bootCode, '.bootcde');
} else {
  emulation.run(source, path.resolve(args.bundle));
}
// A board whose boot code throws stays at its prompt; a file that throws ends the run.
if (!args.boot && emulation.lastRunThrew) await shutdown(1);
