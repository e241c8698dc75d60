// One client socket: its parser, its one deadline, keep-alive bookkeeping, and
// writing responses with back-pressure. The flow per request:
// data -> parser -> the server's pipeline (middleware, router, handler) -> write -> next or close.
// Each step returns before the next is called where it can: a request's C stack must not grow
// with what it passes through (a board's task stack is 15-25 KB).
//
// The steps are plain functions taking the connection, not methods: Espruino
// locks `this` about twice per method call and its lock count saturates at
// 15, after which the object is never freed (espruino/Espruino#2616). A chain
// of seven nested method calls on one connection leaked it whole on every
// request; plain functions keep the connection's lock count flat.
//
// An idle keep-alive connection should cost the heap little: the socket's
// listeners are shared functions (Espruino calls them with this = the socket),
// 'drain' is listened to only once a response needs it, the parser exists only
// while a request is arriving, the server checks every connection's deadline
// once a second instead of each keeping a timer, and fields that rarely change
// keep their defaults on the prototype.
import { RequestParser, ParsedMessage, ParserHost, NEED_MORE, ERROR, BODY_CHUNK } from './parser';
import { IncomingBody } from './body';
import { httpError } from './errors';
import { Request } from './request';
import { Response, ProtocolHandler, UpgradeContext, responseOf } from './response';
import { reasonPhrase, statusHasBody } from './status';
import { isThenable } from './maybe';
import { Logger } from '../log/logger';
import { Puller } from './stream';
import { Socket, writeSocket } from '../platform/net';
import { httpDate, startTimer } from '../platform/clock';
import { LIMITS } from '../settings';
import { hasHeaderToken } from './tokens';
import { defaultsOnPrototype } from '../platform/memory';

/** What a connection needs from the server. */
export interface ConnectionHost extends ParserHost, UpgradeContext {
  keepAliveTimeout: number;
  maxKeepAliveRequests: number;
  bodyTimeout: number;
  handlerTimeout: number;
  serverName: string;
  stopping: boolean;
  /** Seconds counted while connections are open: what deadlines are set in. */
  clock: number;
  logger: Logger;
  /** Runs a request through middleware and routing (see src/pipeline.ts): a Response or a promise that never rejects. */
  pipeline: { run(req: Request, from: number, floor: number): Response | Promise<Response> };
  errorResponse(req: Request | null, error: unknown): Response;
  connectionClosed(connection: Connection): void;
}

const NO_TIMER = 0;
const IDLE_TIMER = 1;
const REQUEST_TIMER = 2;
const HANDLER_TIMER = 3;


/**
 * Status line and header block of a response. `framing` is the Content-Length
 * or Transfer-Encoding line (if any) and the Connection line.
 */
export function responseHead(res: Response, serverName: string, framing: string): string {
  let head = 'HTTP/1.1 ' + res.status + ' ' + reasonPhrase(res.status) + '\r\nServer: ' + serverName + '\r\nDate: ' + httpDate() + '\r\n';
  if (statusHasBody(res.status)) head += 'Content-Type: ' + res.contentType + '\r\n';
  return head + framing + res.head + '\r\n';
}

/** The socket's side of its connection: where the shared listeners find it. */
interface OwnedSocket extends Socket {
  owner: Connection;
}

export class Connection {
  /** Only while a request is arriving or pipelined bytes wait (deleted when idle, not set to null: that would hold a JsVar). */
  parser?: RequestParser;
  /**
   * What happens at `deadline` (a second of host.clock): NO_TIMER, IDLE_TIMER,
   * REQUEST_TIMER or HANDLER_TIMER. Also the connection's phase: waiting for
   * its client (IDLE, REQUEST) or busy with a response (NO_TIMER, HANDLER).
   */
  declare timerKind: number;
  declare deadline: number;
  declare served: number;
  // Set on the prototype below: an instance holds them only once they change.
  declare closed: boolean;
  declare closeAfter: boolean;
  /** Body bytes still to write, a piece per 'drain'. */
  declare unsent: string;
  /** The streamed body being sent, pulled a chunk per 'drain'. */
  declare streaming: Puller | null;
  declare chunked: boolean;
  /** Bytes of a stream of known length still to come (-1: unknown). */
  declare left: number;
  declare awaitingDrain: boolean;
  /** True once the socket's 'drain' listener is added: only a response that does not fit one write needs it. */
  declare drainListener: boolean;
  /** The stream's source gave null: it calls back when it has more (Puller.subscribe). */
  declare awaitingSource: boolean;
  /** Set after a 101: the protocol that now owns the socket (a WebSocket). */
  declare upgraded: ProtocolHandler | null;
  /** The request whose handler promise has not settled yet (null once answered or timed out). */
  declare awaiting: Request | null;
  /** A streamed request body still arriving (see body.ts): its bytes go to the handler's sink, not to a next request. */
  declare incoming: IncomingBody | null;

