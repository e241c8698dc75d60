// One accepted WebSocket: frames in through the parser, messages out to
// receive() or 'message' listeners, frames written whole so concurrent sends
// never interleave. Internals are plain functions taking the socket, not
// methods: Espruino never frees an object after seven nested method calls on
// it (see src/http/connection.ts).
//
// An open, idle WebSocket should cost the heap little (JsVars: each property
// is one or two, a closure with its scope ten or more):
// - fields keep their defaults on the prototype and an instance holds only
//   those that changed (names of at most 8 characters take one JsVar on a
//   64-bit build, longer ones two);
// - the frame parser exists only while a frame or fragmented message is
//   arriving;
// - one listener is kept as it is, an array only for two or more;
// - pings come from one shared 1-second ticker for every socket (a timer and
//   its closure per socket cost about 11 JsVars each);
// - the app's settings are read from the app when needed, not copied.
//
// C stack: a message goes socket 'data' -> onData -> listener -> send ->
// socket.write, each step returning before the next where it can (the parser
// and UTF-8 checks return before the listener is called).
import { Request } from '../http/request';
import { ProtocolHandler, Transport, UpgradeContext } from '../http/response';
import { decodeUtf8, encodeUtf8 } from '../platform/text';
import { startTimer, stopTimer, SecondTicker } from '../platform/clock';
import { belowMemoryFloor, defaultsOnPrototype, appended, EMPTY_LIST } from '../platform/memory';
import { FrameParser, unset, encodeFrame, encodeClose, NEED_MORE, MESSAGE, CONTROL, TEXT, BINARY, CLOSE, PING, PONG } from './frames';

/** A received message: text as a string, binary as a Uint8Array. */
export type WebSocketMessage = string | Uint8Array;

type MessageListener = (message: WebSocketMessage) => void;
type CloseListener = (code: number, reason: string) => void;
/** Listeners as few JsVars as they can be: none (null), one function, or an array of two or more. */
type Listeners<F> = F | F[] | null;

/** What a WebSocketHub does when a socket it holds closes (hub.ts). */
export interface SocketSet {
  remove(ws: WebSocket): void;
}

const ABNORMAL_CLOSURE = 1006;
/** Messages kept for receive() before the peer is told it is sending too fast (1008). */
const MAX_UNREAD = 64;
/** Seconds to wait for the peer's close frame after ours. */
const CLOSE_TIMEOUT = 2;
/** The largest message of a WebSocket made without an app or a limit. */
const DEFAULT_MAX_MESSAGE = 65536;

export class WebSocket implements ProtocolHandler {
  // Fields declared without a value start on the prototype (set below): an
  // open socket holds only what has changed, JsVars being the scarce thing.
  /** True once the connection is closed (receive() then gives null). */
  declare closed: boolean;
  /** The close code and reason once closed (1006: the connection dropped without a close frame). */
  declare closeCode: number;
  declare closeReason: string;
  /** The subprotocol agreed in the handshake ("" for none). */
  declare protocol: string;
  /** Seconds between pings (whole seconds; default 30); a peer that misses two pongs is disconnected. 0: no pings. */
  declare pingInterval: number;
  /**
   * A message arriving with fewer JsVars free closes the socket with 1013 (Try
   * Again Later). 0 (the default): the app's minFreeJsVars, read when a message arrives.
   */
  declare minFreeJsVars: number;
  /** The app that accepted the socket: its minFreeJsVars and webSocketMaxMessageSize (null if made without one). */
  declare app: UpgradeContext | null;
  /** The route's message size limit in bytes (0: the app's webSocketMaxMessageSize). */
  declare maxSize: number;

  /** Only while a frame or a fragmented message is arriving (deleted when idle). */
  parser?: FrameParser;
  declare unread: WebSocketMessage[];
  declare waiting: Array<(message: WebSocketMessage | null) => void>;
  declare onMsg: Listeners<MessageListener>;
  declare onEnd: Listeners<CloseListener>;
  /** The WebSocketHub (or hubs: an array) holding this socket; told when it closes. */
  declare hubs: Listeners<SocketSet>;
  declare closeSent: boolean;
  /** Pings sent since the last pong. */
  declare missed: number;
  /** The second of the shared ticker at which the next ping is due. */
  declare pingAt: number;
  declare closeTimer: number | undefined;
  /** True from the 101 until the route's handler has run (see release): bytes that arrive meanwhile wait in the parser. */
  declare holding: boolean;

