#!/usr/bin/env node
// npm run bench [-- --quick] [--out <dir>] [--only sizes|throughput|latency|memory|stack]
//
// Measures MicroServer beside two references in one run: sizes, CPU per
// request, throughput, latency on one keep-alive connection, WebSocket and SSE
// rates, JsVars, a leak check, the smallest C stack per app shape (each
// figure's row in RESULTS.md says how it was measured). Interpreters:
//   ESPRUINO        the default Linux build: CPU, throughput and latency figures
//   ESPRUINO_ESP32  a build like the ESP32 (fixed heap of JsVars, byte strings): memory and C stack figures
//   ESPRUINO_C3     a build with 4095 JsVars: how many connections fit a C3
// Without ESPRUINO only the sizes are measured. Writes RESULTS.md and
// results.json into bench/ (or --out). Exits 1 if a figure could not be measured.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureSizes } from './sizes.mjs';
import { runThroughput } from './throughput.mjs';
import { runMemory } from './memory.mjs';
import { runLatency, CLIENTS, BIG_SIZES, SMALL_POST_BODY, percentile } from './latency.mjs';
import { runStacks, STACK_APPS } from './stack-figures.mjs';
import { startInterpreter, describeBuild } from './interpreter.mjs';
import { median, errorSummary, consoleTable, writeResults } from './report.mjs';

/** How much each run measures: the default, and --quick (a smoke test of the harness). */
export const CONFIGS = {
  full: {
    reps: 5, warmupOps: 300, sampleCpuSeconds: 1, minOps: 100, maxOps: 20000, maxCloseOps: 3000,
    sseWarmupMs: 500, sseMs: 2000, deadlineMs: 60000,
    idleClients: 20, memoryReps: 3, capacityLimit: 400,
    leakWarmupRequests: 200, leakWarmupSessions: 5, leakRequests: 10000, leakSessions: 200, leakDeadlineMs: 300000,
    latencyWarmup: 10, latencyRequests: 60, latencyTimeoutMs: 5000,
    stackMaxKb: 64, stackTimeoutMs: 15000,
  },
  quick: {
    reps: 1, warmupOps: 30, sampleCpuSeconds: 0.05, minOps: 30, maxOps: 300, maxCloseOps: 100,
    sseWarmupMs: 100, sseMs: 300, deadlineMs: 30000,
    idleClients: 3, memoryReps: 1, capacityLimit: 400,
    leakWarmupRequests: 20, leakWarmupSessions: 1, leakRequests: 100, leakSessions: 3, leakDeadlineMs: 60000,
    latencyWarmup: 3, latencyRequests: 10, latencyTimeoutMs: 5000,
    stackMaxKb: 64, stackTimeoutMs: 15000,
  },
};

/**
 * The targets (issues 4, 14 and 15; where they differ, the latest), on the
 * figures they bound: `on` says what is compared with `bound` (the value, the
 * ratio to the reference, or the value's magnitude).
 */
export const TARGETS = {
  'size.hello': { on: 'value', bound: 24 * 1024, text: '≤ 24 KB (24576 bytes), no WebSocket or SSE code' },
  'cpu.hello.keepalive.1': { on: 'ratio', bound: 3, text: '≤ 3 × the net server' },
  'cpu.hello.keepalive': { on: 'ratio', bound: 4, text: '≤ 4 × the net server' },
  'cpu.hello.keepalive.c-http': { on: 'ratio', bound: 2.5, text: '≤ 2.5 × the C http module' },
  'cpu.route': { on: 'ratio', bound: 1.2, text: '≤ 1.2 × hello' },
  'cpu.post.echo': { on: 'ratio', bound: 5, text: '≤ 5 × hello' },
  'cpu.route.middleware': { on: 'ratio', bound: 1.15, text: '≤ 1.15 × without' },
  'cpu.ws.message': { on: 'ratio', bound: 1.5, text: '≤ 1.5 × hello' },
  'jsvars.boot.storage': { on: 'value', bound: 1000, text: '≤ 1000 JsVars' },
  'jsvars.per.keepalive': { on: 'value', bound: 25, text: '≤ 25 JsVars' },
  'jsvars.per.websocket': { on: 'value', bound: 60, text: '≤ 60 JsVars' },
  'jsvars.per.sse': { on: 'value', bound: 40, text: '≤ 40 JsVars' },
  'jsvars.leak': { on: 'magnitude', bound: 10, text: 'within 10 JsVars' },
  // Latency on one reused keep-alive connection: both clients are held to each target.
  'latency.hello.http': { on: 'ratio', bound: 2, text: '≤ 2 × the net server (medians)' },
  'latency.hello.raw': { on: 'ratio', bound: 2, text: '≤ 2 × the net server (medians)' },
  'latency.post.http': { on: 'ratio', bound: 1.2, text: 'as fast as a GET: ≤ 1.2 × the hello GET (medians)' },
  'latency.post.raw': { on: 'ratio', bound: 1.2, text: 'as fast as a GET: ≤ 1.2 × the hello GET (medians)' },
  ...Object.fromEntries(STACK_APPS.filter((app) => !app.reference).map((app) => ['stack.' + app.key, { on: 'value', bound: 24, text: '≤ 24 KB' }])),
};

