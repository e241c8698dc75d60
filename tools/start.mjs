#!/usr/bin/env node
// microserver start [entry.ts] [--port N] [--board linux|esp32|esp32c3] [--no-check]
// Type-checks and builds an app for this host and runs it: on the real Espruino
// interpreter when ESPRUINO names its binary, else in the test emulation.
// The entry's web folder (<entry dir>/www) goes into the host's Storage first,
// named as `microserver flash` names it on a board. Ctrl-C stops it.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, parseArgs, BuildError } from '../build.mjs';
import { webFolderPreamble, AssetError, DEFAULT_PREFIX } from './web-assets.mjs';
import { defaultEntry, typeCheck, ProjectError } from './project.mjs';
import { storageLoader } from './storage-loader.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_PORT = 8080;
// Boards whose heap cannot hold the bundle as text in RAM: their code runs from Storage, as saved code does.
const FROM_STORAGE = ['esp32c3'];
// The Espruino binary built like each board, when set (ESPRUINO otherwise).
const BOARD_BINARIES = { esp32: 'ESPRUINO_ESP32', esp32c3: 'ESPRUINO_C3' };

const USAGE = `usage: microserver start [entry.ts] [--port <n>] [--board linux|esp32|esp32c3] [--no-check]

Type-checks and builds the app (default: espruino.json's "entry", else app.ts) for this host
and serves it on http://127.0.0.1:<port>/ (default ${DEFAULT_PORT}); Ctrl-C stops it.
It runs on Espruino's Linux build when ESPRUINO names its binary, else in a Node emulation.

  --port      the port to serve on (default ${DEFAULT_PORT})
  --board     the board's defaults (default linux). esp32c3 runs the app from Storage, as the
              board does (its 4095-JsVar heap cannot hold the bundle as text), on ESPRUINO_C3
              when set; esp32 runs on ESPRUINO_ESP32 when set
  --no-check  skip the type check`;

async function main(argv) {
  const args = parseArgs(argv);
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const entry = args._[0] || defaultEntry();
  const port = args.port || DEFAULT_PORT;
  const board = args.board || 'linux';
  if (!args['no-check']) typeCheck({ entry });
  const workDir = resolve('dist', 'run'); // Espruino keeps Storage in ./espruino.flash here
  mkdirSync(workDir, { recursive: true });
  const { outFile, code, size } = await buildBundle(entry, { board, port, out: join(workDir, 'app.js') });
  const web = webFolderPreamble(entry, code);
  if (web.count) {
    writeFileSync(outFile, web.code + code);
    console.log(`${web.count} file(s) of ${web.folder} in Storage under "${DEFAULT_PREFIX}"`);
  }
  const fromStorage = FROM_STORAGE.includes(board);
  const espruino = process.env.ESPRUINO && (process.env[BOARD_BINARIES[board]] || process.env.ESPRUINO);
  console.log(`${entry} (${size} bytes, board ${board}${fromStorage ? ', run from Storage' : ''}) on ${espruino ? `Espruino (${espruino})` : 'the Espruino emulation'}: http://127.0.0.1:${port}/  (Ctrl-C stops)`);
  const command = espruino || process.execPath;
  const emulated = board === 'linux' ? ['--mode', 'linux'] : ['--mode', 'esp32', ...(board === 'esp32c3' ? ['--jsvars', '4095'] : [])];
  const commandArgs = espruino ? [fromStorage ? storageLoader(outFile, workDir) : outFile]
    : [join(ROOT, 'test/emulation/run.mjs'), outFile, ...emulated, '--storage', join(workDir, 'storage.json')];
  // stdin stays an open pipe: at end-of-file the interpreter would read garbage or quit.
  const child = spawn(command, commandArgs, { cwd: workDir, stdio: ['pipe', 'inherit', 'inherit'] });
  const stop = () => child.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return new Promise((done) => child.on('exit', (status, signal) => done(signal ? 0 : status || 0)));
}

main(process.argv.slice(2)).then((status) => process.exit(status || 0), (e) => {
  console.error(e instanceof BuildError || e instanceof AssetError || e instanceof ProjectError ? `start failed: ${e.message}` : e);
  process.exit(1);
});
