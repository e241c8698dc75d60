#!/usr/bin/env node
// npm start -- [entry.ts] [--port N]
// Builds an example for this host and runs it: on the real Espruino
// interpreter when ESPRUINO names its binary, else in the test emulation.
// The entry's web folder (<entry dir>/www) goes into the host's Storage first,
// named as `npm run flash` names it on a board. Ctrl-C stops it.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, parseArgs, BuildError } from '../build.mjs';
import { webFolderPreamble, AssetError, DEFAULT_PREFIX } from './web-assets.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const entry = args._[0] || 'examples/basic.ts';
  const port = args.port || 8080;
  const workDir = join(ROOT, 'dist', 'run'); // Espruino keeps Storage in ./espruino.flash here
  mkdirSync(workDir, { recursive: true });
  const { outFile, code, size } = await buildBundle(entry, { board: args.board || 'linux', port, out: join(workDir, 'app.js') });
  const web = webFolderPreamble(entry, code);
  if (web.count) {
    writeFileSync(outFile, web.code + code);
    console.log(`${web.count} file(s) of ${web.folder} in Storage under "${DEFAULT_PREFIX}"`);
  }
  const espruino = process.env.ESPRUINO;
  console.log(`${entry} (${size} bytes) on ${espruino ? `Espruino (${espruino})` : 'the Espruino emulation'}: http://127.0.0.1:${port}/  (Ctrl-C stops)`);
  const command = espruino || process.execPath;
  const commandArgs = espruino ? [outFile] : [join(ROOT, 'test/emulation/run.mjs'), outFile, '--mode', 'linux', '--storage', join(workDir, 'storage.json')];
  // stdin stays an open pipe: at end-of-file the interpreter would read garbage or quit.
  const child = spawn(command, commandArgs, { cwd: workDir, stdio: ['pipe', 'inherit', 'inherit'] });
  const stop = () => child.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.on('exit', (code, signal) => process.exit(signal ? 0 : code || 0));
}

main().catch((e) => {
  console.error(e instanceof BuildError || e instanceof AssetError ? `build failed: ${e.message}` : e);
  process.exit(1);
});
