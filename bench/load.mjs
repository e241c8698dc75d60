// Load generators for the benchmark, on raw `net` sockets over loopback:
// pre-built request bytes, one request (or WebSocket message) in flight per
// connection (no pipelining), responses counted by Content-Length (or by the
// server closing, for a response without one). Every run is bounded by a
// count and a deadline, and every response is checked.
import net from 'node:net';
import crypto from 'node:crypto';

const HEADER_END = Buffer.from('\r\n\r\n');

/** The bytes of a request: request('GET / HTTP/1.1', ['Host: bench']), with a Content-Length for a body. */
export function request(line, headers = [], body = '') {
  const bodyBytes = Buffer.from(body);
  const fields = body ? [...headers, `Content-Length: ${bodyBytes.length}`] : headers;
  return Buffer.concat([Buffer.from([line, ...fields].join('\r\n') + '\r\n\r\n', 'latin1'), bodyBytes]);
}

/**
 * Splits the bytes a server sends into responses. feed(chunk) returns the
 * responses completed by it, each { status, head (latin1 text), body (Buffer),
 * close (the server said Connection: close) }; end() completes a response whose
 * body runs until the server closes. A 101 completes at its blank line: the
 * bytes after it are left in `rest` for the protocol that follows.
 */
export class ResponseReader {
  constructor() {
    this.rest = Buffer.alloc(0);
    this.open = null; // { status, head, close, length } of the response being read
  }

  feed(chunk) {
    this.rest = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const done = [];
    for (;;) {
      if (!this.open) {
        const end = this.rest.indexOf(HEADER_END);
        if (end < 0) break;
        const head = this.rest.toString('latin1', 0, end);
        const status = Number(head.slice(9, 12));
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        const noBody = status === 101 || status === 204 || status === 304;
        this.open = { status, head, close: /\r\nconnection: *close/i.test(head), length: noBody ? 0 : length ? Number(length[1]) : -1 };
        this.rest = this.rest.subarray(end + 4);
        if (status === 101) {
          done.push(this.complete(0));
          break;
        }
      }
      if (this.open.length < 0 || this.rest.length < this.open.length) break;
      done.push(this.complete(this.open.length));
    }
    return done;
  }

  /** The server closed: the response whose body ran until now, if one was open. */
  end() {
    return this.open && this.open.length < 0 ? this.complete(this.rest.length) : null;
  }

  complete(length) {
    const response = { status: this.open.status, head: this.open.head, close: this.open.close, body: this.rest.subarray(0, length) };
    this.rest = this.rest.subarray(length);
    this.open = null;
    return response;
  }
}

function deadlineError(what, ms, progress) {
  return new Error(`${what}: not finished within ${ms} ms (${progress})`);
}

/** `promise`, or a rejection once `ms` pass. */
export function withDeadline(promise, ms, what) {
  let timer;
  const late = new Promise((resolve, reject) => { timer = setTimeout(() => reject(deadlineError(what, ms, 'stalled')), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Sends `total` requests over `concurrency` connections, each with one request
 * in flight. A connection sends the script's requests in turn ({ bytes, status,
 * body? }: the expected status, and the expected body, checked on a
 * connection's first response to it) and is replaced after `perConnection`
 * responses or when the server closes it. Resolves with { completed, wallMs }.
 */
export function runHttp({ port, script, total, concurrency = 1, perConnection = Infinity, deadlineMs = 60000 }) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let sent = 0;
    let completed = 0;
    let failed = null;
    const sockets = new Set();
    const timer = setTimeout(() => fail(deadlineError('HTTP load', deadlineMs, `${completed}/${total} responses`)), deadlineMs);

    function fail(error) {
      if (failed) return;
      failed = error;
      clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      reject(error);
    }

    function finishIfDone() {
      if (completed === total && !failed) {
        clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        resolve({ completed, wallMs: performance.now() - started });
      }
    }

    function connection() {
      if (sent >= total || failed) return;
      const socket = net.connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      sockets.add(socket);
      const reader = new ResponseReader();
      const checked = new Set();
      let answered = 0;
      let step = 0;
      let inFlight = null;
      let replaced = false;

      const next = () => {
        if (sent >= total) return socket.end();
        sent++;
        inFlight = script[step++ % script.length];
        socket.write(inFlight.bytes);
      };
      const replace = () => {
        if (replaced) return;
        replaced = true;
        sockets.delete(socket);
        socket.destroy();
        connection();
      };
      const accept = (response) => {
        if (!inFlight) return fail(new Error(`an unrequested response: ${response.head.split('\r\n')[0]}`));
        if (response.status !== inFlight.status) {
          return fail(new Error(`expected ${inFlight.status}, got: ${response.head.split('\r\n')[0]} (request: ${inFlight.bytes.toString('latin1').split('\r\n')[0]})`));
        }
        if (inFlight.body !== undefined && !checked.has(inFlight)) {
          checked.add(inFlight);
          if (response.body.toString('latin1') !== inFlight.body) return fail(new Error(`unexpected body: ${response.body.toString('latin1').slice(0, 200)}`));
        }
        inFlight = null;
        completed++;
        answered++;
        finishIfDone();
        if (response.close || answered >= perConnection) replace();
        else next();
      };

      socket.on('connect', next);
      socket.on('data', (chunk) => {
        for (const response of reader.feed(chunk)) {
          if (failed || replaced) return;
          accept(response);
        }
      });
      socket.on('end', () => {
        const last = reader.end();
        if (last) accept(last);
        else if (inFlight && !failed) fail(new Error(`the server closed a connection with a request unanswered (${completed}/${total})`));
        replace();
      });
      socket.on('error', (e) => {
        if (!replaced) fail(new Error(`HTTP load: ${e.message}`));
      });
    }

    for (let i = 0; i < concurrency; i++) connection();
  });
}

