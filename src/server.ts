// MicroServer: routes, middleware and the listening socket.
import { Router, RouteInfo } from './router';
import { Request, RouteParams, targetPath } from './http/request';
import { BodyOptions } from './http/parser';
import { Response } from './http/response';
import { Connection, ConnectionHost, responseHead, checkDeadline } from './http/connection';
import { startInterval, stopTimer } from './platform/clock';
import { isHttpError } from './http/errors';
import { Pipeline, PipelineHost, Handler, Middleware, checkMiddleware } from './pipeline';
import { Logger, ConsoleLogger } from './log/logger';
import { listen, NetServer, Socket, writeSocket, socketOpen } from './platform/net';
import { setting, DEFAULTS, FORCED_PORT, ServerSettings } from './settings';
import { belowMemoryFloor } from './platform/memory';

/** A route's options: how its request bodies are taken. */
export type RouteOptions = BodyOptions;

export interface ServerOptions extends Partial<ServerSettings> {
  logger?: Logger;
  router?: Router<Handler>;
}

/** Methods answered without a route declaring them; others must be routed or get 501. */
const STANDARD_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
const METHOD_NAME = /^[A-Z][A-Z-]*$/;

/** The settings (port, maxConns, maxBodySize, ...) are attributes of the app: see settings.ts. */
export interface MicroServer extends ServerSettings {}

export class MicroServer implements ConnectionHost {
  logger: Logger;
  router: Router<Handler>;
  /** True once stop() is called: connections close after their current response. */
  stopping = false;

  /** Runs requests through the middleware and the router: connections call its run() directly (a frame less). */
  pipeline: Pipeline;

  /** Body options of the routes that have them, found by the parser once a request's headers are in. */
  private bodyRoutes = new Router<BodyOptions>();
  hasBodyOptions = false;
  largestRouteBody = 0;

  private listener: NetServer | null = null;
  /** Seconds counted while connections are open: their deadlines are set in it. */
  clock = 0;

  private connections: Connection[] = [];
  /** Advances `clock` and checks the connections' deadlines once a second while there are any: one timer for all of them. */
  private ticker: number | undefined;

  constructor(options: ServerOptions = {}) {
    const settings = this as unknown as { [key: string]: unknown };
    for (const key in DEFAULTS) settings[key] = setting(key as keyof ServerSettings, options[key as keyof ServerSettings]);
    this.logger = options.logger || new ConsoleLogger();
    this.router = options.router || new Router<Handler>();
    this.pipeline = new Pipeline(this, [], route as (req: Request, host: PipelineHost) => Handler | Response);
  }

  get<Path extends string>(path: Path, handler: Handler<RouteParams<Path>>, options?: RouteOptions): this {
    return this.route(path, ['GET'], handler as unknown as Handler, options);
  }

  post<Path extends string>(path: Path, handler: Handler<RouteParams<Path>>, options?: RouteOptions): this {
    return this.route(path, ['POST'], handler as unknown as Handler, options);
  }

  put<Path extends string>(path: Path, handler: Handler<RouteParams<Path>>, options?: RouteOptions): this {
    return this.route(path, ['PUT'], handler as unknown as Handler, options);
  }

  delete<Path extends string>(path: Path, handler: Handler<RouteParams<Path>>, options?: RouteOptions): this {
    return this.route(path, ['DELETE'], handler as unknown as Handler, options);
  }

  patch<Path extends string>(path: Path, handler: Handler<RouteParams<Path>>, options?: RouteOptions): this {
    return this.route(path, ['PATCH'], handler as unknown as Handler, options);
  }

  /**
   * Routes `path` for each of `methods` (default GET) to `handler`. Takes effect at once, also while running.
   * `options`: { streamBody: true } hands the body over in pieces (req.receive), { maxBodySize } sets the route's own limit.
   */
  route(path: string, methods: string[] | Handler, handler?: Handler | RouteOptions, options?: RouteOptions): this {
    if (typeof methods === 'function') {
      options = handler as RouteOptions | undefined;
      handler = methods;
      methods = ['GET'];
    }
    if (options && options.maxBodySize !== undefined && !(options.maxBodySize >= 0)) throw new Error('Route ' + path + ': maxBodySize must be a number of bytes');
    if (typeof handler !== 'function') throw new Error('Route ' + path + ': the handler must be a function');
    for (let i = 0; i < methods.length; i++) {
      const method = String(methods[i]).toUpperCase();
      if (!METHOD_NAME.test(method)) throw new Error('Route ' + path + ': invalid method ' + methods[i]);
      this.router.add(method, path, handler as Handler);
      if (options) this.bodyRoutes.add(method, path, options);
    }
    if (options) {
      this.hasBodyOptions = true;
      if (options.maxBodySize !== undefined && options.maxBodySize > this.largestRouteBody) this.largestRouteBody = options.maxBodySize;
    }
    return this;
  }

  /** Removes the route at `path` (one method, or all). Returns how many method routes were removed. */
  removeRoute(path: string, method?: string): number {
    const upper = method === undefined ? undefined : method.toUpperCase();
    this.bodyRoutes.remove(path, upper);
    return this.router.remove(path, upper);
  }

