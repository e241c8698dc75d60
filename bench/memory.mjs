// JsVar figures: process.memory().usage (it collects garbage first), read on
// the interpreter's console, on a build configured like the ESP32 (and like the
// C3 for the capacity figure). Apps boot from Storage as on a flashed board,
// except for the boot figure from RAM and the leak check.
import { runHttp, request, openIdleConnections, openIdleWebSockets, openEventStream, webSocketSession, closeAll, withDeadline } from './load.mjs';
import { startApp } from './servers.mjs';
import { writePluginApps } from './apps/plugins.mjs';
import { PLUGIN_APPS_DIR } from './sizes.mjs';
import { startInterpreter, describeBuild } from './interpreter.mjs';
import { REQUESTS, WS_PAYLOAD } from './throughput.mjs';
import { median, errorSummary } from './report.mjs';

/** Lets the basic example hold idle connections while they are counted (its board allows 6, for 5 s). */
const HOLD_CONNECTIONS = 'app.maxConns = 1000, app.keepAliveTimeout = 600';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Usage once two readings in a row agree (closed sockets are freed over a few main-loop passes), within `ms`. */
async function settledUsage(interpreter, ms = 10000) {
  const deadline = Date.now() + ms;
  let last = await interpreter.usage();
  for (;;) {
    const now = await interpreter.usage();
    if (now === last || Date.now() > deadline) return now;
    last = now;
  }
}

/** Usage of a fresh interpreter a second after it started: its first reading (the console history is empty yet). */
async function bootUsage(interpreter) {
  await sleep(1000);
  return interpreter.usage();
}

async function describeBinary(binary) {
  const interpreter = await startInterpreter(binary);
  try {
    return await describeBuild(interpreter);
  } finally {
    await interpreter.stop();
  }
}

/**
 * JsVars per client: opens `count` clients with `open(count)` (resolving with
 * their sockets), counts, closes them; a warm-up round, then `reps` rounds.
 * Resolves with { samples, residual } (residual: usage left after the last close).
 */
async function perClient(interpreter, open, count, reps) {
  const samples = [];
  let residual = 0;
  for (let round = 0; round <= reps; round++) {
    const base = await settledUsage(interpreter);
    const sockets = await open(count);
    await sleep(200);
    const loaded = await interpreter.usage();
    closeAll(sockets);
    residual = (await settledUsage(interpreter)) - base;
    if (round > 0) samples.push((loaded - base) / count);
  }
  return { samples, residual };
}

async function openEventStreams(port, count) {
  const streams = [];
  try {
    for (let i = 0; i < count; i++) streams.push(await openEventStream(port, '/events'));
  } catch (e) {
    closeAll(streams.map((s) => s.socket));
    throw e;
  }
  return streams.map((s) => s.socket);
}

/** Keep-alive requests of every kind the mixed app answers, and their statuses. */
const MIXED_KEEPALIVE = [
  REQUESTS.helloKeepAlive,
  REQUESTS.postEcho,
  REQUESTS.route,
  { bytes: request('GET /nope HTTP/1.1', ['Host: bench']), status: 404 },
  { bytes: request('OPTIONS /devices/1/readings/2 HTTP/1.1', ['Host: bench', 'Origin: http://bench.example', 'Access-Control-Request-Method: GET']), status: 204 },
  { bytes: request('DELETE / HTTP/1.1', ['Host: bench']), status: 405 },
];
const BAD_REQUEST = { bytes: Buffer.from('GARBAGE\r\n\r\n'), status: 400 };

/**
 * `requests` requests (70% on keep-alive connections of 25 requests, 20% with
 * Connection: close, 10% malformed) over 4 connections at a time, then
 * `sessions` WebSocket sessions of 3 echoes and a close handshake.
 */
async function mixedTraffic(port, requests, sessions, cfg) {
  const keepAlive = Math.round(requests * 0.7);
  const close = Math.round(requests * 0.2);
  await runHttp({ port, script: MIXED_KEEPALIVE, total: keepAlive, concurrency: 4, perConnection: 25, deadlineMs: cfg.leakDeadlineMs });
  await runHttp({ port, script: [REQUESTS.helloClose], total: close, concurrency: 4, perConnection: 1, deadlineMs: cfg.deadlineMs });
  await runHttp({ port, script: [BAD_REQUEST], total: requests - keepAlive - close, concurrency: 4, perConnection: 1, deadlineMs: cfg.deadlineMs });
  for (let i = 0; i < sessions; i++) await withDeadline(webSocketSession(port, '/ws', WS_PAYLOAD, 3), 10000, `WebSocket session ${i + 1}`);
}

/**
 * Measures the memory figures on `esp32` (a binary) and the capacity figure on
 * `c3`, each on an app started for it, so one failing leaves the others.
 * Resolves with { results: { [key]: { value, reference?, samples?, detail } | { error } },
 * esp32Build, c3Build }.
 */