const SECTIONS = ['sizes', 'throughput', 'latency', 'memory', 'stack'];

function parseArgs(argv) {
  const args = { quick: false, out: path.dirname(fileURLToPath(import.meta.url)), only: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') args.quick = true;
    else if (argv[i] === '--out' && argv[i + 1]) args.out = path.resolve(argv[++i]);
    else if (argv[i] === '--only' && SECTIONS.includes(argv[i + 1])) args.only = argv[++i];
    else {
      console.error(`usage: npm run bench [-- --quick] [--out <dir>] [--only ${SECTIONS.join('|')}]`);
      process.exit(2);
    }
  }
  return args;
}

/**
 * A figure row: its target (if any) judged on the value or the ratio to the
 * reference (none when `noRatio`: a reference that is context, not a yardstick).
 */
function figure(id, label, unit, value, { reference = null, noRatio = false, build, version, detail = '', samples, date, error, above } = {}) {
  const ratio = reference && !noRatio && value !== null && reference.value ? value / reference.value : null;
  const target = TARGETS[id] || null;
  let met = null;
  if (target && !error && value !== null) {
    const compared = { value, ratio, magnitude: Math.abs(value) }[target.on];
    met = compared === null ? null : compared <= target.bound;
  }
  // `above`: the value is beyond what was measured (more than `above`): no number, and any bound on the value is missed.
  if (above !== undefined && !error) met = target ? (target.on === 'value' && above >= target.bound ? false : null) : null;
  return { id, figure: label, unit, value, reference, ratio, target, met, build, version, date, detail, samples, ...(above !== undefined ? { above } : {}), ...(error ? { error } : {}) };
}

function describe(variable, binary, build, fallback) {
  const heap = build.unicode ? `Unicode strings, a heap of ${build.jsVars} JsVars now (it grows)` : `byte strings, a fixed heap of ${build.jsVars} JsVars`;
  return { binary, label: `${variable}=${binary}: Espruino ${build.version}, ${heap}${fallback ? ` (${fallback})` : ''}`, ...build };
}

