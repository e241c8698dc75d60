// Builds the chain once per change of the middleware list: first added is
// outermost. Each link is one closure, so a request costs one call per middleware.
import { Middleware, Next } from './types';

export function compose(middleware: Middleware[], innermost: Next): Next {
  let next = innermost;
  for (let i = middleware.length - 1; i >= 0; i--) next = link(middleware[i], next);
  return next;
}

function link(middleware: Middleware, next: Next): Next {
  if (typeof middleware === 'function') return (req) => middleware(req, next);
  if (middleware && typeof middleware.handle === 'function') return (req) => middleware.handle(req, next);
  throw new Error('Middleware must be a function (req, next) or an object with handle(req, next)');
}
