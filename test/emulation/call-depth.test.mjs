// The C stack budget, checked without the real interpreter: bundles built for
// the emulation count how deep their own calls nest (tools/gate.mjs
// MAX_CALL_DEPTH), so a change that makes a request path deeper fails in CI.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle } from '../../build.mjs';
import { createEspruino } from './espruino.mjs';
import { freePort } from '../helpers/ports.mjs';
import { MAX_CALL_DEPTH } from '../../tools/gate.mjs';

const FIXTURE = fileURLToPath(new URL('../fixtures/depth.ts', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'call-depth-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the fixture in-process (with or without its five middlewares); stopped after the test. */
async function start(t, middleware) {
  const port = await freePort();
  const out = path.join(tmp, `depth-${port}.js`);
  const { code } = await buildBundle(FIXTURE, { out, port, countMethodDepth: true, write: false });
  const printed = [];
  const emu = createEspruino({ mode: 'esp32', stdout: (line) => printed.push(line) });
  emu.run((middleware ? 'var MIDDLEWARE = true;\n' : '') + code, out);
  await emu.serversBound();
  t.after(() => emu.stop());
  return { emu, printed, port };
}

/** The deepest nesting one request reached, and its answer. */
async function deepest(server, method, url, body) {
  server.emu.callDepth.deepest = 0;
  const res = await fetch(`http://127.0.0.1:${server.port}${url}`, {
    method, body, headers: { authorization: 'Bearer secret', origin: 'http://app.example', 'content-type': 'application/json' },
  });
  return { depth: server.emu.callDepth.deepest, path: server.emu.callDepth.path, status: res.status, text: await res.text() };
}

const REQUESTS = [['GET', '/'], ['GET', '/async'], ['POST', '/echo', '{"a":{"b":[1,2,{"c":3}]}}'], ['GET', '/private/7'], ['GET', '/nope']];

test('five middlewares (hooks, wrapping, async) make no request nest deeper than none', async (t) => {
  const bare = await start(t, false);
  const layered = await start(t, true);
  for (const [method, url, body] of REQUESTS) {
    const without = await deepest(bare, method, url, body);
    const within = await deepest(layered, method, url, body);
    assert.equal(within.status, without.status, `${method} ${url}: ${within.text}`);
    assert.ok(within.depth <= without.depth + 1, `${method} ${url}: ${within.depth} calls deep behind five middlewares (${within.path}), ${without.depth} without`);
    assert.ok(within.depth <= MAX_CALL_DEPTH, `${method} ${url}: ${within.depth} > ${MAX_CALL_DEPTH}`);
  }
});

test('a request path deeper than the budget fails loudly (500, logged with the path)', async (t) => {
  const server = await start(t, false);
  const shallow = await deepest(server, 'GET', '/nest/2');
  assert.equal(shallow.status, 200);
  const deep = await deepest(server, 'GET', `/nest/${MAX_CALL_DEPTH}`);
  assert.equal(deep.status, 500);
  const log = server.printed.join('\n');
  assert.match(log, new RegExp(`deeper than the ${MAX_CALL_DEPTH} a board's C stack has room for`));
  assert.match(log, /nest < nest/);
});
