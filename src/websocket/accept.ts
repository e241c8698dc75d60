// Turns a WebSocket route's handler into an HTTP handler: the handshake
// answers 101 and, once written, the socket is handed to a WebSocket that the
// route's handler receives.
import { Request } from '../http/request';
import { Response } from '../http/response';
import { Logger } from '../log/logger';
import { isThenable } from '../middleware/types';
import { handshake, WebSocketOptions } from './handshake';
import { WebSocket } from './websocket';

export type WebSocketHandler = (ws: WebSocket, req: Request) => void | Promise<void>;

/**
 * The handshake's response; once the 101 is written, `handler` gets the
 * WebSocket. `minFreeJsVars`: a message arriving below this many free JsVars
 * closes the socket with 1013 (0: never).
 */
export function acceptWebSocket(req: Request, handler: WebSocketHandler, options: WebSocketOptions, maxMessageSize: number, minFreeJsVars: number, logger: Logger): Response {
  const res = handshake(req, options);
  if (res.status !== 101) return res;
  res.upgrade = (transport) => {
    const ws = new WebSocket(transport, req, res.protocol || '', maxMessageSize, options.pingInterval);
    ws.minFreeJsVars = minFreeJsVars;
    const failed = (error: unknown) => {
      logger.log('WebSocket handler for ' + req.path + ' failed: ' + (error && (error as Error).message ? (error as Error).message : String(error)), 'ERROR');
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