/**
 * Opens `count` connections one after another, each answered `request` with
 * `status`, and keeps them open (idle keep-alive). Stops early at the first
 * other answer, error or silence when `untilRefused`. Resolves with { sockets, refusal }.
 */
export async function openIdleConnections(port, count, { bytes, status }, { untilRefused = false, timeoutMs = 5000 } = {}) {
  const sockets = [];
  for (let i = 0; i < count; i++) {
    const outcome = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      const reader = new ResponseReader();
      const timer = setTimeout(() => resolve({ socket, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
      const settle = (result) => { clearTimeout(timer); resolve(result); };
      socket.on('connect', () => socket.write(bytes));
      socket.on('data', (chunk) => {
        const [response] = reader.feed(chunk);
        if (response) settle({ socket, response });
      });
      socket.on('end', () => settle({ socket, error: 'the server closed the connection' }));
      socket.on('error', (e) => settle({ socket, error: e.message }));
    });
    const refusal = outcome.error || (outcome.response.status !== status || outcome.response.close ? outcome.response.head.split('\r\n')[0] : null);
    if (refusal) {
      outcome.socket.destroy();
      if (untilRefused) return { sockets, refusal };
      closeAll(sockets);
      throw new Error(`idle connection ${i + 1}/${count}: ${refusal}`);
    }
    sockets.push(outcome.socket);
  }
  return { sockets, refusal: null };
}

export function closeAll(sockets) {
  for (const socket of sockets) socket.destroy();
}

// --- WebSocket (RFC 6455), client side: masked frames, one message in flight.

/** A masked client frame (FIN, opcode) carrying `payload` (a Buffer of at most 65535 bytes). */
export function clientFrame(opcode, payload) {
  const mask = crypto.randomBytes(4);
  const header = payload.length < 126 ? Buffer.from([0x80 | opcode, 0x80 | payload.length]) : Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 255]);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] ^= mask[i & 3];
  return Buffer.concat([header, mask, masked]);
}

/** The first whole server frame (unmasked) in `buffer`: { opcode, payload, rest }, or null. */
function nextFrame(buffer) {
  if (buffer.length < 2) return null;
  let length = buffer[1] & 127;
  let start = 2;
  if (length === 126) {
    if (buffer.length < 4) return null;
    length = buffer.readUInt16BE(2);
    start = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return null;
    length = Number(buffer.readBigUInt64BE(2));
    start = 10;
  }
  if (buffer.length < start + length) return null;
  return { opcode: buffer[0] & 15, payload: buffer.subarray(start, start + length), rest: buffer.subarray(start + length) };
}

/**
 * Opens a WebSocket to `path` and resolves with { socket, onFrame(listener),
 * closed } once the 101 has arrived. Frames after it go to the listener.
 */
