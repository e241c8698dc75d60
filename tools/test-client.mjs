// The TestClient: a user's app run in-process on Node, in the Espruino emulation
// (test/emulation/espruino.mjs), reached through in-memory connections: no port, no
// interpreter. Requests are real HTTP/1.1 bytes through the app's own connection code.
//
//   const client = await TestClient.start('app.ts');
//   const res = await client.get('/users/1');        // res.status, res.headers.get(...), res.text, res.json
//   await client.post('/echo', { json: { a: 1 } });
//   const ws = await client.webSocket('/ws/echo');    // ws.send(), await ws.receive(), ws.close()
//   const events = await client.sse('/events');       // await events.next() -> { event, data, id }
//   await client.close();
import { randomBytes, createHash } from 'node:crypto';
import { extname, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { buildBundle } from '../build.mjs';
import { createEspruino } from '../test/emulation/espruino.mjs';
import { webFolderPreamble } from './web-assets.mjs';

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const DEFAULT_TIMEOUT_MS = 5000;

export class TestClientError extends Error {}

/** Buffers what a connection receives; reads wait for enough bytes, the end, or the timeout. */
class ByteReader {
  constructor(stream, timeoutMs) {
    this.buffer = Buffer.alloc(0);
    this.ended = false;
    this.timeoutMs = timeoutMs;
    this.wake = null;
    stream.on('data', (chunk) => { this.buffer = Buffer.concat([this.buffer, chunk]); this.notify(); });
    stream.on('end', () => { this.ended = true; this.notify(); });
    stream.on('close', () => { this.ended = true; this.notify(); });
    stream.on('error', () => {}); // a reset: 'close' follows, and a read waiting for more fails naming what it waited for
  }

  notify() {
    const wake = this.wake;
    this.wake = null;
    if (wake) wake();
  }

  /** Resolves with test(buffer) once it is not undefined; at the end, with atEnd() (or rejects naming `what`). */
  async until(test, what, atEnd) {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const found = test(this.buffer);
      if (found !== undefined) return found;
      if (this.ended) {
        if (atEnd) return atEnd();
        throw new TestClientError(`the connection closed before ${what}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new TestClientError(`timed out after ${this.timeoutMs} ms waiting for ${what}`);
      await new Promise((wake) => {
        const timer = setTimeout(wake, left);
        this.wake = () => { clearTimeout(timer); wake(); };
      });
    }
  }

  take(n) {
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  /** The bytes up to `delimiter` (which is consumed, not returned). */
  async upTo(delimiter, what) {
    const at = await this.until((b) => { const i = b.indexOf(delimiter); return i < 0 ? undefined : i; }, what);
    const out = this.take(at);
    this.take(delimiter.length);
    return out;
  }

  async bytes(n, what) {
    await this.until((b) => (b.length >= n ? true : undefined), what);
    return this.take(n);
  }

  /** Whatever is buffered once at least one byte is (or the end: an empty buffer). */
  async some(what) {
    await this.until((b) => (b.length ? true : undefined), what, () => true);
    return this.take(this.buffer.length);
  }
}

/** The status line and headers of a response. */
async function readHead(reader, what) {
  const head = (await reader.upTo('\r\n\r\n', `the response to ${what}`)).toString('latin1');
  const [statusLine, ...lines] = head.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!status) throw new TestClientError(`${what}: not an HTTP status line: ${JSON.stringify(statusLine)}`);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return { status: Number(status[1]), statusText: status[2] || '', headers };
}

/** Reads a response body as it comes: `more()` adds the next decoded bytes to `data`, false at its end. */
class BodyReader {
  constructor(reader, head, hasBody, what) {
    this.reader = reader;
    this.what = what;
    this.data = Buffer.alloc(0);
    const length = head.headers.get('content-length');
    this.chunked = /chunked/i.test(head.headers.get('transfer-encoding') || '');
    this.left = !hasBody ? 0 : this.chunked ? Infinity : length !== null ? Number(length) : Infinity;
    this.untilClose = hasBody && !this.chunked && length === null;
  }

  async more() {
    if (this.left === 0) return false;
    let piece;
    if (this.chunked) {
      const size = parseInt((await this.reader.upTo('\r\n', `a chunk size of ${this.what}`)).toString('latin1'), 16);
      if (!(size >= 0)) throw new TestClientError(`${this.what}: a malformed chunk size`);
      if (size === 0) {
        await this.reader.upTo('\r\n', `the end of ${this.what}`);
        this.left = 0;
        return false;
      }
      piece = await this.reader.bytes(size, `a chunk of ${this.what}`);
      await this.reader.bytes(2, `the end of a chunk of ${this.what}`);
    } else {
      piece = await this.reader.some(`the body of ${this.what}`);
      if (!piece.length) {
        if (!this.untilClose) throw new TestClientError(`the connection closed with ${this.left} bytes of ${this.what} missing`);
        this.left = 0;
        return false;
      }
      if (piece.length > this.left) throw new TestClientError(`${this.what}: more bytes than its Content-Length`);
      this.left -= piece.length;
    }
    this.data = Buffer.concat([this.data, piece]);
    return true;
  }

  /** Takes `n` decoded bytes off the front of `data`. */
  take(n) {
    const out = this.data.subarray(0, n);
    this.data = this.data.subarray(n);
    return out;
  }
}

/** A response as a test sees it, shaped like fetch's: status, headers (a Headers), text, json, body (the bytes). */
export class TestResponse {
  /** A gzip body (Content-Encoding: gzip) is decoded, as fetch does; the header stays. */
  constructor(head, body) {
    this.status = head.status;
    this.statusText = head.statusText;
    this.headers = head.headers;
    this.body = body.length && /^gzip$/i.test(head.headers.get('content-encoding') || '') ? gunzipSync(body) : body;
  }

  get ok() {
    return this.status >= 200 && this.status < 300;
  }

  /** The body decoded as UTF-8. */
  get text() {
    return this.body.toString('utf8');
  }

  /** The body parsed as JSON; throws naming the body when it is not JSON. */
  get json() {
    try {
      return JSON.parse(this.text);
    } catch {
      throw new TestClientError(`the body is not JSON (${this.status}, ${this.headers.get('content-type')}): ${this.text.slice(0, 200)}`);
    }
  }
}

/** The client's end of a WebSocket session. */
export class TestWebSocket {
  constructor(connection, reader, protocol) {
    this.connection = connection;
    this.reader = reader;
    this.protocol = protocol;
    this.closeCode = undefined;
    this.closeReason = undefined;
    this.closeSent = false;
  }

  sendFrame(opcode, payload) {
    const mask = randomBytes(4);
    const length = payload.length;
    const header = length < 126 ? Buffer.from([0x80 | opcode, 0x80 | length])
      : length < 65536 ? Buffer.from([0x80 | opcode, 0xfe, length >> 8, length & 255])
        : Buffer.concat([Buffer.from([0x80 | opcode, 0xff]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(length)); return b; })()]);
    const masked = Buffer.from(payload);
    for (let i = 0; i < masked.length; i++) masked[i] ^= mask[i & 3];
    this.connection.write(Buffer.concat([header, mask, masked]));
  }

  /** Sends a text message (a string) or a binary one (a Buffer or Uint8Array). */
  send(message) {
    if (this.closeSent) throw new TestClientError('the WebSocket is closed');
    if (typeof message === 'string') this.sendFrame(1, Buffer.from(message, 'utf8'));
    else this.sendFrame(2, Buffer.from(message));
  }

  ping(data = '') {
    this.sendFrame(9, Buffer.from(data));
  }

  async readFrame() {
    const [first, second] = await this.reader.bytes(2, 'a WebSocket frame');
    let length = second & 0x7f;
    if (length === 126) length = (await this.reader.bytes(2, 'a frame length')).readUInt16BE(0);
    else if (length === 127) length = Number((await this.reader.bytes(8, 'a frame length')).readBigUInt64BE(0));
    if (second & 0x80) throw new TestClientError('the server sent a masked frame (RFC 6455 5.1)');
    return { fin: (first & 0x80) !== 0, opcode: first & 0x0f, payload: await this.reader.bytes(length, 'a frame payload') };
  }

  /**
   * The next message: a string (text) or a Buffer (binary). Pings are answered on the way.
   * Resolves null once the server has closed the session (see closeCode, closeReason).
   */
  async receive() {
    const parts = [];
    let type;
    for (;;) {
      if (this.closeCode !== undefined) return null;
      let frame;
      try {
        frame = await this.readFrame();
      } catch (e) {
        if (this.reader.ended && !this.reader.buffer.length) {
          this.closeCode = 1006;
          return null;
        }
        throw e;
      }
      if (frame.opcode === 9) this.sendFrame(10, frame.payload);
      else if (frame.opcode === 8) {
        this.closeCode = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
        this.closeReason = frame.payload.subarray(2).toString('utf8');
        if (!this.closeSent) this.sendClose(frame.payload.subarray(0, 2));
        this.connection.end();
        return null;
      } else if (frame.opcode !== 10) {
        if (frame.opcode !== 0) type = frame.opcode;
        parts.push(frame.payload);
        if (frame.fin) {
          const message = Buffer.concat(parts);
          return type === 1 ? message.toString('utf8') : message;
        }
      }
    }
  }

  sendClose(payload) {
    this.closeSent = true;
    this.sendFrame(8, payload);
  }

  /** Sends a close frame and waits for the server's; resolves with its close code. */
  async close(code = 1000, reason = '') {
    if (!this.closeSent) {
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(code);
      this.sendClose(Buffer.concat([payload, Buffer.from(reason, 'utf8')]));
    }
    while (this.closeCode === undefined) await this.receive();
    this.connection.end();
    return this.closeCode;
  }
}

/** The client's end of a Server-Sent Events stream. */
export class TestEventStream {
  constructor(connection, body, response) {
    this.connection = connection;
    this.body = body;
    this.response = response;
  }

  /**
   * The next event: { event, data, id, retry } (event defaults to "message"; comments and
   * blocks without data skipped). Resolves null when the server ends the stream.
   */
  async next() {
    for (;;) {
      const text = this.body.data.toString('utf8');
      const end = /\r\n\r\n|\n\n|\r\r/.exec(text);
      if (end) {
        this.body.take(Buffer.byteLength(text.slice(0, end.index + end[0].length)));
        const event = parseEvent(text.slice(0, end.index));
        if (event) return event;
        continue;
      }
      if (!(await this.body.more())) return null;
    }
  }

  close() {
    this.connection.destroy();
  }
}

/** One event block of text/event-stream (HTML Living Standard 9.2.6), or null for a block with no data. */
function parseEvent(block) {
  const event = { event: 'message', data: undefined, id: undefined, retry: undefined };
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') event.data = event.data === undefined ? value : event.data + '\n' + value;
    else if (field === 'event') event.event = value;
    else if (field === 'id') event.id = value;
    else if (field === 'retry') event.retry = Number(value);
  }
  return event.data === undefined ? null : event;
}

/**
 * Runs an app in the emulation and sends it requests over in-memory connections. Cookies the
 * app sets are kept (one jar: names and values; Path and Domain are not matched) and sent back.
 */
export class TestClient {
  /**
   * Builds `entry` (an app's .ts, or a built bundle .js) and runs it in a fresh emulation.
   * options: board ('esp32' by default: its defaults baked in), mode ('esp32': byte strings as on a
   * board, or 'linux'), timeoutMs (per answer, 5000), storage (Storage files before the app starts:
   * { name: string }), print (each line the app prints; by default kept in `output`).
   */
  static async start(entry, options = {}) {
    if (entry instanceof URL) entry = fileURLToPath(entry);
    let code;
    if (extname(entry) === '.js') code = readFileSync(entry, 'utf8');
    else {
      const built = await buildBundle(entry, { board: options.board ?? 'esp32', write: false });
      const web = webFolderPreamble(entry, built.code);
      code = web.code + built.code;
    }
    const output = [];
    const emulation = createEspruino({
      mode: options.mode ?? 'esp32',
      network: 'memory',
      stdout: options.print ?? ((line) => output.push(line)),
    });
    for (const [name, content] of Object.entries(options.storage ?? {})) emulation.storage.write(name, content);
    const client = new TestClient(emulation, output, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    emulation.run(Buffer.from(code, 'utf8'), resolve(entry));
    if (emulation.lastRunThrew) {
      await emulation.stop();
      throw new TestClientError(`${entry} threw at start:\n${output.join('\n')}`);
    }
    await client.listening();
    return client;
  }

  constructor(emulation, output, timeoutMs) {
    this.emulation = emulation;
    /** The lines the app printed (unless options.print took them). */
    this.output = output;
    this.timeoutMs = timeoutMs;
    /** The cookie jar: name → value. */
    this.cookies = new Map();
  }

  /** Waits until the app listens (an app may start its server later, after Wi-Fi for instance). */
  async listening() {
    const deadline = Date.now() + this.timeoutMs;
    while (!this.emulation.listeningPorts().length) {
      if (Date.now() > deadline) throw new TestClientError(`the app listens on no port after ${this.timeoutMs} ms; it printed:\n${this.output.join('\n')}`);
      await new Promise((wake) => setTimeout(wake, 10));
    }
  }

  /** Opens a connection and sends a request head (and body); returns the connection and its reader. */
  send(method, path, init = {}) {
    if (!path.startsWith('/')) throw new TestClientError(`a path starts with "/": ${path}`);
    const headers = new Headers(init.headers);
    let body = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    body = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
    if (body.length || ['POST', 'PUT', 'PATCH'].includes(method)) headers.set('content-length', String(body.length));
    if (!headers.has('host')) headers.set('host', 'localhost');
    if (!headers.has('accept-encoding')) headers.set('accept-encoding', 'gzip');
    if (!headers.has('connection')) headers.set('connection', 'close');
    if (this.cookies.size && !headers.has('cookie')) headers.set('cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const ports = this.emulation.listeningPorts();
    if (init.port !== undefined && !ports.includes(Number(init.port))) throw new TestClientError(`the app listens on ${ports.join(', ') || 'no port'}, not on ${init.port}`);
    const connection = this.emulation.connect(init.port);
    const reader = new ByteReader(connection, this.timeoutMs);
    let head = `${method} ${path} HTTP/1.1\r\n`;
    for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
    connection.write(Buffer.concat([Buffer.from(head + '\r\n', 'utf8'), body]));
    return { connection, reader };
  }

  /** Keeps the cookies a response sets; Max-Age=0 or an Expires in the past removes one. */
  keepCookies(headers) {
    for (const line of headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const expired = attributes.some((a) => {
        const [key, value = ''] = a.split('=').map((s) => s.trim());
        return (/^max-age$/i.test(key) && Number(value) <= 0) || (/^expires$/i.test(key) && Date.parse(value) <= Date.now());
      });
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1).trim());
    }
  }

  /**
   * Sends a request, resolves with its TestResponse. init: headers (an object or Headers),
   * body (a string or bytes), json (a value sent as JSON, with its Content-Type), port (the
   * app's port to reach when it listens on more than one; else the first).
   */
  async request(method, path, init = {}) {
    const what = `${method} ${path}`;
    const { connection, reader } = this.send(method, path, init);
    try {
      const head = await readHead(reader, what);
      const hasBody = method !== 'HEAD' && head.status !== 204 && head.status !== 304 && head.status >= 200;
      const body = new BodyReader(reader, head, hasBody, what);
      while (await body.more());
      this.keepCookies(head.headers);
      return new TestResponse(head, body.data);
    } finally {
      connection.end();
    }
  }

  get(path, init) { return this.request('GET', path, init); }
  head(path, init) { return this.request('HEAD', path, init); }
  post(path, init) { return this.request('POST', path, init); }
  put(path, init) { return this.request('PUT', path, init); }
  patch(path, init) { return this.request('PATCH', path, init); }
  delete(path, init) { return this.request('DELETE', path, init); }
  options(path, init) { return this.request('OPTIONS', path, init); }

  /** A GET that ends in an error carrying the response when it is not the answer expected. */
  async refused(connection, reader, head, what, expected) {
    const body = new BodyReader(reader, head, true, what);
    while (body.left && await body.more().catch(() => false));
    connection.destroy();
    const error = new TestClientError(`${what} answered ${head.status} ${head.statusText}, not ${expected}: ${body.data.toString('utf8').slice(0, 200)}`);
    error.response = new TestResponse(head, body.data);
    return error;
  }

  /** Opens a WebSocket session (init: headers, protocols, port). Rejects with `.response` when not upgraded. */
  async webSocket(path, init = {}) {
    const what = `the WebSocket upgrade of ${path}`;
    const key = randomBytes(16).toString('base64');
    const headers = new Headers(init.headers);
    headers.set('upgrade', 'websocket');
    headers.set('connection', 'Upgrade');
    headers.set('sec-websocket-key', key);
    headers.set('sec-websocket-version', '13');
    if (init.protocols?.length) headers.set('sec-websocket-protocol', init.protocols.join(', '));
    const { connection, reader } = this.send('GET', path, { ...init, headers });
    const head = await readHead(reader, what);
    if (head.status !== 101) throw await this.refused(connection, reader, head, what, '101');
    const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
    if (head.headers.get('sec-websocket-accept') !== accept) {
      connection.destroy();
      throw new TestClientError(`${what}: Sec-WebSocket-Accept is ${head.headers.get('sec-websocket-accept')}, not ${accept}`);
    }
    this.keepCookies(head.headers);
    return new TestWebSocket(connection, reader, head.headers.get('sec-websocket-protocol') || undefined);
  }

  /** Opens a Server-Sent Events stream (init: headers, port). Rejects with `.response` when not one. */
  async sse(path, init = {}) {
    const what = `the event stream of ${path}`;
    const headers = new Headers(init.headers);
    if (!headers.has('accept')) headers.set('accept', 'text/event-stream');
    const { connection, reader } = this.send('GET', path, { ...init, headers });
    const head = await readHead(reader, what);
    if (head.status !== 200 || !/^text\/event-stream/.test(head.headers.get('content-type') || '')) {
      throw await this.refused(connection, reader, head, what, '200 text/event-stream');
    }
    this.keepCookies(head.headers);
    return new TestEventStream(connection, new BodyReader(reader, head, true, what), new TestResponse(head, Buffer.alloc(0)));
  }

  /** Stops the app: its timers, connections and servers. */
  close() {
    return this.emulation.stop();
  }
}
