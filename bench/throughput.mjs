// CPU per request, requests per second, WebSocket and SSE rates: every server
// on the default build at once, each paused (SIGSTOP) while another is measured,
// and the scenarios interleaved repetition by repetition, so a noisy machine
// slows them alike and their ratios hold.
//
// Espruino's Linux main loop never sleeps while a socket listens: it polls,
// using a whole core when idle. Its CPU time therefore counts the time between
// requests too, unless requests are always waiting. So CPU per request is
// measured with 8 clients (each with one request in flight), which keeps the
// interpreter busy: what it then uses per request is the work of a request.
import { runHttp, runWebSocketEcho, openEventStream, closeAll, request } from './load.mjs';
import { startApp, startReference } from './servers.mjs';
import { CPU_RESOLUTION_SECONDS, describeBuild } from './interpreter.mjs';

const HELLO_BODY = '{"message":"Hello from MicroServer"}';
const HOST = 'Host: bench';

/** A JSON body of exactly `bytes` bytes: readings of a few sensors, padded. */
export function jsonBody(bytes) {
  const value = { readings: [], pad: '' };
  while (JSON.stringify(value).length < bytes - 40) value.readings.push({ sensor: 'sensor-' + value.readings.length, value: value.readings.length / 2 });
  value.pad = 'x'.repeat(bytes - JSON.stringify(value).length);
  return JSON.stringify(value);
}

const POST_BODY = jsonBody(1024);

export const REQUESTS = {
  helloKeepAlive: { bytes: request('GET / HTTP/1.1', [HOST]), status: 200, body: HELLO_BODY },
  helloClose: { bytes: request('GET / HTTP/1.1', [HOST, 'Connection: close']), status: 200, body: HELLO_BODY },
  postEcho: { bytes: request('POST /echo HTTP/1.1', [HOST, 'Content-Type: application/json'], POST_BODY), status: 200, body: POST_BODY },
  // The CORS variant answers it with CORS headers; both apps get the same bytes.
  route: { bytes: request('GET /devices/42/readings/7 HTTP/1.1', [HOST, 'Origin: http://bench.example']), status: 200, body: '{"device":"42","n":"7"}' },
};

/** The WebSocket message of the figures: 125 bytes of text, the most a frame's 7-bit length holds. */
export const WS_PAYLOAD = Buffer.alloc(125, 'w');

/** The servers of the CPU figures (started on the default build, board linux). */
const SERVERS = {
  hello: (binary) => startApp(binary, 'bench/apps/hello.ts', { board: 'linux' }),
  routes: (binary) => startApp(binary, 'bench/apps/routes.ts', { board: 'linux' }),
  routesMiddleware: (binary) => startApp(binary, 'bench/apps/routes-middleware.ts', { board: 'linux' }),
  websocket: (binary) => startApp(binary, 'bench/apps/websocket.ts', { board: 'linux' }),
  sse: (binary) => startApp(binary, 'bench/apps/sse.ts', { board: 'linux' }),
  minimal: (binary) => startReference(binary, 'minimal-server.js'),
  cHttp: (binary) => startReference(binary, 'c-http-server.js'),
};

/**
 * Load of each scenario: (port, count, cfg) → Promise<{ completed, wallMs }>, where
 * `completed` counts the operations (requests, echoes, events received per client).
 */
const http = (req, concurrency, perConnection) => (port, count, cfg) =>
  runHttp({ port, script: [req], total: count, concurrency, perConnection, deadlineMs: cfg.deadlineMs });
const echo = (clients) => (port, count, cfg) =>
  runWebSocketEcho({ port, path: '/ws', payload: WS_PAYLOAD, total: count, clients, deadlineMs: cfg.deadlineMs });

/** Events each of 4 clients receives while the hub broadcasts for `count` milliseconds. */
async function sseEvents(port, milliseconds, cfg) {
  const streams = await Promise.all([0, 1, 2, 3].map(() => openEventStream(port, '/events')));
  try {
    const control = (path) => runHttp({ port, script: [{ bytes: request(`POST ${path} HTTP/1.1`, [HOST]), status: 200 }], total: 1, deadlineMs: cfg.deadlineMs });
    const started = performance.now();
    await control('/events/start');
    await new Promise((r) => setTimeout(r, milliseconds));
    await control('/events/stop');
    const wallMs = performance.now() - started;
    await new Promise((r) => setTimeout(r, 200)); // the last events in flight
    const received = streams.map((s) => s.stats.events);
    if (Math.min(...received) === 0) throw new Error(`an event stream received nothing (${received.join(', ')})`);
    const gaps = streams.reduce((sum, s) => sum + s.stats.gaps, 0);
    return { completed: received.reduce((a, b) => a + b, 0) / received.length, wallMs, gaps };
  } finally {
    closeAll(streams.map((s) => s.socket));
  }
}