  constructor(public host: ConnectionHost, public socket: Socket) {
    (socket as OwnedSocket).owner = this;
    socket.on('data', socketData);
    socket.on('close', socketClose);
    setTimer(this, IDLE_TIMER, host.keepAliveTimeout);
  }

  /** Closes the connection now if it is idle, else after its current response. */
  shutdown(): void {
    if (busy(this)) this.closeAfter = true;
    else close(this);
  }
}

defaultsOnPrototype(Connection, {
  timerKind: NO_TIMER,
  deadline: 0,
  served: 0,
  closed: false,
  closeAfter: false,
  unsent: '',
  streaming: null,
  chunked: false,
  left: -1,
  awaitingDrain: false,
  drainListener: false,
  awaitingSource: false,
  upgraded: null,
  awaiting: null,
  incoming: null,
});

function listenForDrain(c: Connection): void {
  if (c.drainListener) return;
  c.socket.on('drain', socketDrain);
  c.drainListener = true;
}


function socketDrain(this: OwnedSocket): void {
  onDrain(this.owner);
}

function socketClose(this: OwnedSocket): void {
  onClose(this.owner);
}

/** True while a request is being handled or its response sent (not waiting for the client). */
function busy(c: Connection): boolean {
  return c.timerKind === NO_TIMER || c.timerKind === HANDLER_TIMER;
}

/** Fires the connection's deadline once host.clock reaches it; the server advances the clock and calls this once a second. */
export function checkDeadline(c: Connection): void {
  if (c.timerKind !== NO_TIMER && c.host.clock >= c.deadline) onTimer(c);
}

/** The socket's 'data' listener (Espruino calls it with this = the socket): one frame, not two. */
function socketData(this: OwnedSocket, data: string): void {
  const c = this.owner;
  if (c.closed) return;
  if (c.upgraded) {
    c.upgraded.onData(data);
    return;
  }
  if (c.incoming) {
    const parser = c.parser as RequestParser;
    parser.feed(data);
    if (c.incoming.sink && !c.incoming.writing) receiveBody(c);
    else if (parser.pending > LIMITS.maxPipelined) bodyOverrun(c);
    return;
  }
  // Closing after this response: what else arrives would never be read, so
  // keeping it would let a client fill the heap while a long response streams.
  const handling = busy(c);
  if (handling && c.closeAfter) return;
  if (!c.parser) c.parser = new RequestParser(c.host);
  c.parser.feed(data);
  if (!handling) processInput(c);
  else if (c.parser.pending > LIMITS.maxPipelined) c.closeAfter = true;
}

/** The client sent "Expect: 100-continue" and waits for this before its body (RFC 9110 §10.1.1). */
function sendContinue(c: Connection, parser: RequestParser): void {
  parser.expectsContinue = false;
  writeSocket(c.socket, 'HTTP/1.1 100 Continue\r\n\r\n');
}

function processInput(c: Connection): void {
  const parser = c.parser as RequestParser;
  const step = parser.next();
  if (step === NEED_MORE) {
    if (parser.expectsContinue) sendContinue(c, parser);
    if (parser.inMessage && c.timerKind !== REQUEST_TIMER) setTimer(c, REQUEST_TIMER, c.host.bodyTimeout);
    return;
  }
  if (step === ERROR) {
    fail(c, parser.errorStatus, parser.errorMessage);
    return;
  }
  // The request is out of the parser: keep it only for bytes pipelined behind (a stream may run for hours) or a streamed body.
  const streamed = parser.streaming;
  if (!parser.pending && !streamed) delete c.parser;
  // The request runs from this frame (not a function more): see the top of the file.
  const message = parser.message as ParsedMessage;
  const host = c.host;
  c.timerKind = NO_TIMER;
  c.served++;
  const connection = message.headers.connection;
  const keepAlive = message.version === 11 ? !hasHeaderToken(connection, 'close') : hasHeaderToken(connection, 'keep-alive');
  if (!keepAlive || c.served >= host.maxKeepAliveRequests || host.stopping) c.closeAfter = true;
  const req = new Request(message, c.socket.remoteAddress || '-');
  if (streamed) c.incoming = req.incoming = new IncomingBody(receiveSoon, c);
  let result: Response | Promise<Response>;
  try {
    result = host.pipeline.run(req, 0, 0);
  } catch (e) {
    result = host.errorResponse(req, e);
  }
  if (isThenable(result)) {
    c.awaiting = req;
    if (host.handlerTimeout > 0) setTimer(c, HANDLER_TIMER, host.handlerTimeout);
    result.then((res) => settled(c, req, res), (e) => settled(c, req, host.errorResponse(req, e)));
  } else send(c, result, req);
}

