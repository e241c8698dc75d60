// One client socket: its parser, its one timer, keep-alive bookkeeping, and
// writing responses with back-pressure. The flow per request:
// data -> parser -> server.handle (middleware, router, handler) -> write -> next or close.
import { RequestParser, ParsedMessage, NEED_MORE, ERROR } from './parser';
import { Request } from './request';
import { Response } from './response';
import { reasonPhrase, statusHasBody } from './status';
import { isThenable } from '../middleware/types';
import { Socket } from '../platform/net';
import { httpDate, startTimer, stopTimer } from '../platform/clock';
import { LIMITS } from '../settings';

/** What a connection needs from the server. */
export interface ConnectionHost {
  maxBodySize: number;
  keepAliveTimeout: number;
  maxKeepAliveRequests: number;
  bodyTimeout: number;
  serverName: string;
  stopping: boolean;
  isKnownMethod(method: string): boolean;
  handle(req: Request): Response | Promise<Response>;
  errorResponse(req: Request | null, error: unknown): Response;
  connectionClosed(connection: Connection): void;
}

const NO_TIMER = 0;
const IDLE_TIMER = 1;
const REQUEST_TIMER = 2;

/** True when a comma-separated header value lists `token` (case-insensitive). */
function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const items = value.toLowerCase().split(',');
  for (let i = 0; i < items.length; i++) if (items[i].trim() === token) return true;
  return false;
}

/** Status line and header block of a response. */
export function responseHead(res: Response, serverName: string, bodyLength: number, connection: string): string {
  let head = 'HTTP/1.1 ' + res.status + ' ' + reasonPhrase(res.status) + '\r\nServer: ' + serverName + '\r\nDate: ' + httpDate() + '\r\n';
  if (statusHasBody(res.status)) head += 'Content-Type: ' + res.contentType + '\r\nContent-Length: ' + bodyLength + '\r\n';
  return head + connection + res.head + '\r\n';
}

export class Connection {
  private parser: RequestParser;
  private timer: number | undefined;
  private timerKind = NO_TIMER;
  private busy = false;
  private closed = false;
  private closeAfter = false;
  private served = 0;
  /** Body bytes still to write, a piece per 'drain'. */
  private unsent = '';

  constructor(private host: ConnectionHost, private socket: Socket) {
    this.parser = new RequestParser(host.maxBodySize, (method) => host.isKnownMethod(method));
    socket.on('data', (data) => this.onData(data));
    socket.on('drain', () => this.onDrain());
    socket.on('close', () => this.onClose());
    this.waitForRequest();
  }

  /** Closes the connection now if it is idle, else after its current response. */
  shutdown(): void {
    if (this.busy) this.closeAfter = true;
    else this.close();
  }

  private onData(data: string): void {
    if (this.closed) return;
    this.parser.feed(data);
    if (!this.busy) this.process();
    else if (this.parser.pending > LIMITS.maxPipelined) this.closeAfter = true;
  }

  private process(): void {
    const result = this.parser.next();
    if (result === NEED_MORE) {
      if (this.parser.expectsContinue) {
        this.parser.expectsContinue = false;
        this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      }
      if (this.parser.inMessage && this.timerKind !== REQUEST_TIMER) {
        this.setTimer(REQUEST_TIMER, this.host.bodyTimeout, () => this.fail(408, 'Request not received in time'));
      }
      return;
    }
    if (result === ERROR) this.fail(this.parser.errorStatus, this.parser.errorMessage);
    else this.dispatch(this.parser.message as ParsedMessage);
  }

  private dispatch(message: ParsedMessage): void {
    this.busy = true;
    this.setTimer(NO_TIMER, 0);
    this.served++;
    const connection = message.headers.connection;
    const keepAlive = message.version === 11 ? !hasToken(connection, 'close') : hasToken(connection, 'keep-alive');
    if (!keepAlive || this.served >= this.host.maxKeepAliveRequests || this.host.stopping) this.closeAfter = true;
    const req = new Request(message, this.socket.remoteAddress || '-');
    let result: Response | Promise<Response>;
    try {
      result = this.host.handle(req);
    } catch (e) {
      result = this.host.errorResponse(req, e);
    }
    if (isThenable(result)) {
      result.then((res) => this.respond(req, res), (e) => this.respond(req, this.host.errorResponse(req, e)));
    } else this.respond(req, result);
  }

  private respond(req: Request, res: Response): void {
    if (this.closed) return;
    if (!(res instanceof Response)) {
      const what = res === null ? 'null' : typeof res;
      res = this.host.errorResponse(req, new Error('Handler for ' + req.method + ' ' + req.path + ' returned ' + what + ', not a Response'));
    }
    if (res.closeConnection) this.closeAfter = true;
    this.send(res, req.method === 'HEAD', req.version);
  }

  /** A response that ends the connection: protocol errors, timeouts. */
  private fail(status: number, message: string): void {
    this.closeAfter = true;
    this.busy = true;
    this.send(Response.error(message, status), false, 11);
  }

  private send(res: Response, headOnly: boolean, version: number): void {
    const body = res.body === null || !statusHasBody(res.status) ? '' : res.body;
    const connection = this.closeAfter ? 'Connection: close\r\n' : version === 10 ? 'Connection: keep-alive\r\n' : '';
    const head = responseHead(res, this.host.serverName, body.length, connection);
    if (headOnly || body.length <= LIMITS.writeChunk) {
      this.socket.write(headOnly ? head : head + body);
      this.sent();
    } else {
      this.socket.write(head + body.substring(0, LIMITS.writeChunk));
      this.unsent = body.substring(LIMITS.writeChunk);
    }
  }

  private onDrain(): void {
    if (this.closed || !this.unsent) return;
    const piece = this.unsent.substring(0, LIMITS.writeChunk);
    this.unsent = this.unsent.substring(LIMITS.writeChunk);
    this.socket.write(piece);
    if (!this.unsent) this.sent();
  }

  /** The response is handed to the socket: close, or serve what is pipelined, or wait. */
  private sent(): void {
    if (this.closeAfter) {
      this.close();
      return;
    }
    this.busy = false;
    this.waitForRequest();
    // Pipelined requests continue from a timer so a long pipeline cannot nest calls (the C stack is small).
    if (this.parser.pending) startTimer(() => { if (!this.closed && !this.busy) this.process(); }, 0);
  }

  private waitForRequest(): void {
    this.setTimer(IDLE_TIMER, this.host.keepAliveTimeout, () => this.close());
  }

  private setTimer(kind: number, seconds: number, onTimeout?: () => void): void {
    this.timer = stopTimer(this.timer);
    this.timerKind = kind;
    if (onTimeout) {
      this.timer = startTimer(() => {
        this.timer = undefined;
        this.timerKind = NO_TIMER;
        onTimeout();
      }, seconds * 1000);
    }
  }

  private close(): void {
    if (this.closed) return;
    this.setTimer(NO_TIMER, 0);
    this.socket.end();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsent = '';
    this.setTimer(NO_TIMER, 0);
    this.host.connectionClosed(this);
  }
}
