// Handlers and middleware, and the loop that runs a request through them.
//
// A request goes down the middleware list (first added = outermost), through
// the innermost step (the router and the route's handler), and back up. The
// loop calls each step from its own frame and never from inside another, so
// the C stack a request needs is the same with zero or ten middlewares; a
// step that answers with a promise resumes the loop from the event queue, on a
// fresh stack. Two forms of middleware:
// - hooks, { before(req), after(req, res) }: flat, the form the built-in ones use;
// - wrapping, (req, next) or { handle(req, next) }: next(req) runs the inner
//   steps from a promise job and always answers with a Promise of the Response.
import { Request, PathParams } from './http/request';
import { Response, responseOf } from './http/response';
import { MaybePromise, isThenable } from './http/maybe';
import { Logger, ConsoleLogger } from './log/logger';

/** A route's handler; `req.pathParams` is typed from the route's path. */
export type Handler<P extends object = PathParams> = (req: Request<P>) => MaybePromise<Response>;

/** What a wrapping middleware calls to run the steps inside it: always a Promise of their Response. */
export type Next = (req: Request) => Promise<Response>;

export type MiddlewareFunction = (req: Request, next: Next) => MaybePromise<Response>;

export interface MiddlewareObject {
  handle(req: Request, next: Next): MaybePromise<Response>;
}

/**
 * The flat form. `before` may answer instead of the inner steps (a Response;
 * anything else goes on); `after` sees the response on its way out and may
 * change it, or answer another Response (anything else keeps it). Either may
 * return a promise.
 */
export interface MiddlewareHooks {
  before?(req: Request): MaybePromise<Response | void>;
  after?(req: Request, res: Response): MaybePromise<Response | void>;
}

export type Middleware = MiddlewareFunction | MiddlewareObject | MiddlewareHooks;

/** Throws, when a middleware is added, for anything that is not one of the three forms. */
export function checkMiddleware(middleware: Middleware): void {
  if (typeof middleware === 'function') return;
  const object = middleware as MiddlewareObject & MiddlewareHooks;
  if (object && (typeof object.handle === 'function' || typeof object.before === 'function' || typeof object.after === 'function')) return;
  throw new Error('Middleware must be a function (req, next), an object with handle(req, next), or hooks { before(req), after(req, res) }');
}

/** What the loop needs of its owner: the error answer, and where a missing Response is logged. */
export interface PipelineHost {
  logger: Logger;
  errorResponse(req: Request | null, error: unknown): Response;
}

/**
 * The innermost step: the handler for a request, or the answer when there is
 * none (404, 405). It returns the handler rather than calling it, so the
 * handler runs from the loop's frame; it gets the pipeline's host, so the
 * app's router needs no closure to reach it.
 */
export type Pick = (req: Request, host: PipelineHost) => Handler | Response;

export class Pipeline {
  constructor(public host: PipelineHost, public layers: Middleware[], private pick: Pick) {}

  /**
   * Runs `req` down from layer `from`, then back up to layer `floor` (the
   * layers a wrapping middleware's next() covers start at both). Answers a
   * Response, or a promise of one that never rejects.
   */
  run(req: Request, from: number, floor: number): MaybePromise<Response> {
    const layers = this.layers;
    let at = from;
    let res: MaybePromise<Response | void> | undefined;
    try {
      for (; at < layers.length; at++) {
        const layer = layers[at];
        if (typeof layer === 'function' || (layer as MiddlewareObject).handle) {
          // Called from here, not from a helper: a frame less under the middleware.
          const next = nextAfter(this, at, req);
          res = typeof layer === 'function' ? layer(req, next) : (layer as MiddlewareObject).handle(req, next);
          break;
        }
        if (!(layer as MiddlewareHooks).before) continue;
        res = (layer as Required<MiddlewareHooks>).before(req);
        if (res instanceof Response) break;
        if (isThenable(res)) return resumeBelow(this, req, at, floor, res);
      }
      if (at === layers.length) {
        const handler = this.pick(req, this.host);
        res = handler instanceof Response ? handler : handler(req);
      }
    } catch (e) {
      res = this.host.errorResponse(req, e);
    }
    return res instanceof Response && at === floor ? res : climb(this, req, at - 1, floor, res as MaybePromise<Response>);
  }

  /** `res` as a Response: a 500 that says so (logged) when a step answered something else. */
  check(res: unknown, req: Request): Response {
    return res instanceof Response ? res : responseOf(res, req, this.host.logger);
  }
}

/** A `before` answered with a promise: go on below it when it settles with nothing, else turn back with its answer. */
function resumeBelow(pipeline: Pipeline, req: Request, at: number, floor: number, early: Promise<Response | void>): Promise<Response> {
  return early.then((answer) => answer instanceof Response ? climb(pipeline, req, at - 1, floor, answer) : pipeline.run(req, at + 1, floor),
    (e) => climb(pipeline, req, at - 1, floor, errorOf(pipeline, req, e)));
}

/** The next() of a wrapping middleware at `at`: runs the layers inside it from a promise job (a fresh stack). */
function nextAfter(pipeline: Pipeline, at: number, req: Request): Next {
  return (inner) => Promise.resolve(inner || req).then((r) => pipeline.run(r, at + 1, at + 1));
}

function errorOf(pipeline: Pipeline, req: Request, error: unknown): Response {
  return pipeline.host.errorResponse(req, error);
}

/** Runs the `after` hooks from layer `at` up to `floor` (all hooks: a wrapping layer ends a run). */
function climb(pipeline: Pipeline, req: Request, at: number, floor: number, value: MaybePromise<Response>): MaybePromise<Response> {
  if (isThenable(value)) {
    return value.then((settled) => climb(pipeline, req, at, floor, settled), (e) => climb(pipeline, req, at, floor, errorOf(pipeline, req, e)));
  }
  let res = pipeline.check(value, req);
  const layers = pipeline.layers;
  for (; at >= floor; at--) {
    const layer = layers[at] as MiddlewareHooks;
    if (!layer.after) continue;
    let changed: MaybePromise<Response | void>;
    try {
      changed = layer.after(req, res);
    } catch (e) {
      changed = errorOf(pipeline, req, e);
    }
    if (changed instanceof Response) res = changed;
    else if (isThenable(changed)) {
      const kept = res;
      return changed.then((answer) => climb(pipeline, req, at - 1, floor, answer instanceof Response ? answer : kept),
        (e) => climb(pipeline, req, at - 1, floor, errorOf(pipeline, req, e)));
    }
  }
  return res;
}

/**
 * Errors in a route's own middleware go on to the app's loop, which answers
 * them as it does the handler's: this host throws them (or rejects) on.
 */
const ROUTE_HOST: PipelineHost = {
  logger: new ConsoleLogger(),
  errorResponse: (_req, error) => {
    throw error;
  },
};

/** `handler` behind `middleware`, for one route (run after the app's): the same loop as the app's, as a route handler. */
export function compose(middleware: Middleware[], handler: Handler): Handler {
  for (let i = 0; i < middleware.length; i++) checkMiddleware(middleware[i]);
  const pipeline = new Pipeline(ROUTE_HOST, middleware.slice(), () => handler);
  return (req) => pipeline.run(req, 0, 0);
}
