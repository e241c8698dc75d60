// One accepted WebSocket: frames in through the parser, messages out to
// receive() or 'message' listeners, frames written whole so concurrent sends
// never interleave. Internals are plain functions taking the socket, not
// methods: Espruino never frees an object after seven nested method calls on
// it (see src/http/connection.ts).
import { Request } from '../http/request';
import { ProtocolHandler, Transport } from '../http/response';
import { writeSocket } from '../platform/net';
import { decodeUtf8, encodeUtf8 } from '../platform/text';
import { startTimer, stopTimer } from '../platform/clock';
import { belowMemoryFloor, defaultsOnPrototype, appended, EMPTY_LIST } from '../platform/memory';
import { FrameParser, encodeFrame, encodeClose, NEED_MORE, MESSAGE, CONTROL, TEXT, BINARY, CLOSE, PING, PONG } from './frames';

/** A received message: text as a string, binary as a Uint8Array. */
export type WebSocketMessage = string | Uint8Array;

const ABNORMAL_CLOSURE = 1006;
/** Messages kept for receive() before the peer is told it is sending too fast (1008). */
const MAX_UNREAD = 64;
/** Seconds to wait for the peer's close frame after ours. */
const CLOSE_TIMEOUT = 2;

export class WebSocket implements ProtocolHandler {
  // Fields declared without a value start on the prototype (set below): an
  // open socket holds only what has changed, JsVars being the scarce thing.
  /** True once the connection is closed (receive() then gives null). */
  declare closed: boolean;
  /** The close code and reason once closed (1006: the connection dropped without a close frame). */
  declare closeCode: number;
  declare closeReason: string;
  /** Seconds between pings; a peer that misses two pongs is disconnected. 0 stops pinging. */
  pingInterval: number;
  /** A message arriving with fewer JsVars free closes the socket with 1013 (Try Again Later). 0: never. */
  declare minFreeJsVars: number;

  parser: FrameParser;
  declare unread: WebSocketMessage[];
  declare waiting: Array<(message: WebSocketMessage | null) => void>;
  declare messageListeners: Array<(message: WebSocketMessage) => void>;
  declare closeListeners: Array<(code: number, reason: string) => void>;
  declare closeSent: boolean;
  declare missedPongs: number;
  declare pingTimer: number | undefined;
  declare closeTimer: number | undefined;

  /**
   * @param transport the socket (write bytes, end)
   * @param request the upgrade request: headers, path and query parameters
   * @param protocol the subprotocol agreed in the handshake ("" for none)
   * @param maxMessageSize bytes; larger messages close with 1009
   * @param pingInterval seconds (default 30; 0: no pings)
   */
  constructor(public transport: Transport, public request: Request, public protocol: string, maxMessageSize: number, pingInterval = 30) {
    this.parser = new FrameParser(maxMessageSize);
    this.pingInterval = pingInterval;
    armPing(this);
  }

  /** The next message, or null once the connection is closed. */
  receive(): Promise<WebSocketMessage | null> {
    if (this.unread.length) return Promise.resolve(this.unread.shift() as WebSocketMessage);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => { this.waiting = appended(this.waiting, resolve); });
  }

  /**
   * Sends a text (string) or binary (Uint8Array, ArrayBuffer) message. Resolves
   * true once handed to the socket, false when the socket is closing or closed
   * (no rejection, so a fire-and-forget send racing a close is harmless).
   */
  send(data: string | Uint8Array | ArrayBuffer): Promise<boolean> {
    if (this.closed || this.closeSent) return Promise.resolve(false);
    if (typeof data === 'string') writeFrame(this, TEXT, encodeUtf8(data));
    else writeFrame(this, BINARY, E.toString(data instanceof ArrayBuffer ? new Uint8Array(data) : data));
    return Promise.resolve(true);
  }

  /** Starts the closing handshake; resolves once the connection is closed. */
  close(code = 1000, reason = ''): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) {
        resolve();
        return;
      }
      this.closeListeners = appended(this.closeListeners, () => resolve());
      startClose(this, code, reason);
    });
  }

  /** Espruino-style events: 'message' (then receive() gets nothing) and 'close' (code, reason). */
  on(event: 'message', listener: (message: WebSocketMessage) => void): this;
  on(event: 'close', listener: (code: number, reason: string) => void): this;
  on(event: string, listener: (...args: any[]) => void): this {
    if (event === 'message') this.messageListeners = appended(this.messageListeners, listener);
    else if (event === 'close') this.closeListeners = appended(this.closeListeners, listener);
    else throw new Error('WebSocket events are "message" and "close", not ' + event);
    return this;
  }

  onData(bytes: string): void {
    handleData(this, bytes);
  }

  onDrain(): void {}

  onClose(): void {
    finish(this, this.closeCode || ABNORMAL_CLOSURE, this.closeReason);
  }
}

defaultsOnPrototype(WebSocket, {
  closed: false,
  closeCode: 0,
  closeReason: '',
  minFreeJsVars: 0,
  unread: EMPTY_LIST,
  waiting: EMPTY_LIST,
  messageListeners: EMPTY_LIST,
  closeListeners: EMPTY_LIST,
  closeSent: false,
  missedPongs: 0,
});

