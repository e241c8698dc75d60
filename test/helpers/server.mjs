// Starts a server bundle in a child process, on the real interpreter or in
// the emulation:
//
//   ESPRUINO=/path/to/espruino         run bundles on Espruino's Linux build
//   ESPRUINO_ESP32=/path/to/espruino   (optional) the binary for mode 'esp32'
//   ESPRUINO_C3=/path/to/espruino      the binary for mode 'c3' (a build with 4095 JsVars)
//   neither                            run them with test/emulation/run.mjs
//
// The child runs in a fresh temp directory (the real interpreter keeps its
// Storage in ./espruino.flash there), with stdin an open pipe that is never
// closed (at EOF on stdin the interpreter would quit), and written only in the
// emulation, to script its memory.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyIntoStorage, storageLoader } from '../../tools/storage-loader.mjs';
import { createEspruino } from '../emulation/espruino.mjs';
import { APP_SLOTS, bootLoader } from '../../tools/flash/boot-code.mjs';

const RUN_MJS = fileURLToPath(new URL('../emulation/run.mjs', import.meta.url));

const LISTENING = [/listening on .*:(\d+)/i, /listening on port (\d+)/i];

/** Resolves once a TCP connection to the port succeeds (retrying every 20 ms). */
export async function waitUntilAccepting(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('connect', () => { socket.destroy(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing accepts connections on port ${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The C stack (KB of `ulimit -s`) the real interpreter runs every test server with unless told
 * otherwise: every app must serve within it (an ESP32's 25 KB task stack is about 44 KB of this
 * 64-bit build's, a C3's 15 KB about 30; see tools/gate.mjs MAX_CALL_DEPTH). 0: no limit.
 */
export const DEVICE_STACK_KB = 24;

/** 'espruino' when tests run on the real interpreter, else 'emulation' (for test names). */
export function lane() {
  return process.env.ESPRUINO ? 'espruino' : 'emulation';
}

/** The JsVars of an ESP32-C3 (mode 'c3'). */
export const C3_JSVARS = 4095;

/** Why mode 'c3' cannot run on this lane, or false when it can (a test's `skip`). */
export function c3Unavailable() {
  return process.env.ESPRUINO && !process.env.ESPRUINO_C3 ? 'set ESPRUINO_C3 to a build with 4095 JsVars to run this on the real interpreter' : false;
}

/**
 * Puts a bundle into the Storage of `workDir` as `npm run flash` leaves it: the app in slot
 * ".app0" and the boot code that runs it. Then startServer(null, { workDir }) boots it.
 * @param {'esp32'|'linux'|'c3'} [mode='esp32']
 */
export async function installApp(workDir, bundlePath, mode = 'esp32') {
  const interpreter = interpreterFor(mode);
  if (interpreter.lane === 'emulation') {
    const emulation = createEspruino({ mode: mode === 'linux' ? 'linux' : 'esp32', storageFile: path.join(workDir, 'storage.json'), stdout: () => {} });
    emulation.storage.write(APP_SLOTS[0], fs.readFileSync(bundlePath, 'latin1'));
    emulation.storage.write('.bootcde', bootLoader(APP_SLOTS[0]));
    await emulation.stop();
    return;
  }
  const script = path.join(workDir, 'install.js');
  fs.writeFileSync(script, copyIntoStorage(path.resolve(bundlePath), APP_SLOTS[0]) +
    `require("Storage").write(".bootcde", ${JSON.stringify(bootLoader(APP_SLOTS[0]))});\nsetTimeout(function () { quit(); }, 1);\n`);
  const child = spawn(interpreter.command, [script], { cwd: workDir, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  child.stdin.destroy();
  if (code !== 0 || /Uncaught/.test(output)) throw new Error(`installing ${bundlePath} into Storage failed (exit ${code}):\n${output}`);
}

/**
 * How a bundle of the given mode is started. 'esp32' and 'c3' have byte strings;
 * 'c3' has a heap of 4095 JsVars and runs its bundle from Storage. `bootArgs` starts
 * the interpreter on the boot code in Storage instead, as a board boots.
 * @param {'esp32'|'linux'|'c3'} [mode='esp32']
 * @returns {{ lane: string, command: string, argsFor: (bundlePath: string, workDir: string, fromStorage?: boolean) => string[],
 *   bootArgs: (workDir: string) => string[] }}
 */
export function interpreterFor(mode = 'esp32') {
  if (process.env.ESPRUINO) {
    if (mode === 'c3') {
      if (c3Unavailable()) throw new Error(c3Unavailable());
      return { lane: 'espruino', command: process.env.ESPRUINO_C3, argsFor: (bundlePath, workDir) => [storageLoader(bundlePath, workDir)], bootArgs: () => [] };
    }
    const command = (mode === 'esp32' && process.env.ESPRUINO_ESP32) || process.env.ESPRUINO;
    // Without a file the Linux build runs ".bootcde" from ./espruino.flash.
    return { lane: 'espruino', command, argsFor: (bundlePath, workDir, fromStorage) => [fromStorage ? storageLoader(bundlePath, workDir) : bundlePath], bootArgs: () => [] };
  }
  const modeArgs = mode === 'c3' ? ['--mode', 'esp32', '--jsvars', String(C3_JSVARS)] : ['--mode', mode];
  return {
    lane: 'emulation',
    command: process.execPath,
    argsFor: (bundlePath, workDir) => [RUN_MJS, bundlePath, ...modeArgs, '--storage', path.join(workDir, 'storage.json')],
    bootArgs: (workDir) => [RUN_MJS, '--boot', ...modeArgs, '--storage', path.join(workDir, 'storage.json')],
  };
}

// Children still running when this process exits are killed with it.
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts a server bundle and waits until it prints its "listening on" line.
 *
 * @param {string | null} bundlePath null: boot from Storage (its ".bootcde", in `workDir`), as a board boots.
 * @param {object} [options]
 * @param {number} [options.port] The port the bundle was built for: passed to the child as env
 *   PORT, and startServer fails if the bundle reports another one.
 * @param {'esp32'|'linux'|'c3'} [options.mode='esp32']
 * @param {object} [options.env] Extra environment variables for the child.
 * @param {number} [options.timeoutMs=15000]
 * @param {number} [options.cStackKb=DEVICE_STACK_KB] On the real interpreter, run with this C stack size (ulimit -s); 0: no limit.
 * @param {boolean} [options.fromStorage=false] On the real interpreter, run the bundle from Storage, as a
 *   flashed board does: its function text stays in flash. A bundle near 70 KB (examples/full.ts) loaded
 *   into RAM takes twice its size in JsVars while it loads, more than an ESP32's heap.
 * @param {string} [options.workDir] Directory to run in (kept), instead of a fresh temp dir
 *   (removed by stop()). Reuse one to keep Storage across restarts.
 * @returns {Promise<{ port: number, lane: string, pid: number, output: () => string,
 *   waitFor: (regex: RegExp, ms?: number) => Promise<RegExpMatchArray>, stop: () => Promise<void>,
 *   setEmulatedUsage: (jsVars: number) => void, exitStatus: () => null | { code: number, signal: string } }>}
 */
export async function startServer(bundlePath, { port, mode = 'esp32', env = {}, timeoutMs = 15000, workDir, cStackKb = DEVICE_STACK_KB, fromStorage = false } = {}) {
  const dir = workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'espruino-server-'));
  const ownsDir = workDir === undefined;
  const interpreter = interpreterFor(mode);
  let command = interpreter.command;
  let args = bundlePath === null ? interpreter.bootArgs(dir) : interpreter.argsFor(path.resolve(bundlePath), dir, fromStorage);
  if (cStackKb && interpreter.lane === 'espruino') {
    // The real interpreter with a C stack of a device's size (an ESP32 task has 25 KB). Without
    // address randomisation (setarch -R): a random stack start moved the limit by up to 4 KB
    // from one run to the next; a board's task stack has no such offset.
    args = ['-c', `ulimit -s ${Number(cStackKb)} && exec setarch "$(uname -m)" -R "$0" "$@"`, command, ...args];
    command = '/bin/sh';
  }

  // The real interpreter gets a bare environment: its strings sit at the top of the C stack,
  // and npm's hundred npm_* variables took 6 KB more of it (a board has no environment at all).
  const inherited = interpreter.lane === 'espruino' ? { PATH: process.env.PATH } : process.env;
  const child = spawn(command, args, {
    cwd: dir,
    env: { ...inherited, ...(port !== undefined ? { PORT: String(port) } : {}), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);

  let text = '';
  let exitInfo = null; // { code, signal } once exited
  const watchers = new Set(); // () => void, run on every output change and on exit

  const notify = () => {
    for (const watcher of [...watchers]) watcher();
  };
  const onOutput = (chunk) => {
    text += chunk;
    notify();
  };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  child.stdin.on('error', () => {}); // EPIPE if the child dies
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      running.delete(child);
      notify();
      resolve();
    });
    child.on('error', (err) => {
      // spawn failed (binary not found...)
      text += `\n[spawn error] ${err.message}\n`;
      exitInfo = { code: null, signal: null, error: err };
      running.delete(child);
      notify();
      resolve();
    });
  });

  const output = () => text;

  /** Waits until test(text) returns a truthy value; rejects on timeout or exit. */
  function waitUntil(test, ms, what) {
    return new Promise((resolve, reject) => {
      let timer;
      const finish = (fn, value) => {
        clearTimeout(timer);
        watchers.delete(check);
        fn(value);
      };
      const check = () => {
        const result = test(text);
        if (result) return finish(resolve, result);
        if (exitInfo) {
          const how = exitInfo.error ? exitInfo.error.message : `code ${exitInfo.code}, signal ${exitInfo.signal}`;
          finish(reject, new Error(`${interpreter.lane} process exited (${how}) while waiting for ${what}; output:\n${text}`));
        }
      };
      timer = setTimeout(() => finish(reject, new Error(`timed out after ${ms} ms waiting for ${what}; output:\n${text}`)), ms);
      watchers.add(check);
      check();
    });
  }

  /** Resolves with the match once the output (all of it, from the start) matches regex. */
  function waitFor(regex, ms = 5000) {
    return waitUntil((all) => all.match(regex), ms, String(regex));
  }

  let stopping;
  function stop() {
    stopping ??= (async () => {
      if (!exitInfo) {
        child.kill('SIGTERM');
        const force = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(force);
      }
      child.stdin.destroy();
      if (ownsDir) fs.rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  }

  let listeningPort;
  try {
    // Only complete lines count, so a port number cut in two by a pipe read is never taken.
    listeningPort = await waitUntil((all) => {
      const complete = all.slice(0, all.lastIndexOf('\n') + 1);
      for (const line of complete.split('\n')) {
        for (const pattern of LISTENING) {
          const m = line.match(pattern);
          if (m) return Number(m[1]);
        }
      }
      return undefined;
    }, timeoutMs, 'the "listening on" line');
    if (port !== undefined && listeningPort !== port) {
      throw new Error(`the server listens on port ${listeningPort}, not ${port}; output:\n${text}`);
    }
    // The line is printed when listen() is called; the emulation binds asynchronously.
    await waitUntilAccepting(listeningPort, timeoutMs);
  } catch (e) {
    await stop();
    throw e;
  }

  /** In the emulation, sets the JsVars process.memory() reports in use (the real interpreter counts its own). */
  function setEmulatedUsage(jsVars) {
    if (interpreter.lane !== 'emulation') throw new Error('only the emulation has scripted memory');
    child.stdin.write(`usage ${jsVars}\n`);
  }

  /** null while the process runs, else how it exited: { code, signal }. */
  const exitStatus = () => exitInfo;

  return { port: listeningPort, lane: interpreter.lane, pid: child.pid, output, waitFor, stop, setEmulatedUsage, exitStatus };
}