export function openWebSocket(port, path, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    const reader = new ResponseReader();
    const key = crypto.randomBytes(16).toString('base64');
    let buffered = Buffer.alloc(0);
    let listener = null;
    let upgraded = false;
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`WebSocket ${path}: no 101 within ${timeoutMs} ms`)); }, timeoutMs);
    const ws = {
      socket,
      closed: new Promise((r) => socket.on('close', r)),
      onFrame(fn) { listener = fn; deliver(Buffer.alloc(0)); },
    };
    function deliver(chunk) {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      let frame;
      while (listener && (frame = nextFrame(buffered))) {
        buffered = frame.rest;
        listener(frame);
      }
    }
    socket.on('close', () => listener && listener(null));
    socket.on('connect', () => socket.write(request(`GET ${path} HTTP/1.1`, ['Host: bench', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13'])));
    socket.on('data', (chunk) => {
      if (upgraded) return deliver(chunk);
      const [response] = reader.feed(chunk);
      if (!response) return;
      clearTimeout(timer);
      if (response.status !== 101) {
        socket.destroy();
        return reject(new Error(`WebSocket ${path}: ${response.head.split('\r\n')[0]}`));
      }
      upgraded = true;
      resolve(ws);
      deliver(reader.rest);
    });
    socket.on('error', (e) => { clearTimeout(timer); if (!upgraded) reject(e); });
  });
}

/** Sends `frame` and resolves with the next frame the server sends, answering pings meanwhile. */
function roundTrip(ws, frame) {
  return new Promise((resolve, reject) => {
    ws.onFrame((reply) => {
      if (reply === null) return reject(new Error('the WebSocket closed while a reply was awaited'));
      if (reply.opcode === 9) return ws.socket.write(clientFrame(10, reply.payload));
      ws.onFrame(null);
      resolve(reply);
    });
    ws.socket.write(frame);
  });
}

function checkEcho(reply, payload) {
  if (reply.opcode === 8) {
    const code = reply.payload.length >= 2 ? reply.payload.readUInt16BE(0) : 'none';
    throw new Error(`WebSocket echo: the server closed the WebSocket (code ${code}, ${JSON.stringify(reply.payload.subarray(2).toString())})`);
  }
  if (reply.opcode !== 1 || !reply.payload.equals(payload)) {
    throw new Error(`WebSocket echo: got opcode ${reply.opcode} with ${reply.payload.length} bytes, not the ${payload.length} sent`);
  }
}

/** Runs `total` echo round trips of `payload` (text) over `clients` WebSockets: { completed, wallMs }. */
export async function runWebSocketEcho({ port, path, payload, total, clients = 1, deadlineMs = 60000 }) {
  const opening = await Promise.allSettled(Array.from({ length: clients }, () => openWebSocket(port, path)));
  const sockets = opening.filter((o) => o.status === 'fulfilled').map((o) => o.value);
  const refused = opening.find((o) => o.status === 'rejected');
  if (refused) {
    for (const ws of sockets) ws.socket.destroy();
    throw refused.reason;
  }
  const frame = clientFrame(1, payload);
  let sent = 0;
  let completed = 0;
  let timedOut = false;
  const started = performance.now();
  const timer = setTimeout(() => {
    timedOut = true;
    for (const ws of sockets) ws.socket.destroy();
  }, deadlineMs);
  try {
    await Promise.all(sockets.map(async (ws) => {
      while (sent < total) {
        sent++;
        checkEcho(await roundTrip(ws, frame), payload);
        completed++;
      }
    }));
    return { completed, wallMs: performance.now() - started };
  } catch (e) {
    throw timedOut ? deadlineError('WebSocket echo', deadlineMs, `${completed}/${total} echoes`) : e;
  } finally {
    clearTimeout(timer);
    for (const ws of sockets) ws.socket.destroy();
  }
}

/** Opens a WebSocket, echoes `messages` messages, then closes it with the close handshake. */
export async function webSocketSession(port, path, payload, messages) {
  const ws = await openWebSocket(port, path);
  for (let i = 0; i < messages; i++) checkEcho(await roundTrip(ws, clientFrame(1, payload)), payload);
  const reply = await roundTrip(ws, clientFrame(8, Buffer.from([0x03, 0xe8])));
  if (reply.opcode !== 8) throw new Error(`WebSocket close: got opcode ${reply.opcode}`);
  ws.socket.end();
  await ws.closed;
}

/** Opens `count` WebSockets, each echoing one message, and keeps them open: the sockets. */
export async function openIdleWebSockets(port, path, count, payload) {
  const opened = [];
  try {
    for (let i = 0; i < count; i++) {
      const ws = await openWebSocket(port, path);
      opened.push(ws.socket);
      checkEcho(await roundTrip(ws, clientFrame(1, payload)), payload);
      ws.onFrame(() => {});
    }
  } catch (e) {
    closeAll(opened);
    throw e;
  }
  return opened;
}

// --- Server-Sent Events: chunked event streams, counted per client.

/**
 * Opens an event stream at `path` and resolves once its headers have arrived
 * with { socket, stats: { events, last, gaps } }: events counted from numbered
 * `data:` lines, gaps the numbers skipped (dropped by the server's queue).
 */
export function openEventStream(port, path, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const reader = new ResponseReader();
    const stats = { events: 0, last: -1, gaps: 0 };
    let text = '';
    let started = false;
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`event stream ${path}: no headers within ${timeoutMs} ms`)); }, timeoutMs);
    const count = (bytes) => {
      // Chunk-size lines never look like `data: n`, so the events are found without undoing the chunking.
      text += bytes.toString('latin1');
      const end = text.lastIndexOf('\n\n');
      if (end < 0) return;
      for (const match of text.slice(0, end).matchAll(/^data: (\d+)$/gm)) {
        const n = Number(match[1]);
        if (stats.last >= 0 && n > stats.last + 1) stats.gaps += n - stats.last - 1;
        stats.last = n;
        stats.events++;
      }
      text = text.slice(end + 2);
    };
    socket.on('connect', () => socket.write(request(`GET ${path} HTTP/1.1`, ['Host: bench', 'Accept: text/event-stream'])));
    socket.on('data', (chunk) => {
      if (started) return count(chunk);
      reader.feed(chunk);
      if (!reader.open) return;
      clearTimeout(timer);
      started = true;
      if (reader.open.status !== 200 || !/\r\ncontent-type: *text\/event-stream/i.test(reader.open.head)) {
        socket.destroy();
        return reject(new Error(`event stream ${path}: ${reader.open.head.split('\r\n')[0]}`));
      }
      resolve({ socket, stats });
      count(reader.rest);
    });
    socket.on('error', (e) => { clearTimeout(timer); if (!started) reject(e); });
  });
}
