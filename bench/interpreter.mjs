// Espruino processes for the benchmark: a script run from RAM (`espruino
// file.js`) or a bundle booted from Storage as `.bootcde` (as a flashed board
// runs it: function text stays in flash), each in its own directory (the Linux
// build keeps Storage in ./espruino.flash there).
//
// The interpreter's console (stdin) is the side channel for reading
// process.memory(). The Linux build reads stdin on a thread of its own every
// 50 ms, and when three or more characters arrive at once it appends them to
// the last queued input event while the main loop may be taking that event off
// the queue: lines written at once sometimes corrupted the queue (ASSERT(len <=
// 64) FAILED AT src/jsdevices.c, and the interpreter exits). So lines are typed
// two characters at a time, each pair after the echo of the one before. With
// echo on, a line enters the console history; the same line typed again
// replaces its copy there, so a reading's line costs its JsVars once (the boot
// figures' first reading comes before that).
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) the process has used, from /proc/<pid>/stat. */
export function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime: fields 14 and 15
}

export const CPU_RESOLUTION_SECONDS = 1 / CLOCK_TICKS;

// Console output lines starting BENCH: are answers; "BEN" + "CH:" so that the echo of the typed line is not one.
/**
 * The console's usage reader, a global: a name short-names.mjs never gives a bundle's
 * globals ($a, $aB, $_0, ...). "$bu" once was, and replaced a library function mid-run.
 */
export const USAGE_HELPER = '$_u';
const READ_USAGE = 'print("BEN"+"CH:"+process.memory().usage)';

const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Runs `binary script` in `dir` until it exits (a one-off script such as the Storage writer). */
function runScript(binary, script, dir, timeoutMs = 30000) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [script], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    running.add(child);
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      running.delete(child);
      child.stdin.destroy();
      resolve({ code, output });
    });
  });
}

/**
 * Writes `bundlePath` into the Storage of `dir` as `.bootcde`, in 1 KB pieces
 * (a C3's heap could not hold the whole text at once), using `binary` itself.
 */
async function writeBootCode(binary, bundlePath, dir) {
  const writer = path.join(dir, 'write-bootcde.js');
  fs.writeFileSync(writer, `(function (file, name) {
  var S = require("Storage"), size = require("fs").statSync(file).size, f = E.openFile(file, "r"), at = 0, piece;
  S.erase(name);
  while ((piece = f.read(1024)) !== undefined && piece.length) { S.write(name, piece, at, size); at += piece.length; }
  f.close();
  print("WROTE " + S.read(name).length + " OF " + size);
})(${JSON.stringify(bundlePath)}, ".bootcde");
`);
  const { output } = await runScript(binary, writer, dir);
  const written = /WROTE (\d+) OF (\d+)/.exec(output);
  if (!written || written[1] !== written[2]) throw new Error(`writing .bootcde failed:\n${output}`);
}

/**
 * Starts an interpreter: `{ script }` runs a file from RAM, `{ bundle }` boots
 * it from Storage, `{}` starts an empty one. With `port`, resolves once the
 * program printed that it listens there (a test connection would leave a
 * closed connection's remains behind for the first readings).
 * @returns {Promise<{ pid: number, binary: string, output: () => string, eval: (expression: string, ms?: number) => Promise<any>,
 *   usage: (ms?: number) => Promise<number>, cpuSeconds: () => number, pause: () => void, resume: () => void, stop: () => Promise<void> }>}
 */
