// The soak: mixed HTTP traffic, WebSocket sessions and SSE clients against
// test/fixtures/abuse.ts, every answer checked, then the server's sockets and
// (on the real interpreter) JsVars compared with where they were. Used by
// soak.test.mjs (a short run in npm test) and run.mjs (npm run soak).
import fs from 'node:fs';
import WebSocket from 'ws';
import { request } from '../helpers/app.mjs';
import { prng } from '../helpers/random.mjs';
import { GET, sleep, connect, keepAliveClient, takeResponse, startAtRest, backToBaseline } from '../abuse/lib.mjs';

/** The fixture's static pages, built as it builds them. */
function staticPage(length) {
  let page = '<!doctype html><title>soak</title>\n';
  while (page.length < length) page += '<p>static file line ' + page.length + '</p>\n';
  return page;
}
const INDEX_HTML = staticPage(3000);
const BIG_HTML = staticPage(20000);

/** Text for bodies: ASCII and UTF-8 (as bytes, the way they travel). */
function bodyText(rand, length) {
  const words = ['esp32 ', 'héllo ', 'wörld ', '€uro ', 'data=1&x=2 ', '{"a":[1,2]} ', 'line\n', '☕ '];
  let text = '';
  while (text.length < length) text += words[Math.floor(rand() * words.length)];
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** Milliseconds of CPU the process has used (user + system), from /proc. */
function cpuMs(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

function expectResponse(res, status, body, what) {
  expect(res.status === status, `${what}: status ${res.status}, expected ${status}: ${res.body.slice(0, 200)}`);
  if (body !== undefined) expect(res.body === body, `${what}: body ${JSON.stringify(res.body.slice(0, 200))}, expected ${JSON.stringify(body.slice(0, 200))}`);
}

/**
 * The kinds of HTTP traffic: each sends `count` requests (or fewer when one
 * exchange is several) and checks every answer. Returns how many it sent.
 */
const KINDS = {
  async 'GET keep-alive'(port, rand) {
    const client = await keepAliveClient(port);
    const count = 2 + Math.floor(rand() * 8);
    for (let i = 0; i < count; i++) {
      const id = Math.floor(rand() * 100000);
      expectResponse(await client.ask(GET('/users/' + id)), 200, `{"id":"${id}"}`, 'GET /users');
    }
    await client.close();
    return count;
  },
  async 'GET close'(port) {
    const client = await keepAliveClient(port);
    const res = await client.ask(GET('/', 'Connection: close'));
    expectResponse(res, 200, '{"message":"hello"}', 'GET / close');
    expect(res.headers.connection === 'close', 'Connection: close is echoed');
    await client.close();
    return 1;
  },
  async 'HTTP/1.0'(port) {
    const client = await connect(port);
    client.socket.write('GET / HTTP/1.0\r\n\r\n');
    await client.ended;
    expectResponse(takeResponse(client.text()), 200, '{"message":"hello"}', 'HTTP/1.0 GET');
    return 1;
  },
  async 'POST body'(port, rand) {
    const client = await keepAliveClient(port);
    const count = 1 + Math.floor(rand() * 3);
    for (let i = 0; i < count; i++) {
      const body = bodyText(rand, Math.floor(rand() * 3000));
      const res = await client.ask(request('POST /echo HTTP/1.1', 'Host: t', 'Content-Type: text/plain', `Content-Length: ${body.length}`) + body);
      expectResponse(res, 200, body, `POST /echo (${body.length} bytes)`);
    }
    await client.close();
    return count;
  },
  async 'POST chunked'(port, rand) {
    const client = await keepAliveClient(port);
    const parts = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => bodyText(rand, 1 + Math.floor(rand() * 500)));
    const chunks = parts.map((part) => part.length.toString(16) + '\r\n' + part + '\r\n').join('') + '0\r\n\r\n';
    const res = await client.ask(request('POST /echo HTTP/1.1', 'Host: t', 'Transfer-Encoding: chunked') + chunks);
    expectResponse(res, 200, parts.join(''), 'chunked POST /echo');
    await client.close();
    return 1;
  },
  async pipelined(port, rand) {
    const client = await connect(port);
    const ids = [0, 1, 2].map(() => Math.floor(rand() * 1000));
    client.socket.write(ids.map((id, i) => GET('/users/' + id, ...(i === 2 ? ['Connection: close'] : []))).join(''));
    await client.ended;
    let rest = client.text();
    for (const id of ids) {
      const res = takeResponse(rest);
      expect(res, `pipelined: ${ids.length} answers expected: ${JSON.stringify(client.text().slice(0, 300))}`);
      expectResponse(res, 200, `{"id":"${id}"}`, 'pipelined GET');
      rest = res.rest;
    }
    return ids.length;
  },
  async 'not found (404)'(port, rand) {
    const client = await keepAliveClient(port);
    expectResponse(await client.ask(GET('/nope/' + Math.floor(rand() * 1000))), 404, '{"error":"Not Found","code":404}', 'GET /nope');
    await client.close();
    return 1;
  },
  async 'handler error'(port) {
    const client = await keepAliveClient(port);
    expectResponse(await client.ask(GET('/throw')), 500, '{"error":"Internal Server Error","code":500}', 'GET /throw');
    await client.close();
    return 1;
  },
  async 'static file'(port, rand) {
    const client = await keepAliveClient(port);
    const [path, body, type] = [
      ['/static/index.html', INDEX_HTML, 'text/html; charset=utf-8'],
      ['/static/big.html', BIG_HTML, 'text/html; charset=utf-8'],
      ['/static/app.js', 'console.log("soak");\n', 'text/javascript; charset=utf-8'],
    ][Math.floor(rand() * 3)];
    const res = await client.ask(GET(path));
    expectResponse(res, 200, body, 'GET ' + path);
    expect(res.headers['content-type'] === type, `GET ${path}: Content-Type ${res.headers['content-type']}`);
    const head = await client.ask(request(`HEAD ${path} HTTP/1.1`, 'Host: t'), { head: true });
    expect(head.status === 200 && head.headers['content-length'] === String(body.length), `HEAD ${path}: ${head.status} ${head.headers['content-length']}`);
    await client.close();
    return 2;
  },
  async stream(port, rand) {
    const client = await keepAliveClient(port);
    const count = 1 + Math.floor(rand() * 4);
    const res = await client.ask(GET('/stream/bulk?count=' + count));
    expectResponse(res, 200, undefined, 'GET /stream/bulk');
    expect(res.body.length === count * 4096 && res.body.startsWith('chunk 0 ') && res.body.includes(`chunk ${count - 1} `), `GET /stream/bulk: ${res.body.length} bytes`);
    await client.close();
    return 1;
  },
};

/** One WebSocket session: three echoes (text, UTF-8 text, binary), then a close the server echoes. Returns messages sent. */
function webSocketSession(port, rand) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/echo`);
    const binary = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
    const sent = [`message ${Math.floor(rand() * 1e6)}`, 'héllo ☕ wörld', binary];
    let received = 0;
    ws.on('open', () => ws.send(sent[0]));
    ws.on('message', (data, isBinary) => {
      const expected = sent[received];
      const ok = typeof expected === 'string' ? !isBinary && data.toString('utf8') === expected : isBinary && Buffer.compare(data, expected) === 0;
      if (!ok) reject(new Error(`WebSocket echo ${received}: got ${JSON.stringify(data.toString('latin1').slice(0, 100))}`));
      received++;
      if (received < sent.length) ws.send(sent[received]);
      else ws.close(1000, 'done');
    });
    ws.on('close', (code) => (received === sent.length && code === 1000 ? resolve(sent.length) : reject(new Error(`WebSocket closed with ${code} after ${received} echoes`))));
    ws.on('error', reject);
  });
}

/** One SSE client: the welcome event, then a broadcast it asks for itself, then it leaves. */
async function sseSession(port, rand) {
  const client = await connect(port);
  client.socket.write(GET('/events'));
  const token = `token-${Math.floor(rand() * 1e9)}`;
  const deadline = Date.now() + 10000;
  const waitFor = async (pattern, what) => {
    while (!pattern.test(client.text())) {
      expect(!client.closed() && Date.now() < deadline, `SSE: no ${what}: ${JSON.stringify(client.text().slice(0, 300))}`);
      await sleep(5);
    }
  };
  await waitFor(/event: welcome\ndata: \{"hello":true\}\n\n/, 'welcome event');
  const poster = await keepAliveClient(port);
  const res = await poster.ask(request('POST /events/broadcast HTTP/1.1', 'Host: t', `Content-Length: ${token.length}`) + token);
  expect(res.status === 200, `POST /events/broadcast: ${res.status}`);
  await poster.close();
  await waitFor(new RegExp(`event: news\\ndata: ${token}\\n\\n`), 'broadcast');
  expect(/^HTTP\/1\.1 200 [^]*Content-Type: text\/event-stream/.test(client.text()), 'SSE response head');
  client.socket.destroy();
  return 1;
}

/**
 * Runs the soak against a fresh server. Options: requests, webSockets,
 * sseClients, workers (HTTP clients at once), seed, mode, onProgress(stats).
 * Resolves with stats: { byKind: { kind: { requests, failures } }, webSockets,
 * sseClients, failures: [messages], jsVars: { baseline, after }, cpuMs, wallMs, lane }.
 */
export async function soak({ requests = 10000, webSockets = 200, sseClients = 50, workers = 3, seed = 1, mode = 'esp32', onProgress = () => {} } = {}) {
  const { app, baseline } = await startAtRest({ mode });
  try {
    const cpuBefore = cpuMs(app.pid);
    const started = Date.now();
    const stats = {
      lane: app.lane,
      byKind: Object.fromEntries(Object.keys(KINDS).map((kind) => [kind, { requests: 0, failures: 0 }])),
      webSockets: { sessions: 0, messages: 0, failures: 0 },
      sseClients: { sessions: 0, failures: 0 },
      failures: [],
      requests: 0,
    };
    const fail = (what, error) => stats.failures.push(`${what}: ${error.message}`);
    const kinds = Object.keys(KINDS);
    const step = Math.max(100, Math.floor(requests / 10));
    let nextProgress = step;
    const progress = () => {
      if (stats.requests < nextProgress) return;
      nextProgress += step;
      onProgress(stats, Date.now() - started);
    };

    const httpWorker = async (index) => {
      const rand = prng(seed * 1000 + index);
      while (stats.requests < requests) {
        const kind = kinds[Math.floor(rand() * kinds.length)];
        try {
          const sent = await KINDS[kind](app.port, rand);
          stats.byKind[kind].requests += sent;
          stats.requests += sent;
        } catch (e) {
          stats.byKind[kind].requests++;
          stats.byKind[kind].failures++;
          stats.requests++;
          fail(kind, e);
        }
        progress();
      }
    };
    // Sessions are spread over the run: the next starts once the HTTP traffic has caught up with it.
    const inTurn = async (done, total) => {
      while (stats.requests < requests && stats.requests / requests < done / total) await sleep(10);
    };
    /** `total` sessions of one kind, one at a time, counted in `counts` (sessions, failures). */
    const sessionLane = async (counts, total, seedOffset, what, session) => {
      const rand = prng(seed * 1000 + seedOffset);
      while (counts.sessions < total) {
        await inTurn(counts.sessions, total);
        counts.sessions++;
        try {
          await session(rand);
        } catch (e) {
          counts.failures++;
          fail(what, e);
        }
      }
    };
    const webSocketLane = sessionLane(stats.webSockets, webSockets, 101, 'WebSocket session', async (rand) => {
      stats.webSockets.messages += await webSocketSession(app.port, rand);
    });
    const sseLane = sessionLane(stats.sseClients, sseClients, 102, 'SSE client', (rand) => sseSession(app.port, rand));
    await Promise.all([...Array.from({ length: workers }, (_, i) => httpWorker(i)), webSocketLane, sseLane]);
    stats.wallMs = Date.now() - started;
    stats.cpuMs = cpuMs(app.pid) - cpuBefore;
    try {
      const after = await backToBaseline(app, baseline, { slack: 20 });
      stats.jsVars = { baseline: baseline.jsVars, after: after.jsVars };
      stats.sockets = { baseline: baseline.sockets, after: after.sockets };
    } catch (e) {
      fail('back to baseline', e);
    }
    if (/Uncaught|OUT OF MEMORY|LOW_MEMORY/.test(app.output())) fail('interpreter output', new Error(app.output().match(/.*(Uncaught|OUT OF MEMORY|LOW_MEMORY).*/)[0]));
    return stats;
  } finally {
    await app.stop();
  }
}

/** The final table of a run, as text. */
export function table(stats) {
  const rows = [['kind', 'requests', 'failures']];
  for (const [kind, { requests, failures }] of Object.entries(stats.byKind)) rows.push([kind, requests, failures]);
  rows.push(['all HTTP', stats.requests, Object.values(stats.byKind).reduce((sum, k) => sum + k.failures, 0)]);
  rows.push([`WebSocket sessions (${stats.webSockets.messages} echoes)`, stats.webSockets.sessions, stats.webSockets.failures]);
  rows.push(['SSE clients', stats.sseClients.sessions, stats.sseClients.failures]);
  const width = rows.reduce((w, row) => Math.max(w, String(row[0]).length), 0);
  const lines = rows.map(([a, b, c]) => `${String(a).padEnd(width)}  ${String(b).padStart(8)}  ${String(c).padStart(8)}`);
  const jsVars = stats.jsVars && stats.jsVars.baseline !== null ? `${stats.jsVars.baseline} → ${stats.jsVars.after}` : 'not counted (emulation)';
  lines.push('', `lane: ${stats.lane}`, `JsVars in use, baseline → after: ${jsVars}`);
  if (stats.sockets) lines.push(`server sockets, baseline → after: ${stats.sockets.baseline} → ${stats.sockets.after}`);
  lines.push(`server CPU time: ${(stats.cpuMs / 1000).toFixed(1)} s (${(stats.cpuMs / stats.requests * 1000).toFixed(0)} µs per HTTP request, all traffic included)`);
  lines.push(`wall time: ${(stats.wallMs / 1000).toFixed(1)} s`, `failures: ${stats.failures.length}`);
  for (const failure of stats.failures.slice(0, 10)) lines.push('  ' + failure);
  return lines.join('\n');
}
