// Handlers and middleware. Either may answer synchronously or with a Promise:
// the synchronous path costs no promise turns, which matters on an interpreter.
import { Request, PathParams } from '../http/request';
import { Response } from '../http/response';

export type MaybePromise<T> = T | Promise<T>;

/** A route's handler; `req.pathParams` is typed from the route's path. */
export type Handler<P extends object = PathParams> = (req: Request<P>) => MaybePromise<Response>;

export type Next = (req: Request) => MaybePromise<Response>;

export type MiddlewareFunction = (req: Request, next: Next) => MaybePromise<Response>;

export interface MiddlewareObject {
  handle(req: Request, next: Next): MaybePromise<Response>;
}

export type Middleware = MiddlewareFunction | MiddlewareObject;

/** True for a Promise or any thenable. */
export function isThenable<T>(value: MaybePromise<T>): value is Promise<T> {
  return !!value && typeof (value as Promise<T>).then === 'function';
}

/** Calls `done` with the response now, or when the promise settles; returns what `done` returns (wrapped if async). */
export function whenReady<T>(result: MaybePromise<Response>, done: (res: Response) => T): MaybePromise<T> {
  return isThenable(result) ? result.then(done) : done(result);
}