function throughputFigures(samples, build, date, cfg) {
  const common = { build: build.label, version: build.version, date };
  const cpuMicros = (key) => median(samples[key].map((s) => s.cpuPerOp)) * 1e6;
  const rate = (key) => median(samples[key].map((s) => s.perSecond));
  const how = (key, what) => {
    const runs = samples[key];
    const ticks = Math.min(...runs.map((s) => s.cpuTicks));
    const shares = runs.map((s) => s.coreShare);
    return `median of ${runs.length} runs of ${runs[0].ops} ${what} (CPU µs each: ${runs.map((s) => formatMicros(s.cpuPerOp)).join(', ')}; ≥ ${Math.round(ticks)} clock ticks per run; the interpreter used ${Math.min(...shares).toFixed(2)}–${Math.max(...shares).toFixed(2)} of a core)`;
  };
  const perSecond = (key, what) => `median of ${samples[key].length} runs of ${samples[key][0].ops} ${what} (${samples[key].map((s) => Math.round(s.perSecond)).join(', ')} /s)`;
  const minimalKeepAlive = { name: 'minimal net server, keep-alive', value: cpuMicros('minimal.keepalive') };
  const cHttp = { name: 'built-in C http, Connection: close', value: cpuMicros('cHttp.close') };
  const routeOnly = { name: 'the same without CORS + Logging', value: cpuMicros('route') };
  const hello = { name: 'GET hello JSON, keep-alive, 8 clients', value: cpuMicros('hello.keepalive') };
  const eight = 'requests, 8 keep-alive clients';
  // One client: the interpreter polls without sleeping, so a request's wall time is its CPU time.
  const wallMicros = (key) => 1e6 / rate(key);
  return [
    figure('cpu.hello.keepalive.1', 'CPU per request: GET hello JSON, 1 keep-alive client', 'µs', wallMicros('hello.keepalive.1'), { reference: { name: 'minimal net server, 1 keep-alive client', value: wallMicros('minimal.keepalive.1') }, detail: `1 s / requests per second: the interpreter's main loop polls without sleeping, so one client's request takes a whole core for its wall time; ${perSecond('hello.keepalive.1', 'requests')}`, samples: samples['hello.keepalive.1'], ...common }),
    figure('cpu.hello.keepalive', 'CPU per request: GET hello JSON, keep-alive', 'µs', cpuMicros('hello.keepalive'), { reference: minimalKeepAlive, detail: how('hello.keepalive', eight), samples: samples['hello.keepalive'], ...common }),
    figure('cpu.hello.keepalive.c-http', 'CPU per request: GET hello JSON, keep-alive, vs. the C http module', 'µs', cpuMicros('hello.keepalive'), { reference: cHttp, detail: `the C http module: ${how('cHttp.close', 'requests, 8 clients, a connection each')}`, samples: samples['hello.keepalive'], ...common }),
    figure('cpu.hello.close', 'CPU per request: GET hello JSON, Connection: close', 'µs', cpuMicros('hello.close'), { reference: { name: 'minimal net server, Connection: close', value: cpuMicros('minimal.close') }, detail: how('hello.close', 'requests, 8 clients, a connection each'), samples: samples['hello.close'], ...common }),
    figure('cpu.hello.close.c-http', 'CPU per request: GET hello JSON, Connection: close, vs. the C http module', 'µs', cpuMicros('hello.close'), { reference: cHttp, detail: `the C http module: ${how('cHttp.close', 'requests, 8 clients, a connection each')}`, samples: samples['hello.close'], ...common }),
    figure('cpu.post.echo', 'CPU per request: POST 1 KB JSON, echoed', 'µs', cpuMicros('post.echo'), { reference: hello, detail: how('post.echo', `${eight}; req.json parsed and sent back with Response.json`), samples: samples['post.echo'], ...common }),
    figure('cpu.route', 'CPU per request: /devices/<device>/readings/<n> among 50 routes', 'µs', cpuMicros('route'), { reference: hello, detail: how('route', eight), samples: samples['route'], ...common }),
    figure('cpu.route.middleware', 'CPU per request: the same with CORS + Logging (NoOpLogger)', 'µs', cpuMicros('route.middleware'), { reference: routeOnly, detail: how('route.middleware', `${eight}, with an Origin header`), samples: samples['route.middleware'], ...common }),
    figure('rps.hello.1', 'Requests per second: hello JSON, 1 keep-alive client', '/s', rate('hello.keepalive.1'), { reference: { name: 'minimal net server', value: rate('minimal.keepalive.1') }, detail: perSecond('hello.keepalive.1', 'requests'), samples: samples['hello.keepalive.1'], ...common }),
    figure('rps.hello.8', 'Requests per second: hello JSON, 8 keep-alive clients', '/s', rate('hello.keepalive'), { reference: { name: 'minimal net server', value: rate('minimal.keepalive') }, detail: perSecond('hello.keepalive', 'requests'), samples: samples['hello.keepalive'], ...common }),
    figure('ws.roundtrips', 'WebSocket echo round trips per second (125-byte text, 1 client)', '/s', rate('ws.echo.1'), { detail: perSecond('ws.echo.1', 'round trips'), samples: samples['ws.echo.1'], ...common }),
    figure('cpu.ws.message', 'CPU per WebSocket message (125-byte text echoed, 8 clients)', 'µs', cpuMicros('ws.echo.8'), { reference: hello, detail: how('ws.echo.8', 'echoes'), samples: samples['ws.echo.8'], ...common }),
    figure('sse.events', 'SSE events per second to each of 4 clients', '/s', rate('sse.4'), {
      detail: `an SSEHub broadcasting on every main-loop pass for ${cfg.sseMs} ms; events each client received per second, median of ${samples['sse.4'].length} runs; events the queues dropped: ${samples['sse.4'].map((s) => s.gaps).join(', ')}`, samples: samples['sse.4'], ...common,
    }),
  ];
}

