// The real interpreter's telnet console (Espruino's Linux build with --telnet
// always listens on 127.0.0.1:2323), for tests that type into the REPL.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';

export const TELNET_PORT = 2323;
const ESPRUINO = process.env.ESPRUINO;

/** Starts `$ESPRUINO --telnet [file]` (or another build: `binary`) in `dir`. */
export function startInterpreter(dir, file, binary = ESPRUINO) {
  // stdin stays an open pipe: at end-of-file the interpreter reads garbage.
  const child = spawn(binary, file ? ['--telnet', file] : ['--telnet'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((r) => child.on('exit', r));
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); // it ignores SIGTERM while serving
      await exited;
      child.stdin.destroy();
    },
  };
}

export async function waitFor(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {}
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

/** Sends one line to the telnet console and resolves with the text between markers. */
export function telnetEval(expr) {
  return new Promise((resolve, reject) => {
    const s = net.connect(TELNET_PORT, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error('telnet eval timed out: ' + buf)); }, 10000);
    s.on('data', (d) => {
      buf += d.toString('latin1');
      const m = buf.match(/<<<([\s\S]*?)>>>/);
      if (m) { clearTimeout(timer); s.destroy(); resolve(m[1]); }
    });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.write(`\x10print("<<<"+(${expr})+">>>")\n`);
  });
}

/**
 * A serial line to the interpreter's console: a pty at `path` that socat links to the
 * telnet console. (The Linux build's stdin console reads from a second thread that races
 * the main loop on long lines, which a board's UART does not; its telnet console does not.)
 */
export async function serialLink(path) {
  const child = spawn('socat', [`PTY,link=${path},raw,echo=0`, `TCP:127.0.0.1:${TELNET_PORT}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((r) => child.on('exit', r));
  child.on('error', (e) => { err += e.message; });
  await waitFor(`socat's pty ${path} (${err})`, async () => existsSync(path) || child.exitCode !== null, 5000);
  if (!existsSync(path)) throw new Error(`socat could not link ${path} to the console: ${err}`);
  return {
    path,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** True when Debian's socat is installed (the serial tests need it). */
export function hasSocat() {
  return spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
}
