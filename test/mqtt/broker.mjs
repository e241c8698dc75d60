// A real Mosquitto for the MQTT tests: started on a free port with a generated
// configuration (a listener on 127.0.0.1, anonymous clients, no persistence),
// watched with mosquitto_sub and written to with mosquitto_pub. Boards are the
// fleet fixture or example built with the broker's port and their own id.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/ports.mjs';
import { startApp } from '../helpers/app.mjs';
import { waitUntilAccepting } from '../helpers/server.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function which(name, fallback) {
  if (fs.existsSync(fallback)) return fallback;
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  return found || null;
}

const MOSQUITTO = which('mosquitto', '/usr/sbin/mosquitto');
const MOSQUITTO_SUB = which('mosquitto_sub', '/usr/bin/mosquitto_sub');
const MOSQUITTO_PUB = which('mosquitto_pub', '/usr/bin/mosquitto_pub');

/** A test's `skip`: why the broker tests cannot run here, or false. */
export const brokerMissing = MOSQUITTO && MOSQUITTO_SUB && MOSQUITTO_PUB
  ? false
  : "needs an MQTT broker: install Debian's mosquitto and mosquitto-clients (apt-get install mosquitto mosquitto-clients; .ci/run installs them)";

const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function track(child) {
  running.add(child);
  child.on('exit', () => running.delete(child));
  return child;
}

/** Starts Mosquitto on a free port. `restart()` stops it and starts it again on the same port. */
export async function startBroker() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mosquitto-'));
  const config = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  fs.chmodSync(dir, 0o755);
  let child;
  let log = '';
  async function launch() {
    child = track(spawn(MOSQUITTO, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] }));
    child.stdout.on('data', (d) => { log += d; });
    child.stderr.on('data', (d) => { log += d; });
    await waitUntilAccepting(port, 10000);
  }
  async function halt() {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await launch();
  return {
    port,
    log: () => log,
    stop: halt,
    async restart() {
      await halt();
      await launch();
    },
    async close() {
      await halt();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Watches `filter` with mosquitto_sub (QoS 1), once its SUBACK came. Retained messages arrive too.
 * Returns { messages(): [{ topic, payload }], waitFor(predicate, ms), stop() }.
 */
export async function watch(port, filter) {
  // Line-buffered: into a pipe, mosquitto_sub would hold its output back.
  const child = track(spawn('stdbuf', ['-oL', MOSQUITTO_SUB, '-h', '127.0.0.1', '-p', String(port), '-q', '1', '-v', '-d', '-t', filter], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const messages = [];
  let partial = '';
  let subscribed = false;
  const waiters = new Set();
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop();
    for (const line of lines) {
      // -d adds lines about the protocol; every message line starts with its topic.
      if (line.startsWith('Client ') || line.startsWith('Subscribed (mid')) {
        if (line.includes('received SUBACK')) subscribed = true;
        continue;
      }
      const space = line.indexOf(' ');
      if (space > 0) messages.push({ topic: line.slice(0, space), payload: line.slice(space + 1) });
    }
    for (const check of [...waiters]) check();
  });
  function waitFor(predicate, ms = 10000, what = 'messages') {
    return new Promise((resolve, reject) => {
      let timer;
      const check = () => {
        const result = predicate(messages);
        if (result) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(result);
        }
      };
      timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what} on ${filter}; got ${messages.length}: ${JSON.stringify(messages.slice(-5))}`));
      }, ms);
      waiters.add(check);
      check();
    });
  }
  await waitFor(() => subscribed, 10000, 'the SUBACK');
  return {
    messages: () => messages,
    waitFor,
    /** The last payload on `topic`, once `predicate(payload)` holds for it. */
    waitForLast(topic, payload, ms = 10000) {
      return waitFor((all) => {
        const on = all.filter((m) => m.topic === topic);
        return on.length && on[on.length - 1].payload === payload;
      }, ms, `${topic} = ${payload}`);
    },
    stop() {
      child.kill('SIGTERM');
    },
  };
}

/** Publishes each line of `lines` to `topic` with one mosquitto_pub at QoS `qos`; resolves when it has sent them all. */
export function publish(port, topic, lines, { qos = 1, retain = false } = {}) {
  return new Promise((resolve, reject) => {
    const args = ['-h', '127.0.0.1', '-p', String(port), '-q', String(qos), '-t', topic, '-l'];
    if (retain) args.push('-r');
    const child = track(spawn(MOSQUITTO_PUB, args, { stdio: ['pipe', 'ignore', 'pipe'] }));
    let errors = '';
    child.stderr.on('data', (d) => { errors += d; });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mosquitto_pub exited with ${code}: ${errors}`))));
    child.stdin.end(lines.map((line) => line + '\n').join(''));
  });
}

/**
 * Builds and starts a board from `entry` (the fleet fixture or example), its broker's port and its
 * id changed to `brokerPort` and `id`: a copy of the entry, with its imports made absolute.
 * `mode`: the kind of build (startServer's: 'esp32' byte strings, 'linux' Unicode); `cStackKb`: startServer's.
 */
export async function startBoard(entry, { brokerPort, id, mode = 'esp32', cStackKb }) {
  const source = fs.readFileSync(path.join(ROOT, entry), 'utf8');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-board-'));
  const base = path.dirname(path.join(ROOT, entry));
  const copy = path.join(dir, id + '.ts');
  const changed = source
    .replace(/port: 1883\b/, `port: ${brokerPort}`)
    .replace(/id: 'board-1'/, `id: '${id}'`)
    .replace(/from '(\.\.?\/[^']+)'/g, (_, spec) => `from '${path.resolve(base, spec)}'`);
  if (!changed.includes(`port: ${brokerPort}`) || !changed.includes(`id: '${id}'`)) throw new Error(`${entry} has no "port: 1883" and "id: 'board-1'" to change`);
  fs.writeFileSync(copy, changed);
  const board = await startApp(copy, { mode, cStackKb });
  const stop = board.stop;
  board.stop = async () => {
    await stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  board.id = id;
  return board;
}

/** GETs `path` from a board as JSON. */
export async function getJson(board, urlPath) {
  return (await fetch(board.url + urlPath)).json();
}

/** Polls `urlPath` until `predicate(json)` holds; returns that JSON. */
export async function pollJson(board, urlPath, predicate, ms = 15000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await getJson(board, urlPath);
    if (predicate(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms polling ${urlPath}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