/** The handler called req.receive(): the body is fed to its sink from a timer, on a fresh stack. */
function receiveSoon(c: Connection): void {
  const incoming = c.incoming;
  startTimer(() => { if (c.incoming === incoming && !c.closed) receiveBody(c); }, 0);
}

/**
 * Feeds the sink what has arrived, a piece at a time, in one loop (no call
 * per piece): stops at a write's promise (back-pressure: the next bytes wait
 * in the parser's buffer), when more must arrive, or at the body's end.
 */
function receiveBody(c: Connection): void {
  const incoming = c.incoming as IncomingBody;
  const parser = c.parser as RequestParser;
  while (c.incoming === incoming && !incoming.writing) {
    const step = parser.next();
    if (step === BODY_CHUNK) {
      let written;
      try {
        written = (incoming.sink as NonNullable<IncomingBody['sink']>).write(parser.chunk);
      } catch (e) {
        abandonBody(c, e);
        return;
      }
      if (isThenable(written)) {
        incoming.writing = true;
        // A pending write is the app's time, not the client's: the body timeout starts again at its end (writeDone).
        appTime(c);
        written.then(() => writeDone(c, incoming), (e) => { if (c.incoming === incoming) abandonBody(c, e); });
        return;
      }
    } else if (step === NEED_MORE) {
      if (parser.expectsContinue) sendContinue(c, parser);
      // The body timeout counts from the last piece: a slow upload lives as long as it moves.
      setTimer(c, REQUEST_TIMER, c.host.bodyTimeout);
      return;
    } else if (step === ERROR) {
      abandonBody(c, httpError(parser.errorStatus, parser.errorMessage));
      return;
    } else {
      // The body is complete; bytes behind it belong to the next request.
      c.incoming = null;
      if (!parser.pending) delete c.parser;
      appTime(c);
      incoming.finish();
      return;
    }
  }
}

function writeDone(c: Connection, incoming: IncomingBody): void {
  incoming.writing = false;
  if (c.incoming !== incoming || c.closed) return;
  setTimer(c, REQUEST_TIMER, c.host.bodyTimeout);
  receiveBody(c);
}

/** The app's time, not the client's (a write pending, or the body ended): no body timer; the handler's runs while its promise is pending. */
function appTime(c: Connection): void {
  c.timerKind = NO_TIMER;
  if (c.awaiting && c.host.handlerTimeout > 0) setTimer(c, HANDLER_TIMER, c.host.handlerTimeout);
}

/**
 * The streamed body will not be read to its end: the sink aborts, receive()
 * rejects with `error` (the handler answers), and the connection closes after
 * that answer, since the rest of the body cannot be told from a next request.
 */
function abandonBody(c: Connection, error: unknown): void {
  const incoming = c.incoming as IncomingBody;
  c.incoming = null;
  c.closeAfter = true;
  delete c.parser;
  appTime(c);
  incoming.fail(error);
}

/** Bytes piled up while no sink took them (the handler has not called receive(), or a write is slow). */
function bodyOverrun(c: Connection): void {
  const unattended = !(c.incoming as IncomingBody).sink;
  const error = httpError(503, 'The body arrived faster than it was taken');
  abandonBody(c, error);
  // With no receive() to reject, the connection answers itself.
  if (unattended) {
    c.awaiting = null;
    send(c, Response.error(error.message, error.status), null);
  }
}