  /**
   * @param transport the socket (write bytes, end)
   * @param request the upgrade request: headers, path and query parameters
   * @param protocol the subprotocol agreed in the handshake ("" for none)
   * @param maxMessageSize bytes; larger messages close with 1009 (0: the app's webSocketMaxMessageSize)
   * @param pingInterval seconds (default 30; 0: no pings)
   * @param app the app: its minFreeJsVars and webSocketMaxMessageSize
   */
  constructor(public transport: Transport, public request: Request, protocol: string, maxMessageSize?: number, pingInterval?: number, app?: UpgradeContext) {
    if (protocol) this.protocol = protocol;
    if (maxMessageSize) this.maxSize = maxMessageSize;
    if (pingInterval !== undefined && pingInterval !== this.pingInterval) this.pingInterval = pingInterval;
    if (app) this.app = app;
    if (this.pingInterval > 0) watch(this);
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
    // Framed first, then written from this frame: no call deeper than the socket's write.
    const frame = typeof data === 'string' ? encodeFrame(TEXT, encodeUtf8(data)) : encodeFrame(BINARY, E.toString(data instanceof ArrayBuffer ? new Uint8Array(data) : data));
    try {
      this.transport.write(frame);
    } catch (e) {
      // The peer left: the queued 'close' cleans up (see writeSocket in platform/net).
    }
    return Promise.resolve(true);
  }