function formatMicros(seconds) {
  return String(Math.round(seconds * 1e7) / 10);
}

const CLIENT_NAMES = {
  http: 'Node http client',
  raw: 'raw socket, one write per request',
};
const CLIENT_HOW = {
  http: "Node's http.request with a keep-alive Agent (maxSockets 1); Node 20 sends each request (head and body) in one writev",
  raw: 'a net.Socket with TCP_NODELAY writing each request in one write, as curl does',
};

function latencyFigures(samples, build, date, cfg) {
  const common = { build: build.label, version: build.version, date };
  const round = (ms) => Math.round(ms * 1000) / 1000;
  const runs = (key) => samples[key].map((run) => ({ ...run, latencies: run.latencies.map(round) }));
  const mid = (key) => median(samples[key].map((run) => run.median));
  const p99 = (key) => percentile(samples[key].flatMap((run) => run.latencies), 99);
  const ms = (value) => value.toFixed(2);
  const how = (key) => {
    const list = samples[key];
    const count = list.reduce((n, run) => n + run.latencies.length, 0);
    const bytes = samples[key.replace(/\.http$/, '.raw')][0].responseBytes;
    return `${CLIENT_HOW[key.slice(key.lastIndexOf('.') + 1)]}; per run a fresh connection, ${cfg.latencyWarmup} warm-up requests, then ${cfg.latencyRequests} timed ones, each sent once the previous answer was complete (its status and body checked); median of ${list.length} runs' medians (${list.map((run) => ms(run.median)).join(', ')} ms), p99 of all ${count} requests ${ms(p99(key))} ms, slowest ${ms(Math.max(...list.map((run) => run.max)))} ms; the response is ${bytes} bytes (head and body): ${Math.ceil(bytes / 536)} piece(s) of Espruino's 536`;
  };
  const rows = [];
  for (const client of CLIENTS) {
    const name = CLIENT_NAMES[client];
    const key = (scenario) => `${scenario}.${client}`;
    const hello = { name: `hello GET, ${name}`, value: mid(key('hello')) };
    const helloP99 = { name: `hello GET, ${name}`, value: p99(key('hello')) };
    rows.push(
      figure(`latency.hello.${client}`, `Latency, median: GET hello JSON, one reused keep-alive connection (${name})`, 'ms', mid(key('hello')), {
        reference: { name: `minimal net server, ${name}`, value: mid(key('minimal')) }, detail: `${how(key('hello'))}. The net server: ${how(key('minimal'))}`, samples: runs(key('hello')), ...common,
      }),
      figure(`latency.hello.p99.${client}`, `Latency, p99: GET hello JSON, one reused keep-alive connection (${name})`, 'ms', p99(key('hello')), {
        reference: { name: `minimal net server, ${name}`, value: p99(key('minimal')) }, detail: 'the 99th percentile of every timed request of the runs above (both servers)', ...common,
      }),
      figure(`latency.post.${client}`, `Latency, median: POST ${Buffer.byteLength(SMALL_POST_BODY)}-byte JSON to /echo, one reused keep-alive connection (${name})`, 'ms', mid(key('post')), {
        reference: hello, detail: `${how(key('post'))}; req.json parsed and sent back with Response.json`, samples: runs(key('post')), ...common,
      }),
      figure(`latency.post.p99.${client}`, `Latency, p99: POST ${Buffer.byteLength(SMALL_POST_BODY)}-byte JSON to /echo, one reused keep-alive connection (${name})`, 'ms', p99(key('post')), {
        reference: helloP99, detail: 'the 99th percentile of every timed request of the runs above', ...common,
      }),
      ...BIG_SIZES.map((size) => figure(`latency.big.${size}.${client}`, `Latency, median: GET a ${size / 1024} KB text body (bench/apps/big.ts), one reused keep-alive connection (${name})`, 'ms', mid(key('big.' + size)), {
        reference: hello, detail: `${how(key('big.' + size))}. More than one piece: the second waits for the client's delayed ACK of the first (Nagle; 40 ms on Linux)`, samples: runs(key('big.' + size)), ...common,
      })),
    );
  }
  return rows;
}

