// Every limit and default in one place. Precedence, lowest first: these
// defaults, the board's (boards/<name>.json, baked in by `--board`), then what
// the code passes to `new MicroServer(...)` or assigns to the app. A `--port`
// given to `npm start` wins over all of them.

/** Fixed protocol limits (the reference implementation's compile-time constants). */
export const LIMITS = {
  maxRequestLine: 8192,
  maxHeaderLine: 8192,
  maxHeaders: 50,
  /** Bytes of the whole header section (431 above it): 50 lines of 8 KB would not fit an ESP32 heap. */
  maxHeaderBytes: 16384,
  /** Query parameters one request may carry (400 above it): each costs JsVars once parsed. */
  maxQueryParams: 64,
  /** Bytes of a large body written per socket 'drain' (one big write is slow on Espruino). */
  writeChunk: 4096,
  /** Bytes a client may send ahead (pipelined) while its previous request is handled. */
  maxPipelined: 16384,
  /**
   * Nesting levels req.json accepts. Espruino's JSON.parse and JSON.stringify
   * recurse in C with no stack check; inside a request handler on a 28 KB stack
   * (the 64-bit Linux build's frames are larger than the ESP32's) parsing and
   * echoing 16 levels crashed, 14 did not.
   */
  maxJsonDepth: 12,
};

export interface ServerSettings {
  port: number;
  maxConns: number;
  /** Largest request body in bytes (413 above it). */
  maxBodySize: number;
  /** Seconds an idle keep-alive connection stays open. */
  keepAliveTimeout: number;
  /** Requests served on one connection before it closes. */
  maxKeepAliveRequests: number;
  /** Seconds a request's headers and body may take to arrive (408 after). */
  bodyTimeout: number;
  serverName: string;
  /** Largest WebSocket message in bytes (1009 above it), unless a route sets its own. */
  webSocketMaxMessageSize: number;
  /**
   * Seconds a handler (with its middleware) may take to settle its promise
   * (503 after; a late answer is ignored). A stream, event stream or WebSocket
   * is not timed once its response has started. 0: no limit.
   */
  handlerTimeout: number;
  /**
   * Free JsVars below which new connections get 503 (with Retry-After) and an
   * open WebSocket that receives a message closes with 1013, instead of the
   * interpreter running out of memory. 0: no floor.
   */
  minFreeJsVars: number;
}

export const DEFAULTS: ServerSettings = {
  port: 80,
  maxConns: 10,
  maxBodySize: 1048576,
  keepAliveTimeout: 5,
  maxKeepAliveRequests: 100,
  bodyTimeout: 30,
  serverName: 'MicroServer/1.0',
  webSocketMaxMessageSize: 65536,
  handlerTimeout: 30,
  minFreeJsVars: 1000,
};

const board = __BOARD__;

/** A setting's value: the code's if given, else the board's, else the default. */
export function setting<K extends keyof ServerSettings>(key: K, fromCode: ServerSettings[K] | undefined): ServerSettings[K] {
  if (fromCode !== undefined) return fromCode;
  const fromBoard = board[key];
  return fromBoard !== undefined ? (fromBoard as ServerSettings[K]) : DEFAULTS[key];
}

/** The port `npm start -- --port N` forces, if any. */
export const FORCED_PORT = board.forcePort as number | undefined;