  /** Every route as { method, path }. */
  routes(): RouteInfo[] {
    return this.router.routes();
  }

  /**
   * Adds middleware: hooks { before(req), after(req, res) }, a function (req, next)
   * or an object with handle(req, next). First added runs outermost.
   */
  addMiddleware(middleware: Middleware): this {
    checkMiddleware(middleware);
    this.pipeline.layers.push(middleware);
    const withLogger = middleware as { useLogger?: (logger: Logger) => void };
    if (typeof withLogger.useLogger === 'function') withLogger.useLogger(this.logger);
    return this;
  }

  /**
   * Starts listening. Espruino's sockets listen on every interface, so `host`
   * is accepted for compatibility and only logged. `npm start -- --port N` wins over `port`.
   */
  run(host = '0.0.0.0', port?: number): this {
    if (this.listener) throw new Error('MicroServer is already running');
    if (FORCED_PORT !== undefined) port = FORCED_PORT;
    else if (port === undefined) port = this.port;
    this.port = port;
    this.stopping = false;
    this.listener = listen(port, (socket) => this.accept(socket));
    this.logger.log('MicroServer listening on ' + host + ':' + port, 'INFO');
    return this;
  }

  /** Stops accepting, closes idle connections and closes busy ones after their response. */
  stop(): void {
    this.stopping = true;
    if (this.listener) this.listener.close();
    this.listener = null;
    const open = this.connections.slice();
    for (let i = 0; i < open.length; i++) open[i].shutdown();
  }

  /** True between run() and stop(): the listening socket is open. */
  isListening(): boolean {
    return this.listener !== null;
  }

  bodyOptionsFor(method: string, target: string): BodyOptions | null {
    const match = this.bodyRoutes.match(method, targetPath(target, target.indexOf('?')));
    return match ? match.handler : null;
  }

  isKnownMethod(method: string): boolean {
    return STANDARD_METHODS.indexOf(method) >= 0 || this.router.hasMethod(method);
  }

  /** The response for an error thrown by a handler or middleware: its status if it has one, else a logged 500. */
  errorResponse(req: Request | null, error: unknown): Response {
    if (isHttpError(error)) return Response.error(error.message, error.status);
    const where = req ? req.method + ' ' + req.path : 'request';
    const message = error && (error as Error).message ? (error as Error).message : String(error);
    this.logger.log('Error handling ' + where + ': ' + message, 'ERROR');
    return Response.error('Internal Server Error', 500);
  }

  connectionClosed(connection: Connection): void {
    const index = this.connections.indexOf(connection);
    if (index >= 0) this.connections.splice(index, 1);
    if (!this.connections.length) this.ticker = stopTimer(this.ticker);
  }

  private accept(socket: Socket): void {
    if (!socketOpen(socket)) return; // the client already left
    if (this.connections.length >= this.maxConns) refuse(this, socket, 'Too many connections', 1, this.maxConns + ' connections open');
    else if (belowMemoryFloor(this.minFreeJsVars)) refuse(this, socket, 'Low on memory', 5, 'fewer than ' + this.minFreeJsVars + ' JsVars free');
    else {
      this.connections.push(new Connection(this, socket));
      if (this.ticker === undefined) this.ticker = startInterval(() => tick(this, this.connections), 1000);
    }
  }
}

/** The innermost step: the route's handler (the pipeline calls it), or the answer when there is none. */
function route(req: Request, app: MicroServer): Handler | Response {
  if (req.path === '*') {
    if (req.method !== 'OPTIONS') return Response.error('"*" is only valid with OPTIONS', 400);
    return new Response(null, 204).addHeader('Allow', STANDARD_METHODS.join(', '));
  }
  const match = app.router.match(req.method, req.path);
  if (!match) return Response.error('Not Found', 404);
  if (!match.handler) {
    const allow = match.allow.join(', ');
    if (req.method === 'OPTIONS') return new Response(null, 204).addHeader('Allow', allow + ', OPTIONS');
    return Response.error('Method Not Allowed', 405).addHeader('Allow', allow);
  }
  req.pathParams = match.params;
  return match.handler;
}

/** A second passed. From the last: a deadline that closes a connection takes it out of the list only later, on 'close'. */
function tick(server: MicroServer, connections: Connection[]): void {
  server.clock++;
  for (let i = connections.length - 1; i >= 0; i--) checkDeadline(connections[i]);
}

/** Answers a connection the server will not serve with 503 and Retry-After, then closes it. */
function refuse(server: MicroServer, socket: Socket, message: string, retryAfter: number, why: string): void {
  const busy = Response.error(message, 503).addHeader('Retry-After', retryAfter);
  const body = busy.body as string;
  writeSocket(socket, responseHead(busy, server.serverName, 'Content-Length: ' + body.length + '\r\nConnection: close\r\n') + body);
  socket.end();
  server.logger.log('Connection refused: ' + why, 'WARNING');
}
