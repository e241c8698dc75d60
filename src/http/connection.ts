// One client socket: its parser, its one timer, keep-alive bookkeeping, and
// writing responses with back-pressure. The flow per request:
// data -> parser -> server.handle (middleware, router, handler) -> write -> next or close.
import { RequestParser, ParsedMessage, NEED_MORE, ERROR } from './parser';
import { Request } from './request';
import { Response } from './response';
import { reasonPhrase, statusHasBody } from './status';
import { isThenable } from '../middleware/types';
import { Logger } from '../log/logger';
import { Puller } from './stream';
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
  logger: Logger;
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

/**
 * Status line and header block of a response. `framing` is the Content-Length
 * or Transfer-Encoding line (if any) and the Connection line.
 */
export function responseHead(res: Response, serverName: string, framing: string): string {
  let head = 'HTTP/1.1 ' + res.status + ' ' + reasonPhrase(res.status) + '\r\nServer: ' + serverName + '\r\nDate: ' + httpDate() + '\r\n';
  if (statusHasBody(res.status)) head += 'Content-Type: ' + res.contentType + '\r\n';
  return head + framing + res.head + '\r\n';
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
  /** The streamed body being sent, pulled a chunk per 'drain'. */
  private streaming: Puller | null = null;
  private chunked = false;
  private awaitingDrain = false;

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
    if (res.stream) {
      this.sendStream(res, res.stream, headOnly, version);
      return;
    }
    const hasBody = statusHasBody(res.status);
    const body = res.body === null || !hasBody ? '' : res.body;
    const head = responseHead(res, this.host.serverName, (hasBody ? 'Content-Length: ' + body.length + '\r\n' : '') + this.connectionLine(version));
    if (headOnly || body.length <= LIMITS.writeChunk) {
      this.socket.write(headOnly ? head : head + body);
      this.sent();
    } else {
      this.socket.write(head + body.substring(0, LIMITS.writeChunk));
      this.unsent = body.substring(LIMITS.writeChunk);
    }
  }

  private connectionLine(version: number): string {
    return this.closeAfter ? 'Connection: close\r\n' : version === 10 ? 'Connection: keep-alive\r\n' : '';
  }

  /** HTTP/1.1 gets chunks; HTTP/1.0 has no chunking, so the body ends when the connection closes. */
  private sendStream(res: Response, stream: Puller, headOnly: boolean, version: number): void {
    this.chunked = version === 11;
    if (!this.chunked) this.closeAfter = true;
    const framing = this.chunked ? 'Transfer-Encoding: chunked\r\n' : '';
    this.socket.write(responseHead(res, this.host.serverName, framing + this.connectionLine(version)));
    if (headOnly || !statusHasBody(res.status)) {
      stream.cancel();
      this.sent();
      return;
    }
    this.streaming = stream;
    this.pump();
  }

  private pump(): void {
    const stream = this.streaming as Puller;
    let chunk;
    try {
      chunk = stream.next();
    } catch (e) {
      this.streamFailed(e);
      return;
    }
    if (isThenable(chunk)) chunk.then((bytes) => this.writeChunk(stream, bytes), (e) => this.streamFailed(e));
    else this.writeChunk(stream, chunk);
  }

  private writeChunk(stream: Puller, bytes: string | undefined): void {
    if (this.streaming !== stream) return; // the client left meanwhile
    if (bytes === undefined) {
      this.streaming = null;
      if (this.chunked) this.socket.write('0\r\n\r\n');
      this.sent();
    } else if (!bytes.length) {
      // An empty chunk would end a chunked body: pull again, from a timer so a run of them cannot nest.
      startTimer(() => { if (this.streaming === stream) this.pump(); }, 0);
    } else {
      this.awaitingDrain = true;
      this.socket.write(this.chunked ? bytes.length.toString(16) + '\r\n' + bytes + '\r\n' : bytes);
    }
  }

  /** A source that throws cannot change the status already sent: log it and cut the body short. */
  private streamFailed(error: unknown): void {
    const message = error && (error as Error).message ? (error as Error).message : String(error);
    this.host.logger.log('Stream source failed: ' + message, 'ERROR');
    this.streaming = null;
    this.close();
  }

  private onDrain(): void {
    if (this.closed) return;
    if (this.unsent) {
      const piece = this.unsent.substring(0, LIMITS.writeChunk);
      this.unsent = this.unsent.substring(LIMITS.writeChunk);
      this.socket.write(piece);
      if (!this.unsent) this.sent();
    } else if (this.awaitingDrain && this.streaming) {
      this.awaitingDrain = false;
      this.pump();
    }
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
    if (this.streaming) this.streaming.cancel();
    this.streaming = null;
    this.setTimer(NO_TIMER, 0);
    this.host.connectionClosed(this);
  }
}
