// Shared by the abuse and soak tests: what a server process holds (JsVars,
// sockets), raw clients that misbehave, and waiting for things to settle.
import fs from 'node:fs';
import net from 'node:net';
import WebSocket from 'ws';
import { startApp, rawExchange, parseResponses, request } from '../helpers/app.mjs';

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

/**
 * The first complete response in `buffer` (latin1 text): { status, headers,
 * body, rest }, with the body de-chunked; null while incomplete. `head`: a
 * response to HEAD (no body follows).
 */
export function takeResponse(buffer, { head = false } = {}) {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buffer.slice(0, end).split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let at = end + 4;
  if (head || status === 204 || status === 304 || status < 200) return { status, headers, body: '', rest: buffer.slice(at) };
  if (headers['transfer-encoding'] === 'chunked') {
    let body = '';
    for (;;) {
      const lineEnd = buffer.indexOf('\r\n', at);
      if (lineEnd < 0) return null;
      const size = parseInt(buffer.slice(at, lineEnd), 16);
      if (buffer.length < lineEnd + 2 + size + 2) return null;
      if (size === 0) return { status, headers, body, rest: buffer.slice(lineEnd + 4) };
      body += buffer.slice(lineEnd + 2, lineEnd + 2 + size);
      at = lineEnd + 2 + size + 2;
    }
  }
  const length = Number(headers['content-length'] || 0);
  if (buffer.length < at + length) return null;
  return { status, headers, body: buffer.slice(at, at + length), rest: buffer.slice(at + length) };
}

/**
 * A keep-alive client on one connection: ask(raw, { head }) sends a request
 * and resolves with its response (see takeResponse), or rejects when the
 * server closes first. One request at a time.
 */
export async function keepAliveClient(port) {
  const client = await connect(port);
  let buffer = '';
  let waiting = null; // { head, resolve, reject }
  const check = () => {
    if (!waiting) return;
    const res = takeResponse(buffer, waiting);
    if (res) {
      buffer = res.rest;
      const { resolve } = waiting;
      waiting = null;
      resolve(res);
    } else if (client.closed()) {
      const { reject } = waiting;
      waiting = null;
      reject(new Error(`the server closed the connection; received: ${JSON.stringify(buffer.slice(0, 300))}`));
    }
  };
  client.socket.on('data', (d) => { buffer += d.toString('latin1'); check(); });
  client.ended.then(check);
  return {
    ask(raw, { head = false } = {}) {
      return new Promise((resolve, reject) => {
        waiting = { head, resolve, reject };
        client.socket.write(Buffer.from(raw, 'latin1'));
        check();
      });
    },
    closed: client.closed,
    close() {
      client.socket.destroy();
      return client.ended;
    },
  };
}

/**
 * Runs every kind of traffic of test/fixtures/abuse.ts once (each with its
 * errors and early leaves), so what the server and the interpreter build on
 * first use is part of a baseline taken afterwards.
 */
export async function warmUp(app) {
  const client = await keepAliveClient(app.port);
  for (const path of ['/', '/users/1', '/slow', '/throw', '/reject', '/never', '/middleware-throws', '/nope', '/static/index.html', '/stream/bulk?count=2']) {
    await client.ask(GET(path));
  }
  await client.ask(request('POST /never/settle HTTP/1.1', 'Host: t', 'Content-Length: 0'));
  await client.ask(request('POST /echo HTTP/1.1', 'Host: t', 'Content-Length: 2') + 'hi');
  await client.close();
  for (const path of ['/stream/endless', '/events', '/static/big.html', '/stream/throws']) {
    const leaving = await connect(app.port);
    leaving.socket.write(GET(path));
    await sleep(150);
    leaving.socket.destroy();
  }
  const ws = new WebSocket(`ws://127.0.0.1:${app.port}/ws/echo`);
  await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  const echoed = new Promise((resolve) => ws.once('message', resolve));
  ws.send('warm');
  await echoed;
  ws.close();
  await new Promise((resolve) => ws.on('close', resolve));
  const partial = await connect(app.port);
  partial.socket.write('GET / HTTP/1.1\r\nHo');
  await sleep(50);
  partial.socket.destroy();
}

/** Starts test/fixtures/abuse.ts, warms it up and takes its resting footprint: { app, baseline }. */
export async function startAtRest(options) {
  const app = await startApp('test/fixtures/abuse.ts', options);
  await warmUp(app);
  return { app, baseline: await restingFootprint(app) };
}
