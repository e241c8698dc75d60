// Values that are ready now or later. Handlers, middleware and stream sources may answer
// synchronously or with a Promise: the synchronous path costs no promise turns, which
// matters on an interpreter.
import type { Response } from './response';

export type MaybePromise<T> = T | Promise<T>;

/** True for a Promise or any thenable. */
export function isThenable<T>(value: MaybePromise<T>): value is Promise<T> {
  return !!value && typeof (value as Promise<T>).then === 'function';
}

/** Calls `done` with the response now, or when the promise settles; returns what `done` returns (wrapped if async). */
export function whenReady<T>(result: MaybePromise<Response>, done: (res: Response) => T): MaybePromise<T> {
  return isThenable(result) ? result.then(done) : done(result);
}
