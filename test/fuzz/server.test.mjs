// Fuzzing a running server over real sockets (the emulation, or the real
// interpreter with ESPRUINO set: the ESP32-like build when ESPRUINO_ESP32 is
// set too). Seeded cases:
// - HTTP: valid requests and pipelines to the fixture's routes, the same
//   mutated, and random bytes. Each must end in complete HTTP responses with a
//   2xx, 4xx, 501 or 505 status, or a clean close; pipelined valid requests
//   are answered in order. (A 503 with Retry-After, the answer past maxConns,
//   is allowed too: clients that give up early can outpace a slow interpreter.)
// - WebSocket: valid, mutated and random client frames sent with the
//   handshake to an echo route. The server echoes messages and answers pings
//   until the frames end, are closed by the client, or break the protocol; then
//   it sends a close frame with the code the frame parser's model gives.
// Afterwards the server still answers and (real interpreter) its JsVars are
// back near the baseline. Fixture: test/fixtures/app.ts.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, rawExchange, request } from '../helpers/app.mjs';
import { lane } from '../helpers/server.mjs';
import { buildFixture, loadBundle } from '../unit/library.mjs';
import { isUtf8, literal, mutate, randomSource } from './fuzz.mjs';
import { validSequence } from './http.mjs';
import { bytes, frame, frameCase, parseFrames } from './frames.mjs';
import { SERVER_REGRESSIONS } from './regressions.mjs';

const CASES = 300;
const WS_CASES = 100;
const CONCURRENT = 3; // the fixture allows 6 connections
const SEED = 20250;

const id = (random) => random.chars(random.between(1, 8), 'abcxyz0129-_') + (random.chance(0.2) ? '%C3%A9' : '');
/** The fixture's routes (and a few it does not have), as [method, target]; none streams or answers HEAD. */
const TARGETS = [
  () => ['GET', '/'],
  (random) => ['GET', '/users/' + id(random)],
  (random) => ['GET', `/search?q=${id(random)}&q=${id(random)}&x=${id(random)}`],
  () => ['POST', '/echo'],
  () => ['POST', '/length'],
  () => ['POST', '/json'],
  (random) => ['PUT', '/users/' + id(random)],
  (random) => ['DELETE', '/users/' + id(random)],
  (random) => ['PATCH', '/users/' + id(random)],
  () => ['OPTIONS', '*'],
  () => ['GET', '/nope'],
  () => ['POST', '/'],
];

/** True when the request keeps the connection open (RFC 9112 §9.3). */
function keepsAlive({ version, headers }) {
  const tokens = (headers.connection || '').toLowerCase().split(',').map((token) => token.trim());
  return version === 11 ? !tokens.includes('close') : tokens.includes('keep-alive');
}

/**
 * Splits what the server sent into responses, strictly: a status line, header
 * lines, a body of exactly its Content-Length (none for 1xx, 204 and 304).
 * Fails on anything incomplete or left over.
 */
