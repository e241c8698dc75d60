// Shared by the abuse and soak tests: what a server process holds (JsVars,
// sockets), raw clients that misbehave, and waiting for things to settle.
import fs from 'node:fs';
import net from 'node:net';
import { rawExchange, parseResponses, request } from '../helpers/app.mjs';

export const GET = (path, ...headers) => request(`GET ${path} HTTP/1.1`, 'Host: t', ...headers);
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** JsVars in use after a garbage collection, from the fixture's /memory route (the real interpreter's count). */
export async function jsVarsInUse(port) {
  const { text } = await rawExchange(port, GET('/memory', 'Connection: close'), { idleMs: 2000 });
  const [res] = parseResponses(text);
  if (!res || res.status !== 200) throw new Error(`GET /memory answered:\n${text}`);
  return JSON.parse(res.body).usage;
}

/** Sockets (listening and connected) the process `pid` holds, from /proc. */
export function openSockets(pid) {
  const dir = `/proc/${pid}/fd`;
  let count = 0;
  for (const fd of fs.readdirSync(dir)) {
    try {
      if (fs.readlinkSync(`${dir}/${fd}`).startsWith('socket:')) count++;
    } catch {
      // closed while listing
    }
  }
  return count;
}

/** Resolves with check()'s first truthy value, polling every 50 ms; rejects with describe() after `ms`. */
export async function waitUntil(check, ms, describe) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`after ${ms} ms: ${await describe()}`);
    await sleep(50);
  }
}

/** A connected raw socket that collects what it receives: { socket, text(), closed(), ended }. */
export function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks = [];
    let closed = false;
    const ended = new Promise((done) => socket.on('close', () => { closed = true; done(); }));
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => {}); // a reset shows as 'close'
    socket.once('error', reject);
    socket.on('connect', () => resolve({
      socket,
      ended,
      text: () => Buffer.concat(chunks).toString('latin1'),
      closed: () => closed,
    }));
  });
}

/**
 * What the server holds when idle, to compare after an attack: its sockets, and
 * on the real interpreter its JsVars (the emulation does not count them).
 */
export async function footprint(app) {
  return { sockets: openSockets(app.pid), jsVars: app.lane === 'espruino' ? await jsVarsInUse(app.port) : null };
}

/** The footprint once the server is at rest: the same socket count for 600 ms (clients just gone take a moment). */
export async function restingFootprint(app) {
  let last = openSockets(app.pid);
  for (let same = 0; same < 3;) {
    await sleep(200);
    const now = openSockets(app.pid);
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return footprint(app);
}

/**
 * Waits until the server is back to `baseline`: the same sockets (the /memory
 * request's own connection is closed by then), JsVars within `slack`.
 */
export async function backToBaseline(app, baseline, { slack = 10, ms = 10000 } = {}) {
  let now;
  await waitUntil(async () => {
    now = await footprint(app);
    return now.sockets === baseline.sockets && (now.jsVars === null || now.jsVars - baseline.jsVars <= slack);
  }, ms, () => `sockets ${baseline.sockets} → ${now.sockets}, JsVars ${baseline.jsVars} → ${now.jsVars}`);
  return now;
}
