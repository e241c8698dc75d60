// The opening handshake (RFC 6455 §4.2): checks the upgrade request and
// answers 101 with the accept key, or refuses with the status the RFC names.
import { Middleware } from '../pipeline';
import { headerTokens, hasHeaderToken } from '../http/tokens';
import { Request } from '../http/request';
import { Response } from '../http/response';
import { sha1Base64 } from '../platform/crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface WebSocketOptions {
  /** Subprotocols the route speaks, in order of preference among those a client offers. */
  protocols?: string[];
  /** Decides whether a page from `origin` may connect (403 otherwise). Browsers send Origin; other clients may not. */
  origin?: (origin: string | undefined, req: Request) => boolean;
  /** Largest message (or frame) in bytes; larger ones close with 1009. Default: app.webSocketMaxMessageSize. */
  maxMessageSize?: number;
  /** Seconds between pings; a client that misses two pongs is disconnected. 0: no pings. Default 30. */
  pingInterval?: number;
  /** Middleware for this route only, run for the upgrade request after the app's: it can refuse before the 101. */
  middleware?: Middleware[];
}

/** True when the request asks to become a WebSocket (whether or not it does so correctly). */
export function isUpgradeRequest(req: Request): boolean {
  return hasHeaderToken(req.headers.upgrade, 'websocket');
}

function validKey(key: string | undefined): boolean {
  if (key === undefined || key.length !== 24) return false;
  try {
    return atob(key).length === 16;
  } catch (e) {
    return false;
  }
}

/** The 101 response for a valid upgrade request, or the error response that refuses it. */
export function handshake(req: Request, options: WebSocketOptions): Response {
  if (req.method !== 'GET') return Response.error('A WebSocket handshake must be a GET request', 400);
  if (req.version !== 11) return Response.error('A WebSocket handshake needs HTTP/1.1', 400);
  if (!hasHeaderToken(req.headers.connection, 'upgrade')) return Response.error('Connection: Upgrade is required', 400);
  if (req.headers['sec-websocket-version'] !== '13') {
    return Response.error('Unsupported WebSocket version', 426).addHeader('Sec-WebSocket-Version', '13');
  }
  const key = req.headers['sec-websocket-key'];
  if (!validKey(key)) return Response.error('Sec-WebSocket-Key must be 16 bytes in base64', 400);
  if (options.origin && !options.origin(req.headers.origin, req)) return Response.error('Origin not allowed', 403);
  const res = new Response(null, 101).addHeader('Upgrade', 'websocket').addHeader('Sec-WebSocket-Accept', sha1Base64(key + GUID));
  res.head += 'Connection: Upgrade\r\n'; // addHeader leaves Connection to the server
  const offered = headerTokens(req.headers['sec-websocket-protocol']);
  const spoken = options.protocols || [];
  for (let i = 0; i < spoken.length; i++) {
    if (offered.indexOf(spoken[i].toLowerCase()) >= 0) {
      res.addHeader('Sec-WebSocket-Protocol', spoken[i]);
      res.protocol = spoken[i];
      break;
    }
  }
  return res;
}