function responsesIn(text) {
  const responses = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf('\r\n\r\n', at);
    assert.ok(end >= 0, `an incomplete response head: ${JSON.stringify(text.slice(at, at + 200))}`);
    const [statusLine, ...lines] = text.slice(at, end).split('\r\n');
    const match = /^HTTP\/1\.1 (\d\d\d) [^\r\n]*$/.exec(statusLine);
    assert.ok(match, `a status line: ${JSON.stringify(statusLine)}`);
    const headers = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      assert.ok(colon > 0, `a header line: ${JSON.stringify(line)}`);
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(match[1]);
    const bodyless = status < 200 || status === 204 || status === 304;
    assert.ok(bodyless || /^\d+$/.test(headers['content-length']), `status ${status} with Content-Length ${headers['content-length']}`);
    const length = bodyless ? 0 : Number(headers['content-length']);
    assert.ok(end + 4 + length <= text.length, `a body of ${length} bytes cut short`);
    responses.push({ status, headers, body: text.slice(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return responses;
}

/**
 * The cases: { input, expected } where expected lists the requests of a valid
 * pipeline (its last asks to close, so the server's close ends it), else null.
 */
function makeCases(seed, count) {
  const random = randomSource(seed);
  const cases = [];
  for (let i = 0; i < count; i++) {
    const roll = random.next();
    if (roll < 0.2) {
      cases.push(validSequence(random, { targets: TARGETS, close: true }));
      continue;
    }
    const { input } = validSequence(random, { targets: TARGETS, close: random.chance(0.7) });
    cases.push({ input: roll < 0.9 ? mutate(input, random).input : random.bytes(random.size(1500)), expected: null });
  }
  return cases;
}

/**
 * Sends one case on a connection of its own and checks what comes back;
 * returns the statuses ('closed' or 'waiting' when none came). A valid case
 * waits for the server to close; any other stops once nothing has come for a
 * moment (an incomplete request would wait for the 2 s request timeout).
 */
async function checkHttpCase(port, { input, expected }) {
  const { text, closed } = await rawExchange(port, input, { idleMs: expected ? 3000 : 150 });
  const where = `for ${literal(input.slice(0, 300))}${input.length > 300 ? '...' : ''}:\n${text.slice(0, 600)}`;
  let responses;
  try {
    responses = responsesIn(text);
  } catch (e) {
    throw new Error(`${e.message}\n${where}`);
  }
  const finals = responses.filter((r) => r.status >= 200);
  for (const r of responses) {
    // 503 with Retry-After: more than maxConns connections, when the server lags behind the clients.
    const overloaded = r.status === 503 && r.headers['retry-after'] !== undefined;
    const ok = r.status === 100 || (r.status >= 200 && r.status < 300) || (r.status >= 400 && r.status < 500) || r.status === 501 || r.status === 505 || overloaded;
    assert.ok(ok, `status ${r.status} ${where}`);
  }
  const closing = finals.findIndex((r) => r.headers.connection === 'close');
  if (closing >= 0) {
    assert.equal(closing, finals.length - 1, `nothing after a "Connection: close" response ${where}`);
    // Only a valid case waits long enough to see the close behind a lagging server's answer.
    if (expected) assert.ok(closed, `the server closed after "Connection: close" ${where}`);
  }
  if (expected && !(finals.length === 1 && finals[0].status === 503)) {
    // Answered in order, up to the first request that ends the connection.
    const last = expected.findIndex((event) => !keepsAlive(event.message));
    const answered = last < 0 ? expected : expected.slice(0, last + 1);
    assert.equal(finals.length, answered.length, `one response per request ${where}`);
    answered.forEach(({ message }, i) => {
      // /echo decodes the body as UTF-8 and encodes it again: only well-formed text comes back byte for byte.
      if (message.method === 'POST' && message.target === '/echo' && message.body && isUtf8(message.body)) {
        assert.equal(finals[i].status, 200, where);
        assert.equal(finals[i].body, message.body, `the echo of request ${i}`);
      }
      if (message.method === 'POST' && message.target === '/length') {
        assert.deepEqual(JSON.parse(finals[i].body), { length: message.body === null ? null : message.body.length }, `the length of request ${i}`);
      }
    });
  }
  return responses.length ? responses.map((r) => r.status) : [closed ? 'closed' : 'waiting'];
}

const HANDSHAKE = request('GET /ws/events HTTP/1.1', 'Host: t', 'Upgrade: websocket', 'Connection: Upgrade',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13');
// The fixture's limit for /ws/events (DEFAULTS.webSocketMaxMessageSize).
const WS_MAX_MESSAGE = 65536;
const FRAMES = await buildFixture('frames');

/** Server frames, strictly: unmasked, FIN set, a known opcode, complete; [opcode, payload] with a close frame's code alone. */
function serverFrames(data) {
  const frames = [];
  let at = 0;
  while (at < data.length) {
    assert.ok(at + 2 <= data.length, 'a frame head cut short');
    const opcode = data[at] & 15;
    assert.equal(data[at] & 0xf0, 0x80, 'FIN set, no RSV bits');
    assert.ok([1, 2, 8, 9, 10].includes(opcode), `opcode ${opcode}`);
    assert.equal(data[at + 1] & 0x80, 0, 'server frames are not masked');
    let length = data[at + 1] & 127;
    let start = at + 2;
    if (length === 126) { length = data.readUInt16BE(at + 2); start = at + 4; }
    else if (length === 127) { length = Number(data.readBigUInt64BE(at + 2)); start = at + 10; }
    assert.ok(start + length <= data.length, `a frame of ${length} bytes cut short`);
    const payload = data.subarray(start, start + length).toString('latin1');
    // A close frame's code; its reason is free text.
    frames.push([opcode, opcode === 8 ? payload.slice(0, 2) : payload]);
    at = start + length;
  }
  return frames;
}

/**
 * What the server must send for client frames that parse to `events`: an
 * echo per message and a pong per ping, until a close (echoed) or an error
 * (its code); [frames, whether it then closes].
 */
function serverReplies(events) {
  const replies = [];
  for (const event of events) {
    const [kind, data, code] = event;
    if (kind === 'text' || kind === 'binary') replies.push([kind === 'text' ? 1 : 2, data]);
    else if (kind === 'ping') replies.push([10, data]);
    else if (kind === 'close' || kind === 'error') {
      const closeCode = kind === 'close' ? code : data;
      replies.push([8, closeCode === 1005 ? '' : bytes(closeCode >> 8, closeCode & 255)]);
      return [replies, true];
    }
  }
  return [replies, false];
}

/**
 * Sends client frames after the handshake on a connection of their own, and
 * checks the server's frames; returns how the client's frames ended. When the
 * frames end in a close or an error, the server's close ends the exchange;
 * else a pause in what the server sends.
 */
async function checkWebSocketCase(port, F, input) {
  const events = parseFrames(F, [input], WS_MAX_MESSAGE);
  const [replies, closes] = serverReplies(events);
  const { data, closed } = await rawExchange(port, HANDSHAKE + input, { idleMs: closes ? 3000 : 600 });
  const where = `for frames ${literal(input.slice(0, 200))}${input.length > 200 ? '...' : ''} (${JSON.stringify(events).slice(0, 200)})`;
  const end = data.indexOf('\r\n\r\n');
  const head = data.subarray(0, end).toString('latin1');
  if (/^HTTP\/1\.1 503 [^]*\r\nRetry-After:/i.test(head)) return ['503 (too many connections)'];
  assert.match(head, /^HTTP\/1\.1 101 /, where);
  assert.deepEqual(serverFrames(data.subarray(end + 4)), replies, where);
  if (closes) assert.ok(closed, `the server closes the connection ${where}`);
  const last = events[events.length - 1];
  return [last ? last[0] + (last[0] === 'error' ? ' ' + last[1] : '') : 'nothing'];
}

/** Runs check(case) over the cases CONCURRENT at a time; returns how often each outcome it returned came. */
async function runAll(cases, check) {
  let next = 0;
  const seen = {};
  const worker = async () => {
    while (next < cases.length) {
      for (const outcome of await check(cases[next++])) seen[outcome] = (seen[outcome] || 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENT }, worker));
  return seen;
}

/** `count` WebSocket cases from `seed`: client frame sequences, then a close frame (which truncated frames swallow). */
function frameCases(seed, count) {
  const random = randomSource(seed);
  return Array.from({ length: count }, () => frameCase(random).input + frame(8, bytes(0x03, 0xe8)));
}

describe(`fuzzing a running server (${lane()})`, () => {
  const counting = lane() === 'espruino';
  const F = loadBundle(FRAMES, 'esp32', 'frames');
  let app;
  let baseline;
  const usage = async () => JSON.parse((await rawExchange(app.port, request('GET /memory HTTP/1.1', 'Host: t', 'Connection: close'))).text.split('\r\n\r\n')[1]).usage;

  before(async () => {
    app = await startApp('test/fixtures/app.ts');
    if (counting) {
      // Warms up what a first request of each kind allocates, then takes the baseline.
      await runAll(makeCases(SEED + 1, 40), (c) => checkHttpCase(app.port, c));
      await runAll(frameCases(SEED + 1, 20), (input) => checkWebSocketCase(app.port, F, input));
      baseline = await usage();
    }
  });
  after(() => app.stop());

  test(`${CASES} valid, mutated and random requests end in a 2xx/4xx response or a clean close`, async (t) => {
    const seen = await runAll(makeCases(SEED, CASES), (c) => checkHttpCase(app.port, c));
    t.diagnostic(`answers: ${JSON.stringify(seen)}`);
  });

  test(`${WS_CASES} valid, mutated and random WebSocket frame sequences are echoed, then closed with the code the frame parser gives`, async (t) => {
    const seen = await runAll(frameCases(SEED + 2, WS_CASES), (input) => checkWebSocketCase(app.port, F, input));
    t.diagnostic(`client frames ended in: ${JSON.stringify(seen)}`);
  });

  test('inputs that once broke the server are answered', async () => {
    for (const { input, statuses } of SERVER_REGRESSIONS) {
      const { text, closed } = await rawExchange(app.port, input, { idleMs: 3000 });
      assert.deepEqual(responsesIn(text).map((r) => r.status), statuses, literal(input));
      assert.ok(closed, `the server closed after answering ${literal(input)}`);
    }
  });

  test('the server answers as before', async () => {
    const res = await rawExchange(app.port, request('GET / HTTP/1.1', 'Host: t', 'Connection: close'));
    assert.deepEqual(responsesIn(res.text).map((r) => [r.status, JSON.parse(r.body)]), [[200, { message: 'Hello from MicroServer' }]]);
  });

  test('JsVars are back near the baseline', { skip: !counting && 'JsVars are only counted on the real interpreter (set ESPRUINO)' }, async (t) => {
    // Connections whose clients gave up may still be timing out (bodyTimeout and keepAliveTimeout: 2 s).
    let after;
    for (let tries = 0; tries < 10; tries++) {
      await new Promise((r) => setTimeout(r, 500));
      after = await usage();
      if (after - baseline <= 20) break;
    }
    t.diagnostic(`JsVars: ${baseline} before the cases, ${after} after`);
    assert.ok(after - baseline <= 20, `JsVars grew from ${baseline} to ${after} over ${CASES + WS_CASES} cases`);
  });
});
