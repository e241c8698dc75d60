// The WebSocket plug-in: webSocket(handler) is a route handler that answers the
// opening handshake with 101 and, once that is written, hands the socket to a
// WebSocket that `handler` receives. A request that is no upgrade gets 426.
//   import { webSocket } from '../src/websocket';
//   app.get('/ws/echo', webSocket(async (ws) => { ... }));
import { Request } from '../http/request';
import { Response } from '../http/response';
import { isThenable } from '../http/maybe';
import { Handler, compose } from '../pipeline';
import { handshake, isUpgradeRequest, WebSocketOptions } from './handshake';
import { WebSocket } from './websocket';

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
  res.upgrade = (transport, app) => {
    const ws = new WebSocket(transport, req, res.protocol || '', options.maxMessageSize || app.webSocketMaxMessageSize, options.pingInterval);
    // A message arriving below this many free JsVars closes the socket with 1013.
    ws.minFreeJsVars = app.minFreeJsVars;
    const failed = (error: unknown) => {
      app.logger.log('WebSocket handler for ' + req.path + ' failed: ' + (error && (error as Error).message ? (error as Error).message : String(error)), 'ERROR');
      if (!ws.closed) ws.close(1011, 'Internal error');
    };
    try {
      const result = handler(ws, req);
      if (isThenable(result)) result.then(undefined, failed);
    } catch (e) {
      failed(e);
    }
    return ws;
  };
  return res;
}
