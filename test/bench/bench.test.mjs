// The benchmark harness (npm run bench, bench/): its load generators against
// the bench apps over real sockets (emulation, or the real interpreter with
// ESPRUINO set), and whole runs: without ESPRUINO it measures sizes only and
// exits 0; with it, a --quick run measures every figure and writes valid results.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApp } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';
import { ResponseReader, runHttp, runWebSocketEcho, openEventStream, closeAll, request, webSocketSession } from '../../bench/load.mjs';
import { REQUESTS, WS_PAYLOAD, jsonBody } from '../../bench/throughput.mjs';
import { TARGETS } from '../../bench/run.mjs';
import { percentile, LATENCY_SCENARIOS, SMALL_POST_BODY } from '../../bench/latency.mjs';
import { STACK_APPS } from '../../bench/stack-figures.mjs';
import { stackClient } from '../../bench/stack.mjs';
import { startServer } from '../helpers/server.mjs';
import { freePort } from '../helpers/ports.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs bench/run.mjs with `args` and `env` (ESPRUINO* removed unless given): { code, out, dir }. */
function runBench(args, env, timeoutMs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-test-'));
  const base = { ...process.env };
  for (const name of ['ESPRUINO', 'ESPRUINO_ESP32', 'ESPRUINO_C3']) delete base[name];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bench', 'run.mjs'), ...args, '--out', dir], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out, dir }); });
  });
}

