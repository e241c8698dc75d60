// Latency of sequential requests on one reused keep-alive connection: one
// request in flight, the next sent when the previous answer is complete, after
// a warm-up, on the default build. Two clients: Node's http module (a
// keep-alive Agent with maxSockets 1) and a raw net.Socket that writes each
// request in one write (as curl does).
//
// Espruino sends socket data in pieces of 536 bytes and never sets
// TCP_NODELAY, so on a reused connection a response that takes two pieces
// waits (Nagle) for the client's delayed ACK of the first: 40 ms on Linux, up
// to 200 ms on Windows. The /big figures show that stall; the hello GET (one
// piece) does not have it.
import http from 'node:http';
import net from 'node:net';
import { ResponseReader, request } from './load.mjs';
import { startApp, startReference } from './servers.mjs';
import { describeBuild } from './interpreter.mjs';
import { jsonBody } from './throughput.mjs';
import { median } from './report.mjs';

const HELLO_BODY = '{"message":"Hello from MicroServer"}';
/** The small POST: about 400 bytes of JSON, echoed by POST /echo. */
export const SMALL_POST_BODY = jsonBody(400);
/** The larger responses: a text body of this many bytes from GET /big?size=N (bench/apps/big.ts). */
export const BIG_SIZES = [2048, 10240];

const SERVERS = {
  hello: (binary) => startApp(binary, 'bench/apps/hello.ts', { board: 'linux' }),
  big: (binary) => startApp(binary, 'bench/apps/big.ts', { board: 'linux' }),
  minimal: (binary) => startReference(binary, 'minimal-server.js'),
};

function bigBody(size) {
  let block = '0123456789abcdef';
  while (block.length < size) block += block;
  return block.slice(0, size);
}

/** A request of a scenario: method, path, headers, body, and the answer expected (status 200, this body). */
const get = (path, expected) => ({ method: 'GET', path, headers: {}, body: '', expected });
const post = (path, body) => ({ method: 'POST', path, headers: { 'Content-Type': 'application/json' }, body, expected: body });

/** The scenarios, each measured with both clients. */
export const LATENCY_SCENARIOS = [
  { key: 'hello', server: 'hello', request: get('/', HELLO_BODY) },
  { key: 'minimal', server: 'minimal', request: get('/', HELLO_BODY) },
  { key: 'post', server: 'hello', request: post('/echo', SMALL_POST_BODY) },
  ...BIG_SIZES.map((size) => ({ key: 'big.' + size, server: 'big', request: get('/big?size=' + size, bigBody(size)) })),
];

export const CLIENTS = ['http', 'raw'];

/** Node's http client on one keep-alive connection: send(req) resolves with { status, body } when the answer is complete. */
function httpClient(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    send: (req) => new Promise((resolve, reject) => {
      const headers = { Host: 'bench', ...req.headers, ...(req.body ? { 'Content-Length': Buffer.byteLength(req.body) } : {}) };
      const r = http.request({ host: '127.0.0.1', port, method: req.method, path: req.path, headers, agent }, (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('latin1') }));
        res.on('error', reject);
      });
      r.on('error', reject);
      r.end(req.body || undefined);
    }),
    close: () => agent.destroy(),
  };
}

/** A raw socket with TCP_NODELAY that writes each request in one write, as curl does. */
async function rawClient(port) {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  const reader = new ResponseReader();
  let waiting = null;
  const fail = (e) => { if (waiting) waiting.reject(e); waiting = null; };
  socket.on('data', (chunk) => {
    for (const res of reader.feed(chunk)) {
      if (waiting) waiting.resolve({ status: res.status, body: res.body.toString('latin1'), bytes: res.head.length + 4 + res.body.length });
      waiting = null;
    }
  });
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('the server closed the connection')));
  return {
    send: (req) => new Promise((resolve, reject) => {
      waiting = { resolve, reject };
      socket.write(request(`${req.method} ${req.path} HTTP/1.1`, ['Host: bench', ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`)], req.body));
    }),
    close: () => socket.destroy(),
  };
}

/** One request, timed from the write to the answer's last byte (ms), its answer checked. */
async function timed(client, req, timeoutMs) {
  const started = performance.now();
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${req.method} ${req.path}: no answer within ${timeoutMs} ms`)), timeoutMs); });
  const res = await Promise.race([client.send(req), late]).finally(() => clearTimeout(timer));
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`${req.method} ${req.path}: status ${res.status}, expected 200`);
  if (res.body !== req.expected) throw new Error(`${req.method} ${req.path}: unexpected body (${res.body.length} bytes): ${res.body.slice(0, 80)}`);
  return { ms, bytes: res.bytes };
}

/** The p-th percentile (0..100) of `values`, nearest rank. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** A fresh connection of `kind`: `warmup` requests, then `count` timed ones: { median, p99, max, latencies (ms), responseBytes (raw client: head and body) }. */
async function measure(server, kind, scenario, cfg) {
  server.resume();
  const client = kind === 'http' ? httpClient(server.port) : await rawClient(server.port);
  try {
    for (let i = 0; i < cfg.latencyWarmup; i++) await timed(client, scenario.request, cfg.latencyTimeoutMs);
    const latencies = [];
    let bytes;
    for (let i = 0; i < cfg.latencyRequests; i++) {
      const answer = await timed(client, scenario.request, cfg.latencyTimeoutMs);
      latencies.push(answer.ms);
      bytes = answer.bytes;
    }
    return { median: median(latencies), p99: percentile(latencies, 99), max: Math.max(...latencies), latencies, ...(bytes ? { responseBytes: bytes } : {}) };
  } finally {
    client.close();
    server.pause();
  }
}

/**
 * Measures every scenario with both clients, `cfg.reps` times, taking turns
 * (each server paused while another is measured: the Linux build's main loop
 * polls a whole core). Resolves with { samples: { 'key.client': [run...] }, build }.
 */
export async function runLatency(binary, cfg, log) {
  const servers = {};
  try {
    for (const [name, start] of Object.entries(SERVERS)) {
      servers[name] = await start(binary);
      servers[name].pause();
    }
    const samples = {};
    for (let rep = 1; rep <= cfg.reps; rep++) {
      for (const scenario of LATENCY_SCENARIOS) {
        for (const kind of CLIENTS) {
          const run = await measure(servers[scenario.server], kind, scenario, cfg).catch((e) => {
            throw new Error(`${scenario.key}, ${kind} client: ${e.message}`);
          });
          (samples[`${scenario.key}.${kind}`] ||= []).push(run);
          if (rep === 1) log(`  ${scenario.key}, ${kind} client: median ${run.median.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms`);
        }
      }
      log(`  repetition ${rep}/${cfg.reps} done`);
    }
    servers.hello.resume();
    return { samples, build: await describeBuild(servers.hello) };
  } finally {
    for (const server of Object.values(servers)) await server.stop();
  }
}