/** A handler's promise settled: answer, unless the handler timer already answered for it. */
function settled(c: Connection, req: Request, res: Response): void {
  if (c.awaiting !== req) return;
  c.awaiting = null;
  c.timerKind = NO_TIMER;
  send(c, res, req);
}

function handlerTimedOut(c: Connection): void {
  const req = c.awaiting as Request;
  c.awaiting = null;
  c.host.logger.log('Handler for ' + req.method + ' ' + req.path + ' did not answer within ' + c.host.handlerTimeout + ' s: 503 sent', 'ERROR');
  send(c, Response.error('The handler did not answer in time', 503), req);
}

/** A response that ends the connection: protocol errors, timeouts. */
function fail(c: Connection, status: number, message: string): void {
  c.closeAfter = true;
  c.timerKind = NO_TIMER;
  send(c, Response.error(message, status), null);
}

function connectionLine(c: Connection, version: number): string {
  return c.closeAfter ? 'Connection: close\r\n' : version === 10 ? 'Connection: keep-alive\r\n' : '';
}

/** Writes the response to `req` (null: to a request that could not be read). */
function send(c: Connection, res: Response, req: Request | null): void {
  if (c.closed) return;
  if (c.incoming) abandonBody(c, httpError(500, 'Answered before the body ended'));
  let headOnly = false;
  let version = 11;
  if (req) {
    res = responseOf(res, req, c.host.logger);
    headOnly = req.method === 'HEAD';
    version = req.version;
  }
  if (res.closeConnection) c.closeAfter = true;
  if (res.upgrade && res.status === 101) {
    switchProtocols(c, res, res.upgrade);
    return;
  }
  if (res.stream) {
    sendStream(c, res, res.stream, headOnly, version);
    return;
  }
  const hasBody = statusHasBody(res.status);
  const body = res.body === null || !hasBody ? '' : res.body;
  const head = responseHead(res, c.host.serverName, (hasBody ? 'Content-Length: ' + body.length + '\r\n' : '') + connectionLine(c, version));
  if (headOnly || body.length <= LIMITS.writeChunk) {
    writeSocket(c.socket, headOnly ? head : head + body);
    sent(c);
  } else {
    writeSocket(c.socket, head + body.substring(0, LIMITS.writeChunk));
    c.unsent = body.substring(LIMITS.writeChunk);
    listenForDrain(c);
  }
}

/** After the 101, the socket and anything the client sent past the handshake belong to the new protocol. */
function switchProtocols(c: Connection, res: Response, upgrade: NonNullable<Response['upgrade']>): void {
  writeSocket(c.socket, responseHead(res, c.host.serverName, ''));
  // The socket is the protocol's now: the timer fields go back to the prototype's defaults (NO_TIMER).
  const fields = c as unknown as { timerKind?: number; deadline?: number; served?: number };
  delete fields.timerKind;
  delete fields.deadline;
  delete fields.served;
  const handler = upgrade(c.socket, c.host);
  c.upgraded = handler;
  const early = c.parser ? c.parser.takeBuffered() : '';
  delete c.parser;
  if (early) handler.onData(early);
}

/**
 * A known length (a file) gets Content-Length; else HTTP/1.1 gets chunks and
 * HTTP/1.0, which has no chunking, a body that ends when the connection closes.
 */
function sendStream(c: Connection, res: Response, stream: Puller, headOnly: boolean, version: number): void {
  const sized = res.length !== undefined;
  c.left = sized ? (res.length as number) : -1;
  c.chunked = !sized && version === 11;
  if (!c.chunked && !sized) c.closeAfter = true;
  const framing = sized ? 'Content-Length: ' + res.length + '\r\n' : c.chunked ? 'Transfer-Encoding: chunked\r\n' : '';
  writeSocket(c.socket, responseHead(res, c.host.serverName, framing + connectionLine(c, version)));
  if (headOnly || !statusHasBody(res.status)) {
    stream.cancel();
    sent(c);
    return;
  }
  c.streaming = stream;
  listenForDrain(c);
  // A shared function and the connection, not a closure: that would keep this scope (the Response too) for the stream's life.
  if (stream.subscribe) stream.subscribe(sourceReady, c);
  // The first chunk is pulled from a timer, on a fresh stack: a generator source nests a few calls deep.
  startTimer(() => { if (c.streaming === stream) pump(c); }, 0);
}