function readResults(dir) {
  return { json: JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')), md: fs.readFileSync(path.join(dir, 'RESULTS.md'), 'utf8') };
}

/** RESULTS.md's table: the header cells and one array of cells per row. */
function markdownTable(md) {
  const lines = md.split('\n').filter((line) => line.startsWith('| '));
  const split = (line) => line.slice(2, -2).split(/(?<!\\) \| /);
  return { header: split(lines[0]), rows: lines.slice(2).map(split) };
}

const COLUMNS = ['figure', 'value', 'reference', 'ratio', 'target', 'met?', 'build', 'interpreter version', 'date'];

test('ResponseReader: the same responses whatever the split, a body until close, and the bytes after a 101', () => {
  const stream = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello' +
    'HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n' +
    'HTTP/1.1 404 Not Found\r\ncontent-length:  2\r\n\r\n{}';
  for (let cut = 0; cut <= stream.length; cut++) {
    const reader = new ResponseReader();
    const got = [...reader.feed(Buffer.from(stream.slice(0, cut), 'latin1')), ...reader.feed(Buffer.from(stream.slice(cut), 'latin1'))];
    assert.deepEqual(got.map((r) => [r.status, r.body.toString('latin1'), r.close]), [[200, 'hello', false], [204, '', true], [404, '{}', false]], `split at ${cut}`);
  }
  const untilClose = new ResponseReader();
  assert.deepEqual(untilClose.feed(Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"a"')), []);
  untilClose.feed(Buffer.from(':1}'));
  assert.equal(untilClose.end().body.toString(), '{"a":1}');
  const upgrade = new ResponseReader();
  const [switched] = upgrade.feed(Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi', 'latin1'));
  assert.equal(switched.status, 101);
  assert.equal(upgrade.rest.toString('latin1'), '\x81\x02hi');
});

test('the POST body is JSON of exactly 1 KB', () => {
  const body = jsonBody(1024);
  assert.equal(Buffer.byteLength(body), 1024);
  assert.ok(JSON.parse(body).readings.length > 10);
});

test('latency: nearest-rank percentiles; the POST body is about 400 bytes of JSON', () => {
  const values = Array.from({ length: 200 }, (_, i) => 200 - i);
  assert.equal(percentile(values, 50), 100);
  assert.equal(percentile(values, 99), 198);
  assert.equal(percentile([3], 99), 3);
  assert.equal(Buffer.byteLength(SMALL_POST_BODY), 400);
  assert.ok(JSON.parse(SMALL_POST_BODY));
});

describe(`the stack figures' scenarios pass on their apps with the usual stack (${lane()})`, () => {
  for (const app of STACK_APPS) {
    test(app.key, { timeout: 60000 }, async () => {
      let server;
      if (app.reference) {
        const port = await freePort();
        const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-test-')), 'reference.js');
        fs.writeFileSync(script, `var PORT = ${port};\n` + fs.readFileSync(path.join(ROOT, 'bench', 'reference', app.reference), 'utf8'));
        server = await startServer(script, { port, mode: 'esp32' });
      } else {
        server = await startApp(app.entry, { mode: 'esp32', board: app.board, fromStorage: app.fromStorage });
      }
      const client = stackClient(server.port);
      try {
        await app.scenario(client, server);
      } finally {
        client.close();
        await server.stop();
      }
    });
  }
});

test(`latency: bench/apps/big.ts answers every latency scenario (${lane()})`, { timeout: 60000 }, async () => {
  const app = await startApp('bench/apps/big.ts', { mode: 'linux' });
  try {
    for (const { request: req } of LATENCY_SCENARIOS.filter((s) => s.server !== 'minimal')) {
      const res = await fetch(app.url + req.path, { method: req.method, headers: req.headers, body: req.body || undefined });
      assert.equal(res.status, 200, req.path);
      assert.equal(await res.text(), req.expected, req.path);
    }
  } finally {
    await app.stop();
  }
});

describe(`bench load generators against the bench apps (${lane()})`, () => {
  const apps = {};
  before(async () => {
    for (const name of ['hello', 'routes-middleware', 'websocket', 'sse']) apps[name] = await startApp(`bench/apps/${name}.ts`, { mode: 'linux' });
  });
  after(async () => { for (const app of Object.values(apps)) await app.stop(); });

  test('keep-alive, close and POST requests are all answered and checked', async () => {
    const { port } = apps.hello;
    assert.equal((await runHttp({ port, script: [REQUESTS.helloKeepAlive], total: 40, concurrency: 4 })).completed, 40);
    assert.equal((await runHttp({ port, script: [REQUESTS.helloClose], total: 12, concurrency: 3, perConnection: 1 })).completed, 12);
    assert.equal((await runHttp({ port, script: [REQUESTS.postEcho], total: 6, concurrency: 2 })).completed, 6);
  });

  test('a wrong status or body fails the run', async () => {
    const { port } = apps.hello;
    await assert.rejects(runHttp({ port, script: [{ ...REQUESTS.helloKeepAlive, status: 201 }], total: 3 }), /expected 201, got: HTTP\/1.1 200/);
    await assert.rejects(runHttp({ port, script: [{ ...REQUESTS.helloKeepAlive, body: '{}' }], total: 3 }), /unexpected body/);
    await assert.rejects(runHttp({ port, script: [{ bytes: request('GET /nope HTTP/1.1', ['Host: bench']), status: 200 }], total: 1 }), /got: HTTP\/1.1 404/);
  });

  test('the two-parameter route answers through CORS + Logging', async () => {
    assert.equal((await runHttp({ port: apps['routes-middleware'].port, script: [REQUESTS.route], total: 10, concurrency: 2 })).completed, 10);
  });

  test('WebSocket echoes are counted and a session closes cleanly', async () => {
    const { completed } = await runWebSocketEcho({ port: apps.websocket.port, path: '/ws', payload: WS_PAYLOAD, total: 30, clients: 3 });
    assert.equal(completed, 30);
    await webSocketSession(apps.websocket.port, '/ws', WS_PAYLOAD, 2);
  });

  test('SSE clients count the hub\'s numbered events between start and stop', async () => {
    const { port } = apps.sse;
    const streams = await Promise.all([0, 1].map(() => openEventStream(port, '/events')));
    const post = (p) => runHttp({ port, script: [{ bytes: request(`POST ${p} HTTP/1.1`, ['Host: bench']), status: 200 }], total: 1 });
    await post('/events/start');
    await new Promise((r) => setTimeout(r, 300));
    await post('/events/stop');
    await new Promise((r) => setTimeout(r, 300));
    closeAll(streams.map((s) => s.socket));
    const [one, two] = streams.map((s) => s.stats);
    assert.ok(one.events > 0 && two.events > 0, `events received: ${one.events}, ${two.events}`);
    assert.equal(one.last, two.last, 'both clients got the last event broadcast');
  });
});

test('without ESPRUINO: says so, measures the bundle sizes only, writes both files, exits 0', { timeout: 120000 }, async () => {
  const { code, out, dir } = await runBench(['--quick'], {}, 110000);
  try {
    assert.equal(code, 0, out);
    assert.match(out, /ESPRUINO is not set: only bundle sizes were measured/);
    const { json, md } = readResults(dir);
    assert.ok(json.figures.length >= 2);
    for (const figure of json.figures) {
      assert.match(figure.id, /^size\./);
      assert.ok(Number.isInteger(figure.value) && figure.value > 1000, `${figure.id}: ${figure.value}`);
    }
    const hello = json.figures.find((f) => f.id === 'size.hello');
    assert.equal(hello.met, hello.value <= 24 * 1024);
    assert.match(hello.detail, /; no WebSocket or SSE code/);
    assert.ok(json.figures.some((f) => f.id === 'size.example.basic'));
    for (const plugin of ['websocket', 'sse', 'static', 'cors', 'logging', 'auth', 'security-headers', 'wifi']) {
      const row = json.figures.find((f) => f.id === 'size.plugin.' + plugin);
      assert.equal(row.detail.match(/own cost: (-?\d+) bytes over the hello app/)[1], String(row.value - hello.value), plugin);
      assert.ok(row.value > hello.value, plugin);
    }
    const { header, rows } = markdownTable(md);
    assert.deepEqual(header, COLUMNS);
    assert.equal(rows.length, json.figures.length);
    assert.match(md, /ESPRUINO is not set/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test(`with ESPRUINO: a --quick run measures every figure (${lane()})`, { skip: !process.env.ESPRUINO && 'needs the real interpreter (set ESPRUINO)', timeout: 600000 }, async () => {
  const env = {};
  for (const name of ['ESPRUINO', 'ESPRUINO_ESP32', 'ESPRUINO_C3']) if (process.env[name]) env[name] = process.env[name];
  const { code, out, dir } = await runBench(['--quick'], env, 590000);
  try {
    assert.equal(code, 0, out);
    const { json, md } = readResults(dir);
    const ids = json.figures.map((f) => f.id);
    for (const id of ['cpu.hello.keepalive.1', 'cpu.hello.keepalive', 'cpu.hello.keepalive.c-http', 'cpu.hello.close', 'cpu.post.echo', 'cpu.route', 'cpu.route.middleware',
      'rps.hello.1', 'rps.hello.8', 'ws.roundtrips', 'cpu.ws.message', 'sse.events', 'jsvars.boot.storage', 'jsvars.boot.ram',
      'jsvars.per.keepalive', 'jsvars.per.websocket', 'jsvars.per.sse', 'capacity.c3', 'jsvars.leak', 'jsvars.boot.hello',
      'jsvars.boot.plugin.websocket', 'jsvars.boot.plugin.sse', 'jsvars.boot.plugin.static', 'jsvars.boot.plugin.wifi',
      'latency.hello.http', 'latency.hello.raw', 'latency.hello.p99.http', 'latency.hello.p99.raw', 'latency.post.http', 'latency.post.raw',
      'latency.post.p99.http', 'latency.post.p99.raw', 'latency.big.2048.http', 'latency.big.10240.raw',
      'stack.reference', 'stack.hello', 'stack.basic', 'stack.full', 'stack.three-middlewares']) assert.ok(ids.includes(id), `${id} missing`);
    for (const figure of json.figures) {
      assert.equal(figure.error, undefined, figure.id);
      // A C stack beyond the bisection's top is reported as "> N KB", without a number.
      if (figure.above !== undefined) assert.ok(figure.id.startsWith('stack.') && figure.value === null && figure.above > 0, figure.id);
      else assert.ok(Number.isFinite(figure.value), `${figure.id}: ${figure.value}`);
      if (!figure.id.startsWith('size.')) assert.match(figure.version, /^2v\d\d/, figure.id);
    }
    const stackReference = json.figures.find((f) => f.id === 'stack.reference');
    assert.ok(stackReference.value >= 8 && stackReference.value <= 64, `the net server's stack: ${stackReference.value}`);
    assert.match(json.figures.find((f) => f.id === 'stack.hello').detail, /ulimit -s on the 64-bit ESP32-memory Linux build/);
    const latency = json.figures.find((f) => f.id === 'latency.hello.raw');
    assert.equal(latency.reference.name, 'minimal net server, raw socket, one write per request');
    assert.ok(latency.value > 0 && latency.reference.value > 0);
    assert.equal(json.figures.find((f) => f.id === 'latency.post.raw').reference.value, latency.value, 'the POST is compared with the GET');
    for (const id of Object.keys(TARGETS)) assert.equal(typeof json.figures.find((f) => f.id === id).met, 'boolean', id);
    const boot = json.figures.find((f) => f.id === 'jsvars.boot.storage');
    assert.ok(boot.value < json.figures.find((f) => f.id === 'jsvars.boot.ram').value, 'code in flash takes fewer JsVars than in RAM');
    assert.ok(boot.reference.value > 0 && boot.reference.value < boot.value);
    if (env.ESPRUINO_ESP32) assert.match(boot.build, /^ESPRUINO_ESP32=.*byte strings, a fixed heap of \d+ JsVars/);
    else assert.match(boot.build, /ESPRUINO_ESP32 is not set/);
    assert.match(json.figures.find((f) => f.id === 'cpu.hello.keepalive').build, /^ESPRUINO=/);
    const { header, rows } = markdownTable(md);
    assert.deepEqual(header, COLUMNS);
    assert.equal(rows.length, json.figures.length);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