const STACK_WHAT = "KB of ulimit -s on the 64-bit ESP32-memory Linux build (an ESP32's 25 KB task stack ≈ 44 KB here, a C3's 15 KB ≈ 30 KB)";

function stackFigures(stacks, build, date) {
  const common = { build: build.label, version: build.version, date };
  const reference = stacks.reference && !stacks.reference.error && stacks.reference.value !== null ? { name: 'minimal net server', value: stacks.reference.value } : null;
  return STACK_APPS.map((app) => {
    const result = stacks[app.key];
    const id = 'stack.' + app.key;
    const label = `Smallest C stack: ${app.label}`;
    const detail = `${STACK_WHAT}: the smallest at which it boots and answers the scenario correctly, bisected between 8 and ${result.hi} KB (setarch -R: no address randomisation; a crash, a wrong answer or silence is "does not fit"). Scenario: ${app.what}`;
    const extra = app.reference ? {} : { reference };
    if (result.error) return figure(id, label, 'KB', null, { ...common, ...extra, detail, error: result.error });
    if (result.value === null) return figure(id, label, 'KB', null, { ...common, ...extra, detail: `does not fit even ${result.hi} KB. ${detail}`, above: result.hi });
    return figure(id, label, 'KB', result.value, { ...common, ...extra, detail });
  });
}