function sourceReady(c: Connection): void {
  if (!c.streaming || !c.awaitingSource) return;
  c.awaitingSource = false;
  pump(c);
}

function pump(c: Connection): void {
  const stream = c.streaming as Puller;
  let chunk;
  try {
    chunk = stream.next();
  } catch (e) {
    streamFailed(c, e);
    return;
  }
  if (chunk === null) c.awaitingSource = true;
  else if (isThenable(chunk)) chunk.then((bytes) => writeChunk(c, stream, bytes), (e) => streamFailed(c, e));
  else writeChunk(c, stream, chunk);
}

function writeChunk(c: Connection, stream: Puller, bytes: string | undefined): void {
  if (c.streaming !== stream) return; // the client left meanwhile
  if (bytes === undefined) {
    c.streaming = null;
    if (c.chunked) writeSocket(c.socket, '0\r\n\r\n');
    if (c.left > 0) c.closeAfter = true; // shorter than its Content-Length: only closing ends it
    sent(c);
  } else if (!bytes.length) {
    // An empty chunk would end a chunked body: pull again, from a timer so a run of them cannot nest.
    startTimer(() => { if (c.streaming === stream) pump(c); }, 0);
  } else {
    c.awaitingDrain = true;
    if (c.left >= 0) {
      if (bytes.length > c.left) bytes = bytes.substring(0, c.left); // never past its Content-Length
      c.left -= bytes.length;
    }
    writeSocket(c.socket, c.chunked ? bytes.length.toString(16) + '\r\n' + bytes + '\r\n' : bytes);
  }
}

/** A source that throws cannot change the status already sent: log it and cut the body short. */
function streamFailed(c: Connection, error: unknown): void {
  const message = error && (error as Error).message ? (error as Error).message : String(error);
  c.host.logger.log('Stream source failed: ' + message, 'ERROR');
  c.streaming = null;
  close(c);
}

function onDrain(c: Connection): void {
  if (c.closed) return;
  if (c.upgraded) {
    c.upgraded.onDrain();
    return;
  }
  if (c.unsent) {
    const piece = c.unsent.substring(0, LIMITS.writeChunk);
    c.unsent = c.unsent.substring(LIMITS.writeChunk);
    writeSocket(c.socket, piece);
    if (!c.unsent) sent(c);
  } else if (c.awaitingDrain && c.streaming) {
    c.awaitingDrain = false;
    pump(c);
  }
}

/** The response is handed to the socket: close, or serve what is pipelined, or wait. */
function sent(c: Connection): void {
  if (c.closeAfter) {
    close(c);
    return;
  }
  setTimer(c, IDLE_TIMER, c.host.keepAliveTimeout);
  // Pipelined requests continue from a timer so a long pipeline cannot nest calls (the C stack is small).
  if (c.parser && c.parser.pending) startTimer(() => { if (!c.closed && !busy(c) && c.parser) processInput(c); }, 0);
  else delete c.parser;
}

/**
 * Sets the connection's one deadline: idle (close quietly), request (408) or
 * handler (503); `c.timerKind = NO_TIMER` clears it. It counts whole seconds
 * of the host's clock (a small integer is one JsVar, a time in ms two) and
 * fires up to a second late, never early.
 */
function setTimer(c: Connection, kind: number, seconds: number): void {
  c.timerKind = kind;
  c.deadline = c.host.clock + Math.ceil(seconds) + 1;
}

function onTimer(c: Connection): void {
  const kind = c.timerKind;
  c.timerKind = NO_TIMER;
  if (kind === REQUEST_TIMER) {
    if (c.incoming) abandonBody(c, httpError(408, 'Body not received in time'));
    else fail(c, 408, 'Request not received in time');
  }
  else if (kind === HANDLER_TIMER) handlerTimedOut(c);
  else close(c);
}

function close(c: Connection): void {
  if (c.closed) return;
  c.timerKind = NO_TIMER;
  c.socket.end();
}

function onClose(c: Connection): void {
  if (c.closed) return;
  c.closed = true;
  c.awaiting = null;
  if (c.incoming) abandonBody(c, httpError(400, 'The client left before the body ended'));
  c.unsent = '';
  if (c.streaming) c.streaming.cancel();
  c.streaming = null;
  delete c.parser;
  c.timerKind = NO_TIMER;
  if (c.upgraded) c.upgraded.onClose();
  c.host.connectionClosed(c);
}