export async function runMemory({ esp32, c3 }, cfg, log) {
  const results = {};
  /** Starts `entry` on `binary`, measures it with `measure(app)` into results[key], stops it. */
  const measureApp = async (key, binary, entry, startOptions, measure) => {
    const started = Date.now();
    try {
      const app = await startApp(binary, entry, startOptions);
      try {
        results[key] = await measure(app);
      } finally {
        await app.stop();
      }
      log(`  ${key}: ${results[key].value} (${Math.round((Date.now() - started) / 1000)} s)`);
    } catch (e) {
      results[key] = { error: errorSummary(e) };
      log(`  ${key}: FAILED ${e.message}`);
    }
  };
  /** JsVars per client of `app`, opened by `open(count)`. */
  const perClientFigure = async (app, open, clients) => {
    const { samples, residual } = await perClient(app, open, cfg.idleClients, cfg.memoryReps);
    return { value: median(samples), samples, detail: `${cfg.idleClients} ${clients}; ${residual} JsVars left after closing them` };
  };

  const empty = await startInterpreter(esp32);
  const emptyUsage = await bootUsage(empty);
  const esp32Build = await describeBuild(empty);
  await empty.stop();
  const c3Build = c3 === esp32 ? esp32Build : await describeBinary(c3);
  const flashed = { board: 'esp32', fromStorage: true };

  await measureApp('boot.storage', esp32, 'examples/basic.ts', flashed, async (app) => ({ value: await bootUsage(app), reference: emptyUsage, bundleBytes: app.size }));
  await measureApp('boot.ram', esp32, 'examples/basic.ts', { board: 'esp32' }, async (app) => ({ value: await bootUsage(app), reference: emptyUsage, bundleBytes: app.size }));
  // Each plug-in's own boot cost: the hello app with it, against the hello app alone.
  await measureApp('boot.hello', esp32, 'bench/apps/hello.ts', flashed, async (app) => ({ value: await bootUsage(app), reference: emptyUsage, bundleBytes: app.size }));
  for (const { name, entry } of writePluginApps(PLUGIN_APPS_DIR)) {
    const hello = results['boot.hello'];
    await measureApp('boot.plugin.' + name, esp32, entry, flashed, async (app) => ({ value: await bootUsage(app), reference: hello.error ? null : hello.value, bundleBytes: app.size, plugin: name }));
  }
  await measureApp('per.keepalive', esp32, 'examples/basic.ts', flashed, async (app) => {
    await app.eval(HOLD_CONNECTIONS);
    const open = async (n) => (await openIdleConnections(app.port, n, REQUESTS.helloKeepAlive)).sockets;
    return perClientFigure(app, open, 'idle keep-alive connections of examples/basic.ts, each after one GET /');
  });
  await measureApp('per.websocket', esp32, 'bench/apps/websocket.ts', flashed, (app) =>
    perClientFigure(app, (n) => openIdleWebSockets(app.port, '/ws', n, WS_PAYLOAD), 'open WebSockets of bench/apps/websocket.ts, each after one echo'));
  await measureApp('per.sse', esp32, 'bench/apps/sse.ts', flashed, (app) =>
    perClientFigure(app, (n) => openEventStreams(app.port, n), 'event streams of an SSEHub (bench/apps/sse.ts)'));
  // From RAM: growth is what counts here, and code run from Storage is slow on the Linux
  // build (every read of its flash file opens it: no memory map as on a device).
  await measureApp('leak', esp32, 'bench/apps/mixed.ts', { board: 'esp32' }, async (app) => {
    await mixedTraffic(app.port, cfg.leakWarmupRequests, cfg.leakWarmupSessions, cfg);
    const baseline = await settledUsage(app);
    await mixedTraffic(app.port, cfg.leakRequests, cfg.leakSessions, cfg);
    const after = await settledUsage(app);
    return { value: after - baseline, reference: baseline, detail: `bench/apps/mixed.ts from RAM: ${cfg.leakRequests} requests (keep-alive GET, POST, routes, 404, preflight, 405; Connection: close; malformed) and ${cfg.leakSessions} WebSocket sessions; usage ${baseline} before, ${after} after` };
  });
  await measureApp('capacity', c3, 'examples/basic.ts', { board: 'esp32c3', fromStorage: true }, async (app) => {
    const boot = await bootUsage(app);
    await app.eval(HOLD_CONNECTIONS);
    const { sockets, refusal } = await openIdleConnections(app.port, cfg.capacityLimit, REQUESTS.helloKeepAlive, { untilRefused: true });
    const alive = await app.usage(5000).then((usage) => `usage ${usage} with them open`, () => 'the interpreter stopped answering its console');
    const outOfMemory = /out of memory/i.test(app.output()) ? '; the interpreter reported running out of memory' : '';
    closeAll(sockets);
    const stop = refusal ? `the next one got: ${refusal}` : `the limit of ${cfg.capacityLimit} was reached`;
    return { value: sockets.length, detail: `examples/basic.ts from Storage, ${c3Build.jsVars}-JsVar heap, ${c3Build.jsVars - boot} JsVars free after boot, maxConns lifted to 1000; ${stop}; ${alive}${outOfMemory}` };
  });
  return { results, esp32Build, c3Build };
}