  /** Starts the closing handshake; resolves once the connection is closed. */
  close(code = 1000, reason = ''): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) {
        resolve();
        return;
      }
      this.onEnd = added(this.onEnd, () => resolve());
      startClose(this, code, reason);
    });
  }

  /** Espruino-style events: 'message' (then receive() gets nothing) and 'close' (code, reason). */
  on(event: 'message', listener: (message: WebSocketMessage) => void): this;
  on(event: 'close', listener: (code: number, reason: string) => void): this;
  on(event: string, listener: (...args: any[]) => void): this {
    if (event === 'message') this.onMsg = added(this.onMsg, listener);
    else if (event === 'close') this.onEnd = added(this.onEnd, listener);
    else throw new Error('WebSocket events are "message" and "close", not ' + event);
    return this;
  }

  /** Bytes from the socket: frames parsed, messages handed on, control frames answered. */
  onData(bytes: string): void {
    // One function for the whole loop (no helper per message): each nested call costs C stack.
    const ws = this;
    if (ws.closed) return;
    let parser = ws.parser;
    if (!parser) parser = ws.parser = new FrameParser(ws.maxSize || (ws.app ? ws.app.webSocketMaxMessageSize : DEFAULT_MAX_MESSAGE));
    parser.feed(bytes);
    if (ws.holding) return;
    for (;;) {
      const result = parser.next();
      if (result === NEED_MORE) {
        // Between frames an idle socket keeps no parser.
        if (parser.idle() && ws.parser === parser) delete ws.parser;
        return;
      }
      if (result === MESSAGE) {
        if (belowMemoryFloor(ws.minFreeJsVars || (ws.app ? ws.app.minFreeJsVars : 0))) {
          failConnection(ws, 1013, 'Try Again Later');
          return;
        }
        const message = parser.messageType === TEXT ? decodeUtf8(parser.message) : E.toUint8Array(parser.message);
        parser.clearMessage(); // an idle socket should not hold its last message
        const listeners = ws.onMsg;
        if (listeners) {
          if (typeof listeners === 'function') listeners(message);
          else for (let i = 0; i < listeners.length; i++) listeners[i](message);
        } else if (ws.waiting.length) {
          (ws.waiting.shift() as (message: WebSocketMessage | null) => void)(message);
        } else if (ws.unread.length < MAX_UNREAD) {
          ws.unread = appended(ws.unread, message);
        } else {
          failConnection(ws, 1008, 'Too many unread messages');
          return;
        }
        if (ws.closed) return;
      } else if (result === CONTROL) {
        const type = parser.controlType;
        if (type === PING) {
          if (!ws.closeSent) writeFrame(ws, PONG, parser.controlData);
        } else if (type === PONG) {
          unset(ws, 'missed');
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

  onDrain(): void {}

  onClose(): void {
    finish(this, this.closeCode || ABNORMAL_CLOSURE, this.closeReason);
  }
}

defaultsOnPrototype(WebSocket, {
  closed: false,
  closeCode: 0,
  closeReason: '',
  protocol: '',
  pingInterval: 30,
  minFreeJsVars: 0,
  app: null,
  maxSize: 0,
  unread: EMPTY_LIST,
  waiting: EMPTY_LIST,
  onMsg: null,
  onEnd: null,
  hubs: null,
  closeSent: false,
  missed: 0,
  pingAt: 0,
  holding: false,
});

/**
 * The route's handler has run: frames that arrived before it (held in the
 * parser) are handled now, so its 'message' listeners get them.
 */
export function release(ws: WebSocket): void {
  if (!ws.holding) return;
  unset(ws, 'holding');
  if (ws.parser && !ws.closed) ws.onData('');
}

/** `list` with `item` added: the item alone, or an array once there are two. */
export function added<T>(list: Listeners<T>, item: T): Listeners<T> {
  if (list === null) return item;
  if (!Array.isArray(list)) return [list, item];
  list.push(item);
  return list;
}

function writeFrame(ws: WebSocket, opcode: number, payload: string): void {
  const frame = encodeFrame(opcode, payload);
  try {
    ws.transport.write(frame);
  } catch (e) {
    // the queued 'close' follows
  }
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
  // Only while closing (2 s at most): a timer of its own.
  ws.closeTimer = startTimer(() => {
    ws.closeTimer = undefined;
    ws.transport.end();
    finish(ws, code, reason);
  }, CLOSE_TIMEOUT * 1000);
}

// --- Pings: one ticker for every open socket that pings.

/** Sockets that ping, checked once a second while there are any. */
const pings = new SecondTicker<WebSocket>((ws, second) => {
  if (second >= ws.pingAt) ping(ws);
});

function watch(ws: WebSocket): void {
  // +1: the next tick may come at once, and a ping is never due early.
  ws.pingAt = pings.second + Math.ceil(ws.pingInterval) + 1;
  pings.watch(ws);
}

function unwatch(ws: WebSocket): void {
  pings.unwatch(ws);
}

function ping(ws: WebSocket): void {
  if (ws.closed || ws.closeSent) return;
  if (!(ws.pingInterval > 0)) {
    unwatch(ws); // pings turned off meanwhile
    return;
  }
  if (ws.missed >= 2) {
    // Two intervals without a pong: the peer is gone.
    ws.closeCode = ABNORMAL_CLOSURE;
    ws.transport.end();
    finish(ws, ABNORMAL_CLOSURE, 'No pong received');
    return;
  }
  ws.missed++;
  ws.pingAt = pings.second + Math.ceil(ws.pingInterval);
  writeFrame(ws, PING, '');
}

/** Closed for good: stop pinging, wake receive() with null, tell the hubs and the 'close' listeners once. */
function finish(ws: WebSocket, code: number, reason: string): void {
  if (ws.closed) return;
  ws.closed = true;
  unwatch(ws);
  delete ws.parser;
  ws.closeTimer = stopTimer(ws.closeTimer);
  if (!ws.closeCode) ws.closeCode = code;
  const waiting = ws.waiting;
  ws.waiting = EMPTY_LIST;
  for (let i = 0; i < waiting.length; i++) waiting[i](null);
  const hubs = ws.hubs;
  ws.hubs = null;
  if (hubs) {
    if (!Array.isArray(hubs)) hubs.remove(ws);
    else for (let i = 0; i < hubs.length; i++) hubs[i].remove(ws);
  }
  const listeners = ws.onEnd;
  ws.onEnd = null;
  if (typeof listeners === 'function') listeners(code, reason);
  else if (listeners) for (let i = 0; i < listeners.length; i++) listeners[i](code, reason);
}