function memoryFigures(memory, builds, date) {
  const { results } = memory;
  const esp32 = { build: builds.esp32.label, version: builds.esp32.version, date };
  const row = (id, key, label, unit, extra) => {
    const result = results[key];
    if (result.error) return figure(id, label, unit, null, { ...esp32, ...extra, error: result.error });
    return figure(id, label, unit, result.value, { ...esp32, samples: result.samples, detail: result.detail, ...extra(result) });
  };
  const empty = (result) => ({ reference: { name: 'the interpreter with nothing loaded', value: result.reference }, noRatio: true, detail: `examples/basic.ts built for esp32 (${result.bundleBytes} bytes): usage a second after the start, nothing connected yet` });
  return [
    row('jsvars.boot.storage', 'boot.storage', 'JsVars after boot, examples/basic.ts from Storage (.bootcde, as flashed)', 'JsVars', empty),
    row('jsvars.boot.ram', 'boot.ram', 'JsVars after boot, examples/basic.ts from RAM (espruino bundle.js)', 'JsVars', empty),
    row('jsvars.boot.hello', 'boot.hello', 'JsVars after boot, the hello app from Storage (no plug-in)', 'JsVars', empty),
    ...Object.keys(results).filter((key) => key.startsWith('boot.plugin.')).map((key) => row('jsvars.' + key, key, `JsVars after boot, the hello app + the ${key.slice('boot.plugin.'.length)} plug-in, from Storage`, 'JsVars',
      (result) => ({ reference: { name: 'the hello app', value: result.reference }, noRatio: true, detail: `the plug-in's own cost: ${result.reference === null ? '?' : result.value - result.reference} JsVars at boot (${result.bundleBytes} bytes)` }))),
    row('jsvars.per.keepalive', 'per.keepalive', 'JsVars per idle keep-alive connection', 'JsVars', () => ({})),
    row('jsvars.per.websocket', 'per.websocket', 'JsVars per open WebSocket', 'JsVars', () => ({})),
    row('jsvars.per.sse', 'per.sse', 'JsVars per SSE client', 'JsVars', () => ({})),
    row('capacity.c3', 'capacity', 'Idle keep-alive connections that fit a 4095-JsVar heap (ESP32-C3), examples/basic.ts loaded', 'connections', () => ({ build: builds.c3.label, version: builds.c3.version })),
    row('jsvars.leak', 'leak', 'Leak check: usage growth after the mixed traffic', 'JsVars', (result) => ({ reference: { name: 'baseline usage', value: result.reference }, noRatio: true })),
  ];
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const cfg = args.quick ? CONFIGS.quick : CONFIGS.full;
  const started = new Date();
  const date = started.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  const log = (message) => console.log(message);
  const results = {
    date,
    config: args.quick ? 'quick' : 'full',
    settings: cfg,
    host: { cpus: os.cpus().length, loadAverage: os.loadavg().map((l) => l.toFixed(2)).join(' '), node: process.version },
    builds: {},
    figures: [],
    notes: [
      'CPU per request is the interpreter process\'s user + system time from /proc/<pid>/stat over a run, divided by the requests answered. Espruino\'s Linux main loop polls without sleeping while a socket listens (about a whole core when idle), so the CPU figures are taken with 8 clients, which keep it busy: the time between requests is then not counted.',
      'All servers of the CPU figures run at once on the default build; each is stopped (SIGSTOP) while another is measured, and the scenarios take turns in every repetition after a warm-up run, so the machine\'s load changes them alike.',
      'Load: raw sockets over loopback, one request in flight per connection (no pipelining), every response checked (status, and the body of a connection\'s first answer to each request).',
      'JsVars: process.memory().usage (it collects garbage first), typed on the interpreter\'s console. The boot figures are the first reading, a second after the interpreter started; later readings include the reading\'s own line in the console history (the same line each time, kept once). A 64-bit Linux build\'s JsVar is 18 bytes, not the ESP32\'s 14: counts of objects match a device, long strings take somewhat fewer JsVars than on it.',
      'CPU and throughput are measured with bundles loaded from RAM: the Linux build reads code kept in Storage through its flash file (opened, read and closed for every read; a device maps its flash into memory), which made Storage-run code several times slower there. The JsVar figures run from Storage as on a flashed board, except the RAM boot figure and the leak check.',
      'The bench apps (bench/apps/) allow 32 connections and 1,000,000 requests per keep-alive connection (the reference never closes one); the memory figures lift examples/basic.ts\'s maxConns and keepAliveTimeout on the console to hold idle connections while they are counted.',
      'Latency: sequential requests on one reused keep-alive connection (one in flight, the next sent when the previous answer is complete), after a warm-up, on the default build, with the other servers stopped (SIGSTOP) meanwhile. Espruino sends socket data in pieces of 536 bytes and never sets TCP_NODELAY: on a reused connection a response of more than 536 bytes (head included) waits for the client\'s delayed ACK of its first piece (Nagle), 40 ms on Linux and up to 200 ms on Windows.',
      'Smallest C stack: bench/stack.mjs starts each app on the ESP32-memory build under ulimit -s K without address randomisation and bisects K; the Linux build segfaults where a board would throw "Too much recursion" or reset. The 64-bit Linux process has used about 9 KB before its main loop runs, so an ESP32\'s 25 KB task stack is about 44 KB here and a C3\'s 15 KB about 30 KB.',
    ],
  };

  const runs = (section) => !args.only || args.only === section;
  if (runs('sizes')) log('Sizes (minified, board esp32):');
  for (const size of runs('sizes') ? await measureSizes() : []) {
    const id = 'size.' + size.key;
    const detail = size.key === 'library' ? 'built with --library, as npm run build:module stores it'
      : size.over !== undefined ? `as npm run flash builds it; the plug-in's own cost: ${size.over} bytes over the hello app`
        : size.protocolCode !== undefined ? `as npm run flash builds it; ${size.protocolCode ? 'HOLDS' : 'no'} WebSocket or SSE code` : 'as npm run flash builds it';
    const row = figure(id, `Size: ${size.label}`, 'bytes', size.bytes === undefined ? null : size.bytes, { build: 'build.mjs (esbuild + TypeScript ES5, minified), --board esp32', version: null, date, detail, ...(size.error ? { error: size.error } : {}) });
    results.figures.push(row);
  }

  const espruino = process.env.ESPRUINO;
  if (!espruino) {
    const note = 'ESPRUINO is not set: only bundle sizes were measured. Set ESPRUINO (and ESPRUINO_ESP32, ESPRUINO_C3) to the interpreter binaries for the other figures.';
    log(note);
    results.notes.unshift(note);
  } else {
    const esp32 = process.env.ESPRUINO_ESP32 || espruino;
    const c3 = process.env.ESPRUINO_C3 || esp32;
    if (runs('throughput')) {
      log(`CPU and throughput on ${espruino}:`);
      try {
        const { samples, build } = await runThroughput(espruino, cfg, log);
        results.builds.default = describe('ESPRUINO', espruino, build);
        results.figures.push(...throughputFigures(samples, results.builds.default, date, cfg));
      } catch (e) {
        log(`  FAILED: ${e.stack}`);
        results.figures.push(figure('throughput', 'CPU and throughput figures', '', null, { build: espruino, date, error: errorSummary(e) }));
      }
    }
    if (runs('latency')) {
      log(`Latency on ${espruino}:`);
      try {
        const { samples, build } = await runLatency(espruino, cfg, log);
        results.builds.default ||= describe('ESPRUINO', espruino, build);
        results.figures.push(...latencyFigures(samples, results.builds.default, date, cfg));
      } catch (e) {
        log(`  FAILED: ${e.stack}`);
        results.figures.push(figure('latency', 'Latency figures', '', null, { build: espruino, date, error: errorSummary(e) }));
      }
    }
    if (runs('memory')) {
      log(`Memory on ${esp32}, capacity on ${c3}:`);
      try {
        const memory = await runMemory({ esp32, c3 }, cfg, log);
        results.builds.esp32 = describe(process.env.ESPRUINO_ESP32 ? 'ESPRUINO_ESP32' : 'ESPRUINO', esp32, memory.esp32Build, process.env.ESPRUINO_ESP32 ? '' : 'ESPRUINO_ESP32 is not set: memory figures from the default build');
        const c3Variable = ['ESPRUINO_C3', 'ESPRUINO_ESP32', 'ESPRUINO'].find((name) => process.env[name]);
        results.builds.c3 = describe(c3Variable, c3, memory.c3Build, process.env.ESPRUINO_C3 ? '' : 'ESPRUINO_C3 is not set: the capacity figure counts what fits this heap instead');
        results.figures.push(...memoryFigures(memory, results.builds, date));
      } catch (e) {
        log(`  FAILED: ${e.stack}`);
        results.figures.push(figure('memory', 'Memory figures', '', null, { build: esp32, date, error: errorSummary(e) }));
      }
    }
  }

  if (espruino && runs('stack')) {
    const esp32 = process.env.ESPRUINO_ESP32 || espruino;
    log(`Smallest C stack on ${esp32}:`);
    try {
      const stacks = await runStacks(cfg, log);
      if (!results.builds.esp32) {
        const interpreter = await startInterpreter(esp32);
        try {
          results.builds.esp32 = describe(process.env.ESPRUINO_ESP32 ? 'ESPRUINO_ESP32' : 'ESPRUINO', esp32, await describeBuild(interpreter), process.env.ESPRUINO_ESP32 ? '' : 'ESPRUINO_ESP32 is not set: memory figures from the default build');
        } finally {
          await interpreter.stop();
        }
      }
      results.figures.push(...stackFigures(stacks, results.builds.esp32, date));
    } catch (e) {
      log(`  FAILED: ${e.stack}`);
      results.figures.push(figure('stack', 'Smallest C stack figures', '', null, { build: esp32, date, error: errorSummary(e) }));
    }
  }

  results.seconds = Math.round((Date.now() - started.getTime()) / 1000);
  writeResults(args.out, results);
  log('\n' + consoleTable(results.figures));
  log(`\n${results.figures.length} figures in ${results.seconds} s; written to ${path.join(args.out, 'RESULTS.md')} and results.json`);
  const failed = results.figures.filter((f) => f.error);
  if (failed.length) {
    console.error(`${failed.length} figure(s) could not be measured: ${failed.map((f) => f.id).join(', ')}`);
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e.stack || e);
    process.exit(1);
  });
}
