// Values that are ready now or later. Handlers, middleware and stream sources may answer
// synchronously or with a Promise: the synchronous path costs no promise turns, which
// matters on an interpreter.

export type MaybePromise<T> = T | Promise<T>;

/** True for a Promise or any thenable. */
export function isThenable<T>(value: MaybePromise<T>): value is Promise<T> {
  return !!value && typeof (value as Promise<T>).then === 'function';
}
