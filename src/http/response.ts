// What a handler returns. Bodies are stored as the bytes that will be sent, so
// Content-Length is always the byte length, whatever the build's strings are.
import { encodeUtf8, jsonStringify } from '../platform/text';
import { Puller, StreamSource, puller } from './stream';
import { LIMITS } from '../settings';
import { defaultsOnPrototype } from '../platform/memory';
import type { Logger } from '../log/logger';
import type { Request } from './request';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const UNSAFE_VALUE = /[\x00\r\n]/;

export const JSON_TYPE = 'application/json';
export const HTML_TYPE = 'text/html; charset=utf-8';
export const TEXT_TYPE = 'text/plain; charset=utf-8';

/** The socket, as a protocol that took over the connection after a 101 sees it. */
export interface Transport {
  write(bytes: string): void;
  end(): void;
}

/** What a protocol taking over a connection after a 101 may read of the app. */
export interface UpgradeContext {
  logger: Logger;
  /** Free JsVars below which the protocol should refuse work (0: never). */
  minFreeJsVars: number;
  webSocketMaxMessageSize: number;
}

/** What receives the socket's events once the connection has switched protocols. */
export interface ProtocolHandler {
  onData(bytes: string): void;
  onDrain(): void;
  onClose(): void;
}

export class Response {
  /** Extra header lines, each "Name: value\r\n": one string is cheaper on the heap than a map. Starts on the prototype (below). */
  declare head: string;
  /** Set by a "Connection: close" header: the server closes after sending. Starts on the prototype (below). */
  declare closeConnection: boolean;
  /** A streamed body (sent chunked), instead of `body`. */
  stream?: Puller;
  /** The byte length of `stream` when known in advance: sent with Content-Length instead of chunked. */
  length?: number;
  /** For a 101: takes over the socket once the response is written (the seam WebSockets use). */
  upgrade?: (transport: Transport, app: UpgradeContext) => ProtocolHandler;
  /** For a 101 to a WebSocket: the subprotocol chosen, if any. */
  protocol?: string;

  /**
   * A response whose body is already bytes (a byte string). The factories below
   * encode text for you.
   */
  constructor(public body: string | null = null, public status = 200, public contentType = TEXT_TYPE) {}

  /**
   * JSON (application/json). Throws when `data` nests deeper than
   * LIMITS.maxJsonDepth (12) levels or is circular: Espruino's JSON.stringify
   * would overflow the C stack or write invalid JSON.
   */
  static json(data: unknown, status = 200): Response {
    return new Response(jsonStringify(data, LIMITS.maxJsonDepth), status, JSON_TYPE);
  }

  /** HTML text (text/html; charset=utf-8). */
  static html(content: string, status = 200): Response {
    return new Response(encodeUtf8(String(content)), status, HTML_TYPE);
  }

  /** Plain text (text/plain; charset=utf-8). */
  static plain(content: string, status = 200): Response {
    return new Response(encodeUtf8(String(content)), status, TEXT_TYPE);
  }

  /**
   * A body sent as it is produced, with chunked transfer coding (HTTP/1.0
   * clients get it unframed, then the connection closes). The next chunk is
   * pulled only once the socket has drained the last one; a client that leaves
   * stops the source.
   */
  static stream(source: StreamSource, contentType = TEXT_TYPE): Response {
    const res = new Response(null, 200, contentType);
    res.stream = puller(source);
    return res;
  }

  /** {"error": message, "code": status} as JSON. */
  static error(message: string, status = 400): Response {
    return Response.json({ error: message, code: status }, status);
  }

  /** A redirect (302 Found unless another 3xx status is given) to `location`. */
  static redirect(location: string, status = 302): Response {
    return new Response(null, status).addHeader('Location', encodeUtf8(location));
  }

  /**
   * Adds a header field. Throws when the name is not a token or the value
   * holds CR, LF or NUL (they would split the response). Content-Type replaces
   * the response's type; "Connection: close" makes the server close after
   * sending; Content-Length and Transfer-Encoding are the server's.
   */
  addHeader(name: string, value: string | number): this {
    const text = String(value);
    if (!TOKEN.test(name)) throw new Error('Invalid header name: ' + JSON.stringify(name));
    if (UNSAFE_VALUE.test(text)) throw new Error('Invalid header value for ' + name + ': CR, LF and NUL are not allowed');
    const lower = name.toLowerCase();
    if (lower === 'content-length' || lower === 'transfer-encoding') throw new Error(name + ' is set by the server');
    if (lower === 'content-type') this.contentType = text;
    else if (lower === 'connection') this.closeConnection = this.closeConnection || text.toLowerCase() === 'close';
    else this.head += name + ': ' + text + '\r\n';
    return this;
  }
}

defaultsOnPrototype(Response, {
  head: '',
  closeConnection: false,
});

/**
 * `value` if it is a Response; else (a handler or middleware that forgot to return)
 * a 500 that says so, logged once where it is found, so layers around it see a Response.
 */
export function responseOf(value: unknown, req: Request, logger: Logger): Response {
  if (value instanceof Response) return value;
  const message = 'The handler or middleware for ' + req.method + ' ' + req.path + ' returned ' + (value === null ? 'null' : typeof value) +
    ', not a Response (a missing return?)';
  logger.log(message, 'ERROR');
  return Response.error(message, 500);
}
