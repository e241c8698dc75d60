// The WebSocket plug-in: webSocket(handler) is a route handler that answers the
// opening handshake with 101 and, once that is written, hands the socket to a
// WebSocket that `handler` receives. A request that is no upgrade gets 426.
//   import { webSocket } from '../src/websocket';
//   app.get('/ws/echo', webSocket(async (ws) => { ... }));
// Espruino's globals, for apps that import the package:
/// <reference path="../platform/espruino.d.ts" />
import { Request } from '../http/request';
import { Response } from '../http/response';
import { isThenable } from '../http/maybe';
import { Handler, compose } from '../pipeline';
import { handshake, isUpgradeRequest, WebSocketOptions } from './handshake';
import { WebSocket, release } from './websocket';

export { WebSocket } from './websocket';
export type { WebSocketMessage } from './websocket';
export { WebSocketHub } from './hub';
export type { WebSocketOptions } from './handshake';

export type WebSocketHandler = (ws: WebSocket, req: Request) => void | Promise<void>;

/**
 * A route handler for WebSocket upgrades (GET). Options: protocols, origin,
 * maxMessageSize (default: the app's webSocketMaxMessageSize), pingInterval, and
 * middleware for this route only (run before the 101, after the app's: it can refuse).
 */
export function webSocket(handler: WebSocketHandler, options: WebSocketOptions = {}): Handler {
  if (typeof handler !== 'function') throw new Error('webSocket(handler): the handler must be a function');
  const accept: Handler = (req) => {
    if (!isUpgradeRequest(req)) return Response.error('This is a WebSocket endpoint', 426).addHeader('Upgrade', 'websocket');
    return acceptWebSocket(req, handler, options);
  };
  return options.middleware ? compose(options.middleware, accept) : accept;
}

/** The handshake's response; once the 101 is written, `handler` gets the WebSocket. */
function acceptWebSocket(req: Request, handler: WebSocketHandler, options: WebSocketOptions): Response {
  const res = handshake(req, options);
  if (res.status !== 101) return res;
  const protocol = res.protocol || '';
  res.upgrade = (transport, app) => {
    forgetHandshake(req);
    const ws = new WebSocket(transport, req, protocol, options.maxMessageSize, options.pingInterval, app);
    // The handler starts from a timer, at the bottom of the C stack, not on top of the
    // request's path (an async handler alone nests several calls); frames arriving
    // before it has run wait for it. A timer's extra arguments: no closure.
    ws.holding = true;
    (setTimeout as unknown as (f: typeof runHandler, ms: number, ws: WebSocket, handler: WebSocketHandler) => number)(runHandler, 0, ws, handler);
    return ws;
  };
  return res;
}

/** Runs the route's handler for a new WebSocket, then lets held frames through. */
function runHandler(ws: WebSocket, handler: WebSocketHandler): void {
  try {
    const result = handler(ws, ws.request);
    // Bound, not a closure here: a pending async handler keeps the socket, not this scope.
    if (isThenable(result)) result.then(undefined, handlerFailed.bind(null, ws));
  } catch (e) {
    handlerFailed(ws, e);
  }
  release(ws);
}

/**
 * Header fields only the opening handshake reads: once the 101 is written they
 * are dropped from the request the socket keeps for its lifetime (about 12
 * JsVars; a browser's Sec-WebSocket-Extensions adds more). Middleware, the
 * origin hook and the handshake itself still see them all.
 */
const HANDSHAKE_FIELDS = ['upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions'];

function forgetHandshake(req: Request): void {
  for (let i = 0; i < HANDSHAKE_FIELDS.length; i++) delete req.headers[HANDSHAKE_FIELDS[i]];
}

/** The handler threw or its promise rejected: log it and close with 1011. */
function handlerFailed(ws: WebSocket, error: unknown): void {
  if (ws.app) ws.app.logger.log('WebSocket handler for ' + ws.request.path + ' failed: ' + (error && (error as Error).message ? (error as Error).message : String(error)), 'ERROR');
  if (!ws.closed) ws.close(1011, 'Internal error');
}