function writeFrame(ws: WebSocket, opcode: number, payload: string): void {
  writeSocket(ws.transport, encodeFrame(opcode, payload));
}

function handleData(ws: WebSocket, bytes: string): void {
  if (ws.closed) return;
  const parser = ws.parser;
  parser.feed(bytes);
  for (;;) {
    const result = parser.next();
    if (result === NEED_MORE) return;
    if (result === MESSAGE) {
      if (belowMemoryFloor(ws.minFreeJsVars)) {
        failConnection(ws, 1013, 'Try Again Later');
        return;
      }
      const message = parser.messageType === TEXT ? decodeUtf8(parser.message) : E.toUint8Array(parser.message);
      parser.message = ''; // an idle socket should not hold its last message
      if (!deliver(ws, message)) return;
    } else if (result === CONTROL) {
      if (parser.controlType === PING) {
        if (!ws.closeSent) writeFrame(ws, PONG, parser.controlData);
      } else if (parser.controlType === PONG) {
        ws.missedPongs = 0;
      } else {
        // The peer closes (or answers our close): echo its code, then end the TCP connection.
        if (!ws.closeSent) writeFrame(ws, CLOSE, encodeClose(parser.closeCode));
        ws.closeSent = true;
        ws.closeCode = parser.closeCode;
        ws.closeReason = decodeUtf8(parser.closeReason);
        ws.transport.end();
        finish(ws, parser.closeCode, ws.closeReason);
        return;
      }
    } else {
      failConnection(ws, parser.errorCode, parser.errorReason);
      return;
    }
  }
}

/** Hands a message to the listeners, a waiting receive(), or the unread queue. Returns false if that failed the connection. */
function deliver(ws: WebSocket, message: WebSocketMessage): boolean {
  if (ws.messageListeners.length) {
    for (let i = 0; i < ws.messageListeners.length; i++) ws.messageListeners[i](message);
  } else if (ws.waiting.length) {
    (ws.waiting.shift() as (message: WebSocketMessage | null) => void)(message);
  } else if (ws.unread.length < MAX_UNREAD) {
    ws.unread = appended(ws.unread, message);
  } else {
    failConnection(ws, 1008, 'Too many unread messages');
    return false;
  }
  return true;
}

/** A protocol error (RFC 6455 §7.1.7) or memory running out: send the close code and drop the connection. */
function failConnection(ws: WebSocket, code: number, reason: string): void {
  if (!ws.closeSent) writeFrame(ws, CLOSE, encodeClose(code, reason));
  ws.closeSent = true;
  ws.closeCode = code;
  ws.closeReason = reason;
  ws.transport.end();
  finish(ws, code, reason);
}

function startClose(ws: WebSocket, code: number, reason: string): void {
  if (ws.closeSent) return;
  if (code !== 1000 && !(code >= 3000 && code <= 4999) && [1001, 1008, 1011, 1013].indexOf(code) < 0) {
    throw new Error('WebSocket close code ' + code + ' cannot be sent: use 1000, 1001, 1008, 1011, 1013 or 3000-4999');
  }
  writeFrame(ws, CLOSE, encodeClose(code, reason));
  ws.closeSent = true;
  ws.closeCode = code;
  ws.closeReason = reason;
  ws.closeTimer = startTimer(() => {
    ws.closeTimer = undefined;
    ws.transport.end();
    finish(ws, code, reason);
  }, CLOSE_TIMEOUT * 1000);
}

function armPing(ws: WebSocket): void {
  ws.pingTimer = stopTimer(ws.pingTimer);
  if (ws.pingInterval > 0 && !ws.closed) ws.pingTimer = startTimer(() => ping(ws), ws.pingInterval * 1000);
}

function ping(ws: WebSocket): void {
  ws.pingTimer = undefined;
  if (ws.closed || ws.closeSent) return;
  if (ws.missedPongs >= 2) {
    // Two intervals without a pong: the peer is gone.
    ws.closeCode = ABNORMAL_CLOSURE;
    ws.transport.end();
    finish(ws, ABNORMAL_CLOSURE, 'No pong received');
    return;
  }
  ws.missedPongs++;
  writeFrame(ws, PING, '');
  armPing(ws);
}

/** Closed for good: stop the timers, wake receive() with null, tell the 'close' listeners once. */
function finish(ws: WebSocket, code: number, reason: string): void {
  if (ws.closed) return;
  ws.closed = true;
  ws.pingTimer = stopTimer(ws.pingTimer);
  ws.closeTimer = stopTimer(ws.closeTimer);
  if (!ws.closeCode) ws.closeCode = code;
  const waiting = ws.waiting;
  ws.waiting = EMPTY_LIST;
  for (let i = 0; i < waiting.length; i++) waiting[i](null);
  const listeners = ws.closeListeners;
  ws.closeListeners = EMPTY_LIST;
  for (let i = 0; i < listeners.length; i++) listeners[i](code, reason);
}