export async function startInterpreter(binary, { script, bundle, port, timeoutMs = 20000 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'microserver-bench-'));
  if (bundle) await writeBootCode(binary, path.resolve(bundle), dir);
  // stdin stays an open pipe: it is the console, and at its end the interpreter would quit.
  const child = spawn(binary, script ? [path.resolve(script)] : [], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  let text = '';
  let exit = null;
  const watchers = new Set();
  const notify = () => { for (const watcher of [...watchers]) watcher(); };
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    exit = `exited (code ${code}, signal ${signal})`;
    running.delete(child);
    notify();
    resolve();
  }));
  child.on('error', (e) => { exit = `failed to start: ${e.message}`; notify(); });
  child.stdin.on('error', () => {});
  child.stdout.setEncoding('latin1');
  child.stderr.setEncoding('latin1');
  const onOutput = (chunk) => { text += chunk; notify(); };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);

  // What went wrong, for an error: the interpreter's own complaints (a failed
  // assertion is followed by a dump of every variable), else the output's end.
  const complaints = () => {
    const lines = text.split('\n').filter((line) => /ASSERT|Uncaught|Out of Memory|Error/i.test(line) && line.length < 300);
    return lines.length ? lines.slice(0, 5).join('\n') : text.slice(-1500);
  };
  /** Resolves with test()'s first truthy result, checked on every output; rejects on exit or after `ms`. */
  const waitFor = (test, ms, what) => new Promise((resolve, reject) => {
    const finish = (fn, value) => { clearTimeout(timer); watchers.delete(check); fn(value); };
    const check = () => {
      const result = test();
      if (result) finish(resolve, result);
      else if (exit) finish(reject, new Error(`the interpreter ${exit} while waiting for ${what}; output:\n${complaints()}`));
    };
    const timer = setTimeout(() => finish(reject, new Error(`no ${what} within ${ms} ms; output:\n${complaints()}`)), ms);
    watchers.add(check);
    check();
  });

  let consoleTurn = Promise.resolve();
  let readings = 0;
  /** Types `code` (whose output starts with BENCH:) and resolves with the rest of that output line. One at a time. */
  const run = (code, ms) => {
    const turn = consoleTurn.then(async () => {
      const from = text.length;
      const line = code + '\n';
      for (let i = 0; i < line.length; i += 2) {
        const pair = line.slice(i, i + 2);
        const before = text.length;
        child.stdin.write(pair);
        await waitFor(() => text.length >= before + Buffer.byteLength(pair), ms, `the echo of ${JSON.stringify(pair)} typed on the console`);
      }
      return (await waitFor(() => /BENCH:(.*)\r?\n/.exec(text.slice(from)), ms, `an answer to ${code} on the console`))[1];
    });
    consoleTurn = turn.catch(() => {});
    return turn;
  };
  const handle = {
    pid: child.pid,
    binary,
    output: () => text,
    /** Evaluates `expression` on the console and resolves with its value (through JSON). */
    eval: async (expression, ms = 10000) => JSON.parse(await run(`print("BEN"+"CH:"+JSON.stringify((${expression})))`, ms)),
    /**
     * process.memory().usage (after a garbage collection). The first reading
     * types the whole expression; it also defines a global (USAGE_HELPER) that
     * later readings call, a shorter line to type (its JsVars count in them, alike).
     */
    usage: async (ms = 10000) => {
      const line = readings++ === 0 ? READ_USAGE : readings === 2 ? `${USAGE_HELPER}=function(){${READ_USAGE}};${USAGE_HELPER}()` : USAGE_HELPER + '()';
      return Number(await run(line, ms));
    },
    cpuSeconds: () => cpuSeconds(child.pid),
    // A stopped interpreter takes no CPU (a listening one polls the whole time otherwise).
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    async stop() {
      if (!exit) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
        await exited;
      }
      child.stdin.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  if (port !== undefined) {
    try {
      await waitFor(() => new RegExp(`listening on (.*:|port )${port}\\b`).test(text), timeoutMs, `a "listening on ... ${port}" line`);
    } catch (e) {
      await handle.stop();
      throw new Error(`${path.basename(binary)} ${script || bundle}: ${e.message}`);
    }
  }
  return handle;
}

/** What a build is, asked of it: { version, jsVars (the heap's size now), unicode }. */
export async function describeBuild(interpreter) {
  // A raw UTF-8 "é" is one character with Unicode support, two bytes without.
  return interpreter.eval('{version: process.version, jsVars: process.memory().total, unicode: "é".length === 1}');
}
