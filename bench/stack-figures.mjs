// The smallest C stack each app shape needs (bench/stack.mjs bisects `ulimit -s`
// on the ESP32-memory build, without address randomisation): the minimal `net`
// server, the hello app, examples/basic.ts, examples/full.ts and three async
// middlewares. Each scenario checks every answer (status and body), so a wrong
// answer counts as "does not fit", like a crash.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import WebSocket from 'ws';
import { buildBundle } from '../build.mjs';
import { webFolderPreamble } from '../tools/web-assets.mjs';
import { freePort } from '../test/helpers/ports.mjs';
import { startServer } from '../test/helpers/server.mjs';
import { smallestStack, stackClient } from './stack.mjs';
import { ROOT } from './servers.mjs';
import { jsonBody } from './throughput.mjs';
import { errorSummary } from './report.mjs';

const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'microserver-bench-stack-'));
process.on('exit', () => fs.rmSync(WORK, { recursive: true, force: true }));

const HELLO_BODY = '{"message":"Hello from MicroServer"}';
const ECHO_BODY = jsonBody(400);
const same = (expected) => (res) => res.body === expected;
const json = (test) => (res) => {
  try {
    return test(JSON.parse(res.body));
  } catch {
    return false;
  }
};
const postJson = (path, body, headers = {}) => ({ method: 'POST', path, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers }, body });

/** GET / (the hello JSON) and POST /echo of a 400-byte JSON body, on one keep-alive connection. */
async function helloScenario(client) {
  await client.request({ path: '/' }, 200, same(HELLO_BODY));
  await client.request(postJson('/echo', ECHO_BODY), 200, same(ECHO_BODY));
  await client.request({ path: '/' }, 200, same(HELLO_BODY));
}

