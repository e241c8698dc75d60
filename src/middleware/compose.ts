// Builds the chain once per change of the middleware list: first added is
// outermost. Each link is one closure, so a request costs one call per middleware.
import { Request } from '../http/request';
import { Response } from '../http/response';
import { MaybePromise } from '../http/maybe';
import { Middleware, Next } from './types';

/** Checks what a layer answered (it must be a Response), so the layer around it sees one. */
export type ResultCheck = (result: MaybePromise<Response>, req: Request) => MaybePromise<Response>;

export function compose(middleware: Middleware[], innermost: Next, check?: ResultCheck): Next {
  let next = innermost;
  for (let i = middleware.length - 1; i >= 0; i--) next = link(middleware[i], next, check);
  return next;
}

function link(middleware: Middleware, next: Next, check?: ResultCheck): Next {
  // Each link calls its middleware directly (a frame more per layer would cost C stack), and a
  // Response answered at once passes with one instanceof: the check runs only for anything else.
  if (typeof middleware === 'function') {
    return check ? (req) => {
      const res = middleware(req, next);
      return res instanceof Response ? res : check(res, req);
    } : (req) => middleware(req, next);
  }
  if (middleware && typeof middleware.handle === 'function') {
    return check ? (req) => {
      const res = middleware.handle(req, next);
      return res instanceof Response ? res : check(res, req);
    } : (req) => middleware.handle(req, next);
  }
  throw new Error('Middleware must be a function (req, next) or an object with handle(req, next)');
}
