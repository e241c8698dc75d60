// Handlers and middleware. Either may answer synchronously or with a Promise.
import { Request, PathParams } from '../http/request';
import { Response } from '../http/response';
import { MaybePromise, isThenable } from '../http/maybe';

/** A route's handler; `req.pathParams` is typed from the route's path. */
export type Handler<P extends object = PathParams> = (req: Request<P>) => MaybePromise<Response>;

export type Next = (req: Request) => MaybePromise<Response>;

export type MiddlewareFunction = (req: Request, next: Next) => MaybePromise<Response>;

export interface MiddlewareObject {
  handle(req: Request, next: Next): MaybePromise<Response>;
}

export type Middleware = MiddlewareFunction | MiddlewareObject;

/** Calls `done` with the response now, or when the promise settles; returns what `done` returns (wrapped if async). */
export function whenReady<T>(result: MaybePromise<Response>, done: (res: Response) => T): MaybePromise<T> {
  return isThenable(result) ? result.then(done) : done(result);
}