/** A WebSocket to `path` (the `ws` package): the messages received until the server's close, after sending `send(received)`'s answers. */
function webSocketExchange(port, wsPath, reply, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${wsPath}`);
    const messages = [];
    const timer = setTimeout(() => { ws.terminate(); reject(new Error(`WebSocket ${wsPath}: no close within ${timeoutMs} ms (got ${JSON.stringify(messages)})`)); }, timeoutMs);
    ws.on('message', (m) => {
      messages.push(m.toString());
      const next = reply(messages);
      if (next === null) ws.close();
      else ws.send(next);
    });
    ws.on('close', () => { clearTimeout(timer); resolve(messages); });
    ws.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/** The app shapes: entry (or a reference script), board, and a scenario(client, server, port) that throws on a wrong answer. */
export const STACK_APPS = [
  {
    key: 'reference', label: 'the minimal net server (bench/reference/minimal-server.js)', reference: 'minimal-server.js',
    what: 'GET / twice on one keep-alive connection',
    scenario: async (client) => {
      await client.request({ path: '/' }, 200, same(HELLO_BODY));
      await client.request({ path: '/' }, 200, same(HELLO_BODY));
    },
  },
  {
    key: 'hello', label: 'hello app (bench/apps/hello.ts)', entry: 'bench/apps/hello.ts', board: 'esp32',
    what: 'GET /, POST /echo of a 400-byte JSON body, GET / on one keep-alive connection',
    scenario: helloScenario,
  },
  {
    key: 'basic', label: 'examples/basic.ts', entry: 'examples/basic.ts', board: 'esp32',
    what: 'GET /, POST /echo (text), an empty POST /echo (400), GET /stream (five chunks from a generator of promises)',
    scenario: async (client) => {
      await client.request({ path: '/' }, 200, same(HELLO_BODY));
      await client.request({ method: 'POST', path: '/echo', headers: { 'Content-Type': 'text/plain', 'Content-Length': 11 }, body: 'hello board' }, 200, same('hello board'));
      await client.request({ method: 'POST', path: '/echo', headers: { 'Content-Length': 0 } }, 400, json((b) => b.error === 'Empty body'));
      await client.request({ path: '/stream' }, 200, same('chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n'));
    },
  },
  {
    key: 'full', label: 'examples/full.ts', entry: 'examples/full.ts', board: 'linux', web: true, fromStorage: true,
    what: 'GET / and /gc, POST /led on, off and without a state (400), GET /static/ and /static/app.js (gzipped, from Storage), a WebSocket echo with the ws package (Welcome!, one echo, close); Logging and CORS on every request; the bundle runs from Storage, as on a flashed board (loaded into RAM it no longer fits the ESP32 heap while it loads)',
    scenario: async (client, server) => {
      await client.request({ path: '/' }, 200, json((b) => b.status === 'online' && typeof b.memoryFree === 'number'));
      await client.request({ path: '/gc' }, 200, json((b) => typeof b.free === 'number'));
      await client.request(postJson('/led', '{"state":"on"}'), 200, json((b) => b.led === 'on'));
      await client.request(postJson('/led', '{"state":0}'), 200, json((b) => b.led === 'off'));
      await client.request(postJson('/led', '{}'), 400, json((b) => b.error === "Missing 'state' field"));
      const page = fs.readFileSync(path.join(ROOT, 'examples', 'www', 'index.html'), 'utf8');
      const gunzipped = (res) => res.headers['content-encoding'] === 'gzip' && zlib.gunzipSync(Buffer.from(res.body, 'latin1')).toString('utf8');
      await client.request({ path: '/static/', headers: { 'Accept-Encoding': 'gzip' } }, 200, (res) => gunzipped(res) === page);
      await client.request({ path: '/static/app.js', headers: { 'Accept-Encoding': 'gzip' } }, 200, (res) => /\/ws\/echo/.test(gunzipped(res) || ''));
      const messages = await webSocketExchange(server.port, '/ws/echo', (got) => (got.length === 1 ? 'hello board' : null));
      if (messages.join('|') !== 'Welcome!|Echo: hello board') throw new Error(`WebSocket echo: ${JSON.stringify(messages)}`);
    },
  },
  {
    key: 'three-middlewares', label: 'three async middlewares (bench/apps/three-middlewares.ts)', entry: 'bench/apps/three-middlewares.ts', board: 'esp32',
    what: 'GET / with an Origin, GET /private/1 with and without "Authorization: Bearer secret" (200, 401), a CORS preflight (204): an async middleware, Bearer auth with an async verify and CORS around async handlers',
    // No POST /echo: its async handler reading req.json crashed the interpreter (SIGSEGV) at any
    // stack size when the body held an array or a long string, on both builds (December 2026).
    scenario: async (client) => {
      await client.request({ path: '/', headers: { Origin: 'http://bench.example' } }, 200, (res) => res.body === HELLO_BODY && res.headers['x-timing'] === 'app' && !!res.headers['access-control-allow-origin']);
      await client.request({ path: '/private/1', headers: { Authorization: 'Bearer secret' } }, 200, same('{"id":"1"}'));
      await client.request({ path: '/private/1' }, 401);
      await client.request({ method: 'OPTIONS', path: '/echo', headers: { Origin: 'http://bench.example', 'Access-Control-Request-Method': 'POST' } }, 204);
    },
  },
];

/** Builds an app (or the reference script) for a free port: { bundle, port }. */
async function prepare(app) {
  const port = await freePort();
  const out = path.join(WORK, `${app.key}-${port}.js`);
  if (app.reference) {
    fs.writeFileSync(out, `var PORT = ${port};\n` + fs.readFileSync(path.join(ROOT, 'bench', 'reference', app.reference), 'utf8'));
  } else {
    const entry = path.resolve(ROOT, app.entry);
    const { code } = await buildBundle(entry, { out, port, board: app.board });
    // The page's files go into Storage first, as npm start does (examples/full.ts serves them).
    const web = app.web ? webFolderPreamble(entry, code) : { count: 0 };
    if (web.count) fs.writeFileSync(out, web.code + code);
  }
  return { bundle: out, port };
}

/**
 * Runs the scenario once with the process's usual stack (8 MB), so that a
 * wrong expectation fails with its message instead of reading as "does not fit".
 */
async function check(app, bundle, port, timeoutMs) {
  const server = await startServer(bundle, { port, mode: 'esp32', timeoutMs: 10000, fromStorage: !!app.fromStorage });
  const client = stackClient(port);
  try {
    let timer;
    const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`the scenario took over ${timeoutMs} ms`)), timeoutMs); });
    await Promise.race([app.scenario(client, server), timeout]).finally(() => clearTimeout(timer));
    await new Promise((r) => setTimeout(r, 100));
    if (server.exitStatus()) throw new Error(`the interpreter exited: ${JSON.stringify(server.exitStatus())}`);
    const complaint = /.*(Too much recursion|Uncaught|Error).*/.exec(server.output());
    if (complaint) throw new Error(`the interpreter printed: ${complaint[0]}`);
  } finally {
    client.close();
    await server.stop();
  }
}

/**
 * The smallest `ulimit -s` (KB) for each app shape, on the build that
 * mode 'esp32' runs (ESPRUINO_ESP32, else ESPRUINO). Resolves with
 * { key: { value (KB, or null when even `hi` did not fit), hi, error? } }.
 */
export async function runStacks(cfg, log) {
  const results = {};
  const hi = cfg.stackMaxKb;
  for (const app of STACK_APPS) {
    const started = Date.now();
    try {
      const { bundle, port } = await prepare(app);
      await check(app, bundle, port, cfg.stackTimeoutMs);
      const value = await smallestStack(bundle, port, app.scenario, { lo: 8, hi, timeoutMs: cfg.stackTimeoutMs, fromStorage: !!app.fromStorage });
      results[app.key] = { value, hi };
      log(`  ${app.key}: ${value === null ? `does not fit ${hi} KB` : value + ' KB'} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    } catch (e) {
      results[app.key] = { value: null, hi, error: errorSummary(e) };
      log(`  ${app.key}: FAILED ${e.message}`);
    }
  }
  return results;
}