/**
 * Every measured scenario: the server it runs on, its load, and which rate it
 * yields ('cpu': CPU seconds per operation; 'wall': operations per second;
 * the 8-client runs yield both). `timed` scenarios run for a time, not a count.
 */
const SCENARIOS = [
  { key: 'hello.keepalive', server: 'hello', load: http(REQUESTS.helloKeepAlive, 8) },
  { key: 'minimal.keepalive', server: 'minimal', load: http(REQUESTS.helloKeepAlive, 8) },
  { key: 'hello.close', server: 'hello', load: http(REQUESTS.helloClose, 8, 1), close: true },
  { key: 'minimal.close', server: 'minimal', load: http(REQUESTS.helloClose, 8, 1), close: true },
  { key: 'cHttp.close', server: 'cHttp', load: http(REQUESTS.helloClose, 8, 1), close: true },
  { key: 'post.echo', server: 'hello', load: http(REQUESTS.postEcho, 8) },
  { key: 'route', server: 'routes', load: http(REQUESTS.route, 8) },
  { key: 'route.middleware', server: 'routesMiddleware', load: http(REQUESTS.route, 8) },
  { key: 'hello.keepalive.1', server: 'hello', load: http(REQUESTS.helloKeepAlive, 1) },
  { key: 'minimal.keepalive.1', server: 'minimal', load: http(REQUESTS.helloKeepAlive, 1) },
  { key: 'ws.echo.1', server: 'websocket', load: echo(1) },
  { key: 'ws.echo.8', server: 'websocket', load: echo(8) },
  { key: 'sse.4', server: 'sse', load: sseEvents, timed: true },
];

function clamp(value, low, high) {
  return Math.max(low, Math.min(high, Math.round(value)));
}

/** Runs `load` on the (resumed) server and measures it: { ops, cpuPerOp, perSecond, gaps, cpuTicks, coreShare }. */
async function measure(server, scenario, count, cfg) {
  server.resume();
  try {
    const cpuBefore = server.cpuSeconds();
    const result = await scenario.load(server.port, count, cfg);
    const cpu = server.cpuSeconds() - cpuBefore;
    return {
      ops: result.completed,
      cpuPerOp: cpu / result.completed,
      perSecond: (result.completed * 1000) / result.wallMs,
      gaps: result.gaps || 0,
      cpuTicks: cpu / CPU_RESOLUTION_SECONDS,
      // Below 1 when the machine's other work took turns, or the clients did not keep the interpreter busy.
      coreShare: cpu / (result.wallMs / 1000),
    };
  } finally {
    server.pause();
  }
}

/**
 * Measures every scenario: a warm-up run each (also sizing the runs: enough
 * operations for `cfg.sampleCpuSeconds` of the interpreter's CPU, within
 * cfg.minOps..cfg.maxOps), then `cfg.reps` interleaved repetitions.
 * Resolves with { samples: { key: [measurement...] }, build (describeBuild's) }.
 */
export async function runThroughput(binary, cfg, log) {
  const servers = {};
  try {
    for (const [name, start] of Object.entries(SERVERS)) {
      servers[name] = await start(binary);
      servers[name].pause();
    }
    const counts = {};
    for (const scenario of SCENARIOS) {
      const warm = await measure(servers[scenario.server], scenario, scenario.timed ? cfg.sseWarmupMs : cfg.warmupOps, cfg);
      counts[scenario.key] = scenario.timed ? cfg.sseMs : clamp(cfg.sampleCpuSeconds / Math.max(warm.cpuPerOp, 1e-6), cfg.minOps, scenario.close ? cfg.maxCloseOps : cfg.maxOps);
      log(`  warm-up ${scenario.key}: ${warm.perSecond.toFixed(0)}/s, ${(warm.cpuPerOp * 1e6).toFixed(0)} µs CPU each; samples of ${counts[scenario.key]}${scenario.timed ? ' ms' : ''}`);
    }
    const samples = {};
    for (let rep = 1; rep <= cfg.reps; rep++) {
      for (const scenario of SCENARIOS) {
        (samples[scenario.key] ||= []).push(await measure(servers[scenario.server], scenario, counts[scenario.key], cfg));
      }
      log(`  repetition ${rep}/${cfg.reps} done`);
    }
    servers.hello.resume();
    return { samples, build: await describeBuild(servers.hello) };
  } finally {
    for (const server of Object.values(servers)) await server.stop();
  }
}
