// Unit tests of the request pipeline as a route sees it (compose, in
// src/pipeline.ts) and of the built-in middlewares, CORS, logging, auth and
// security headers (src/middleware/*.ts), run as the real ES5 library build
// inside the Espruino emulation, in both modes. A built-in middleware is run
// around a fake handler with compose([mw], handler)(req); promises made in the
// emulation are its context's Promise.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildFixture, loadEmulated, plain } from './library.mjs';


// ---------------------------------------------------------------------------
// Loading the build output


const CODE = await buildFixture('middleware');

/** A fake Request: what the middleware reads. */
function request(method = 'GET', path = '/', headers = {}, ip = '10.0.0.7') {
  return { method, path, query: '', headers, body: null, ip, version: 11, pathParams: {} };
}

/** The header lines a Response will send beyond the server's own, as [name, value] pairs. */
function headLines(res) {
  assert.equal(typeof res.head, 'string');
  if (res.head === '') return [];
  assert.ok(res.head.endsWith('\r\n'), `head ends with CRLF: ${JSON.stringify(res.head)}`);
  return res.head.slice(0, -2).split('\r\n').map((line) => {
    const colon = line.indexOf(': ');
    assert.ok(colon > 0, `a "Name: value" line: ${JSON.stringify(line)}`);
    return [line.slice(0, colon), line.slice(colon + 2)];
  });
}

/** Header value by (case-insensitive) name, or undefined; fails if it is repeated. */
function headValue(res, name) {
  const found = headLines(res).filter(([n]) => n.toLowerCase() === name.toLowerCase());
  assert.ok(found.length <= 1, `${name} appears once: ${JSON.stringify(res.head)}`);
  return found.length ? found[0][1] : undefined;
}

const isThenable = (value) => !!value && typeof value.then === 'function';

/** What `result` (a promise) rejects with; fails when it is not a promise or resolves. */
async function rejectionOf(result) {
  assert.ok(isThenable(result), 'a promise');
  try {
    await result;
  } catch (e) {
    return e;
  }
  return assert.fail('the promise resolved; a rejection was expected');
}

/** How many frames the host's stack has where this is called. */
function stackDepth() {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = Infinity;
  const depth = new Error().stack.split('\n').length;
  Error.stackTraceLimit = limit;
  return depth;
}

const CORS_HEADER = /^access-control-|^vary$/i;
const INVALID = 'Middleware must be a function (req, next), an object with handle(req, next), or hooks { before(req), after(req, res) }';

for (const mode of ['esp32', 'linux']) {
  describe(`middleware (${mode})`, () => {
    const { emu, exports: M, lines: printed } = loadEmulated(CODE, mode, 'middleware');
    const { compose, CORSMiddleware, LoggingMiddleware, BasicAuthMiddleware, BearerAuthMiddleware, SecurityHeadersMiddleware, constantTimeEqual, Response } = M;
    /** How the interpreter holds a piece of text: UTF-8 bytes on esp32, Unicode on linux. */
    const text = (s) => (mode === 'esp32' ? Buffer.from(s, 'utf8').toString('latin1') : s);
    const ContextPromise = emu.run('Promise');

    /** A handler (the innermost step) that records its calls and answers with a fresh Response (or a promise of one). */
    function fakeNext({ status = 200, head = '', async = false } = {}) {
      const calls = [];
      const next = (req) => {
        calls.push(req);
        const res = new Response('body', status);
        res.head = head;
        return async ? ContextPromise.resolve(res) : res;
      };
      next.calls = calls;
      return next;
    }

    /** One middleware around a fake handler, as a route would run it: a Response, or a promise of one. */
    const through = (mw, req, next) => compose([mw], next)(req);

    // ----- compose: the pipeline's loop, for one route ------------------------

    describe('compose', () => {
      /** Hooks that log their calls (and check they are called as methods). */
      function hooks(log, name, extra = {}) {
        return {
          name,
          before(req) {
            log.push(`${this.name} before ${req.path}`);
          },
          after(req, res) {
            log.push(`${this.name} after ${res.status}`);
          },
          ...extra,
        };
      }

      /** A wrapping middleware function that logs around next(). */
      function around(log, name) {
        return (req, next) => {
          log.push(`${name} in`);
          const inner = next(req);
          log.push(`${name} called next`);
          return inner.then((res) => {
            log.push(`${name} out ${res.status}`);
            return res;
          });
        };
      }

      /** A handler that logs and answers `status`. */
      const logging = (log, status = 200) => (req) => {
        log.push('handler');
        return new Response('h', status);
      };

      test('hooks only: before() top-down, the handler, after() bottom-up, all synchronous, as methods', () => {
        const log = [];
        let answered;
        const chain = compose([hooks(log, 'a'), hooks(log, 'b'), hooks(log, 'c')], (req) => {
          log.push('handler');
          answered = new Response(null, 204);
          return answered;
        });
        const res = chain(request('GET', '/p'));
        assert.ok(res instanceof Response, 'hooks around a synchronous handler answer synchronously');
        assert.equal(res, answered);
        assert.deepEqual(log, ['a before /p', 'b before /p', 'c before /p', 'handler', 'c after 204', 'b after 204', 'a after 204']);
      });

      test('hooks and wrapping layers mixed: the first added is outermost', async () => {
        const log = [];
        const object = {
          name: 'obj',
          handle(req, next) {
            log.push(`${this.name} in`);
            return next(req).then((res) => {
              log.push(`${this.name} out`);
              return res;
            });
          },
        };
        const chain = compose([hooks(log, 'a'), around(log, 'b'), hooks(log, 'c'), object, hooks(log, 'd')], logging(log, 201));
        const result = chain(request('GET', '/m'));
        assert.ok(isThenable(result), 'a wrapping layer makes the answer a promise');
        // next() runs the inner steps later, from a promise job.
        assert.deepEqual(log, ['a before /m', 'b in', 'b called next']);
        const res = await result;
        assert.equal(res.status, 201);
        assert.deepEqual(log, ['a before /m', 'b in', 'b called next', 'c before /m', 'obj in', 'd before /m', 'handler',
          'd after 201', 'obj out', 'c after 201', 'b out 201', 'a after 201']);
      });

      test('hooks may have only before() or only after()', () => {
        const log = [];
        const chain = compose([{ after: (req, res) => { log.push('after only'); } }, { before: () => { log.push('before only'); } }], logging(log));
        assert.equal(chain(request()).status, 200);
        assert.deepEqual(log, ['before only', 'handler', 'after only']);
      });

      test('a before() that answers: the inner layers and the handler are skipped, its own after() too; the outer after() hooks see its answer', () => {
        const log = [];
        const next = fakeNext();
        const refusal = new Response('no', 403);
        const chain = compose([
          hooks(log, 'outer', { after(req, res) { log.push(`outer after ${res.status}`); res.head += 'X-Outer: 1\r\n'; } }),
          hooks(log, 'gate', { before(req) { log.push('gate before'); return req.path === '/closed' ? refusal : undefined; } }),
          hooks(log, 'inner'),
          (req, n) => { log.push('wrapping'); return n(req); },
        ], next);
        const res = chain(request('GET', '/closed'));
        assert.equal(res, refusal, 'synchronous, and the very Response');
        assert.equal(res.head, 'X-Outer: 1\r\n');
        assert.deepEqual(log, ['outer before /closed', 'gate before', 'outer after 403']);
        assert.equal(next.calls.length, 0);
      });

      test('an after() may change the response in place or answer another; undefined keeps it', () => {
        const log = [];
        const replacement = new Response('other', 202);
        const chain = compose([
          { after: (req, res) => { log.push(['outer', res.status, res.head]); res.head += 'X-Outer: 1\r\n'; } },
          { after: (req, res) => { log.push(['keeps', res.status]); return undefined; } },
          { after: (req, res) => { log.push(['replaces', res.status]); return replacement; } },
          { after: (req, res) => { res.status = 299; } },
        ], fakeNext({ status: 200 }));
        const res = chain(request());
        assert.equal(res, replacement);
        assert.equal(res.status, 202);
        assert.equal(res.head, 'X-Outer: 1\r\n');
        assert.deepEqual(log, [['replaces', 299], ['keeps', 202], ['outer', 202, '']]);
      });

      test('next(req) answers with a promise of the inner Response, even when every inner step is synchronous', async () => {
        const handler = fakeNext({ status: 207 });
        let inner;
        let ranBefore;
        const chain = compose([(req, next) => {
          inner = next(req);
          ranBefore = handler.calls.length;
          return inner;
        }, { before: () => undefined }], handler);
        const result = chain(request());
        assert.ok(isThenable(inner), 'next() returned a promise');
        assert.ok(inner instanceof ContextPromise, 'the interpreter\'s Promise');
        assert.equal(ranBefore, 0, 'the inner steps had not run when next() returned');
        const res = await result;
        assert.equal(res.status, 207);
        assert.equal(handler.calls.length, 1);
        assert.equal(await inner, res);
      });

      test('a wrapping middleware may answer without calling next: nothing inside it runs, the outer after() hooks see its answer', () => {
        const log = [];
        const next = fakeNext();
        const chain = compose([
          { after: (req, res) => { res.head += 'X-Outer: 1\r\n'; } },
          (req, n) => (req.path.indexOf('/private') === 0 ? new Response('no', 401) : n(req)),
          hooks(log, 'inner'),
        ], next);
        const denied = chain(request('GET', '/private'));
        assert.ok(denied instanceof Response, 'a synchronous answer stays synchronous');
        assert.equal(denied.status, 401);
        assert.equal(denied.head, 'X-Outer: 1\r\n');
        assert.deepEqual(log, []);
        assert.equal(next.calls.length, 0);
      });

      test('a wrapping middleware may pass another request: the inner layers and the handler get it, the outer hooks the original', async () => {
        const seen = [];
        const original = request('GET', '/open');
        const next = fakeNext();
        const chain = compose([
          { before: (req) => { seen.push(['outer before', req]); }, after: (req) => { seen.push(['outer after', req]); } },
          (req, n) => n({ ...req, path: req.path + '/rewritten' }),
          { before: (req) => { seen.push(['inner before', req]); }, after: (req) => { seen.push(['inner after', req]); } },
        ], next);
        const res = await chain(original);
        assert.equal(res.status, 200);
        assert.equal(next.calls.length, 1);
        const rewritten = next.calls[0];
        assert.notEqual(rewritten, original);
        assert.equal(rewritten.path, '/open/rewritten');
        assert.equal(original.path, '/open');
        assert.deepEqual(seen.map(([where, req]) => [where, req === original ? 'original' : req === rewritten ? 'rewritten' : 'other']), [
          ['outer before', 'original'], ['inner before', 'rewritten'], ['inner after', 'rewritten'], ['outer after', 'original'],
        ]);
      });

      test('without a wrapping layer, the request given reaches every hook and the handler', () => {
        const req = request('POST', '/x');
        const seen = [];
        const chain = compose([{ before: (r) => { seen.push(r); } }, { after: (r) => { seen.push(r); } }], (r) => {
          seen.push(r);
          return new Response();
        });
        chain(req);
        assert.equal(seen.length, 3);
        for (const r of seen) assert.equal(r, req);
      });

      test('a wrapping middleware sees the inner answer once next() settles, and may change it or answer another', async () => {
        const other = new Response('other', 202);
        const changes = compose([(req, next) => next(req).then((res) => { res.head += 'X-Wrap: 1\r\n'; return res; })], fakeNext());
        assert.equal(headValue(await changes(request()), 'X-Wrap'), '1');
        const replaces = compose([{ after: (req, res) => { res.head += 'X-Outer: 1\r\n'; } }, (req, next) => next(req).then(() => other)], fakeNext());
        const res = await replaces(request());
        assert.equal(res, other);
        assert.equal(res.head, 'X-Outer: 1\r\n');
      });

      test('promises from hooks: before() settling with nothing goes on, with a Response answers; after() settling with a Response replaces, with nothing keeps', async () => {
        const log = [];
        const next = fakeNext({ status: 200 });
        const later = new Response('later', 202);
        const chain = compose([
          { after: (req, res) => { log.push(`outer after ${res.status}`); return ContextPromise.resolve(); } },
          {
            before: (req) => { log.push('async before'); return ContextPromise.resolve(req.path === '/stop' ? new Response('stop', 409) : undefined); },
            after: (req, res) => { log.push(`async after ${res.status}`); return ContextPromise.resolve(later); },
          },
          hooks(log, 'inner'),
        ], next);
        const result = chain(request('GET', '/go'));
        assert.ok(isThenable(result));
        assert.deepEqual(log, ['async before'], 'the inner steps wait for the promise');
        const res = await result;
        assert.equal(res, later);
        assert.deepEqual(log, ['async before', 'inner before /go', 'inner after 200', 'async after 200', 'outer after 202']);
        assert.equal(next.calls.length, 1);

        log.length = 0;
        const stopped = await chain(request('GET', '/stop'));
        assert.equal(stopped.status, 409);
        assert.deepEqual(log, ['async before', 'outer after 409'], 'an early answer skips the inner steps and its own after()');
        assert.equal(next.calls.length, 1);
      });

      test('a handler answering with a promise: the after() hooks run once it settles', async () => {
        const log = [];
        let resolve;
        const pending = new ContextPromise((r) => { resolve = r; });
        const result = compose([hooks(log, 'a'), hooks(log, 'b')], () => pending)(request('GET', '/slow'));
        assert.ok(isThenable(result));
        assert.deepEqual(log, ['a before /slow', 'b before /slow']);
        resolve(new Response('x', 503));
        assert.equal((await result).status, 503);
        assert.deepEqual(log, ['a before /slow', 'b before /slow', 'b after 503', 'a after 503']);
      });

      test('an error thrown by a hook or by the handler is rethrown by compose; nothing inside a failed before() runs', () => {
        const boom = new Error('boom');
        const next = fakeNext();
        const log = [];
        assert.throws(() => compose([{ before: () => { throw boom; } }, hooks(log, 'inner')], next)(request()), (e) => e === boom);
        assert.deepEqual(log, []);
        assert.equal(next.calls.length, 0);
        assert.throws(() => compose([{ after: () => { throw boom; } }], next)(request()), (e) => e === boom);
        assert.equal(next.calls.length, 1, 'the handler ran before the failing after()');
        assert.throws(() => compose([hooks(log, 'outer')], () => { throw boom; })(request()), (e) => e === boom);
      });

      test('an error thrown by a wrapping middleware is rethrown by compose', () => {
        const boom = new Error('wrapped boom');
        const next = fakeNext();
        assert.throws(() => compose([(req, n) => { throw boom; }], next)(request()), (e) => e === boom);
        assert.throws(() => compose([{ handle() { throw boom; } }], next)(request()), (e) => e === boom);
        assert.equal(next.calls.length, 0);
      });

      test('rejected promises (from a hook, the handler or a wrapping middleware) reject the answer with their reason', async () => {
        const boom = new Error('later boom');
        const next = fakeNext();
        const fail = () => ContextPromise.reject(boom);
        assert.equal(await rejectionOf(compose([{ before: fail }], next)(request())), boom);
        assert.equal(next.calls.length, 0);
        assert.equal(await rejectionOf(compose([{ after: fail }], next)(request())), boom);
        assert.equal(await rejectionOf(compose([{ after: () => undefined }], fail)(request())), boom);
        assert.equal(await rejectionOf(compose([(req, n) => n(req).then(fail)], next)(request())), boom);
        // A wrapping layer's inner failure, not caught by it, reaches the caller too.
        assert.equal(await rejectionOf(compose([(req, n) => n(req), { before: () => { throw boom; } }], next)(request())), boom);
      });

      test('an error inside next() rejects the promise next() returned: the wrapping middleware may catch it and answer', async () => {
        const boom = new Error('inner boom');
        const caught = [];
        const chain = compose([
          { after: (req, res) => { res.head += 'X-Outer: 1\r\n'; } },
          (req, next) => next(req).then(null, (e) => { caught.push(e); return new Response('sorry', 503); }),
          { before: () => { throw boom; } },
        ], fakeNext());
        const res = await chain(request());
        assert.deepEqual(caught, [boom]);
        assert.equal(res.status, 503);
        assert.equal(res.head, 'X-Outer: 1\r\n');
      });

      test('a step that answers something other than a Response becomes a 500 that says so, logged', async () => {
        const from = printed.length;
        const missing = compose([{ after: (req, res) => { res.head += 'X-Seen: 1\r\n'; } }], () => undefined)(request('GET', '/forgot'));
        assert.equal(missing.status, 500);
        assert.equal(missing.head, 'X-Seen: 1\r\n', 'the after() hooks see the 500');
        assert.match(JSON.parse(missing.body).error, /GET \/forgot returned undefined, not a Response/);
        const wrapping = await compose([(req, next) => next(req).then(() => 'text')], fakeNext())(request('GET', '/text'));
        assert.equal(wrapping.status, 500);
        const logged = printed.slice(from).join('\n');
        assert.match(logged, /\[ERROR\].*GET \/forgot returned undefined/);
        assert.match(logged, /\[ERROR\].*GET \/text returned string/);
      });

      test('no middleware: the handler answers as it is', () => {
        const next = fakeNext({ status: 418 });
        const req = request();
        const res = compose([], next)(req);
        assert.equal(res.status, 418);
        assert.deepEqual(next.calls, [req]);
      });

      test('the chain can be called again and again; the list is taken as it was given to compose', () => {
        let count = 0;
        const list = [{ before: () => { count++; } }];
        const next = fakeNext();
        const chain = compose(list, next);
        list.push({ before: () => new Response('added later', 500) });
        for (let i = 0; i < 5; i++) assert.equal(chain(request()).status, 200);
        assert.equal(count, 5);
        assert.equal(next.calls.length, 5);
      });

      test('anything else is refused when the chain is built, with a clear message', () => {
        const log = [];
        for (const bad of [null, undefined, 42, true, 'mw', {}, [], { handle: 'no' }, { before: 'no', after: 1 }, { name: 'hooks?' }]) {
          assert.throws(() => compose([hooks(log, 'fine'), bad], fakeNext()), (e) => e.message === INVALID, String(bad));
        }
        assert.deepEqual(log, [], 'nothing ran');
      });

      test('the loop is flat: the handler runs no deeper behind ten hooks, nor (from a promise job) behind ten wrapping layers', async () => {
        const depths = [];
        const handler = () => {
          depths.push(stackDepth());
          return new Response();
        };
        const hookLayers = Array.from({ length: 10 }, () => ({ before: () => undefined, after: () => undefined }));
        const wrappingLayers = Array.from({ length: 10 }, () => (req, next) => next(req));
        const runs = [[], hookLayers, wrappingLayers].map((layers) => compose(layers, handler)(request()));
        await Promise.all(runs);
        const [bare, behindHooks, behindWrapping] = depths;
        assert.equal(behindHooks, bare, `${behindHooks} frames behind ten hooks, ${bare} behind none`);
        assert.ok(behindWrapping <= bare, `${behindWrapping} frames behind ten wrapping layers, ${bare} behind none`);
      });
    });

    // ----- CORS --------------------------------------------------------------

    describe('CORSMiddleware', () => {
      const ORIGIN = 'http://app.example';
      const preflight = (origin = ORIGIN, extra = {}) => request('OPTIONS', '/api', {
        origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type', ...extra,
      });

      test('default ("*"): every response gets Access-Control-Allow-Origin: *, with no Vary', () => {
        const cors = new CORSMiddleware();
        const next = fakeNext({ head: 'X-Own: 1\r\n' });
        const res = through(cors, request('GET', '/', { origin: ORIGIN }), next);
        assert.equal(next.calls.length, 1);
        assert.deepEqual(headLines(res), [['X-Own', '1'], ['Access-Control-Allow-Origin', '*']]);
        const noOrigin = through(cors, request('GET', '/'), fakeNext());
        assert.equal(headValue(noOrigin, 'Access-Control-Allow-Origin'), '*');
      });

      test('default preflight: 204 with the default methods and headers, next not called', () => {
        const cors = new CORSMiddleware();
        const next = fakeNext();
        const res = through(cors, preflight(), next);
        assert.equal(next.calls.length, 0);
        assert.equal(res.status, 204);
        assert.equal(res.body, null);
        assert.deepEqual(headLines(res), [
          ['Access-Control-Allow-Origin', '*'],
          ['Access-Control-Allow-Methods', 'GET,POST,PUT,DELETE,OPTIONS'],
          ['Access-Control-Allow-Headers', 'Content-Type,Authorization'],
        ]);
      });

      test('preflight options: methods, headers, maxAge (0 too), exposeHeaders', () => {
        const cors = new CORSMiddleware({ methods: 'GET,PATCH', headers: 'X-Token', maxAge: 600, exposeHeaders: 'X-Total' });
        const res = through(cors, preflight(), fakeNext());
        assert.equal(headValue(res, 'Access-Control-Allow-Methods'), 'GET,PATCH');
        assert.equal(headValue(res, 'Access-Control-Allow-Headers'), 'X-Token');
        assert.equal(headValue(res, 'Access-Control-Max-Age'), '600');
        assert.equal(headValue(through(new CORSMiddleware({ maxAge: 0 }), preflight(), fakeNext()), 'Access-Control-Max-Age'), '0');
        const actual = through(cors, request('GET', '/', { origin: ORIGIN }), fakeNext());
        assert.equal(headValue(actual, 'Access-Control-Expose-Headers'), 'X-Total');
        assert.equal(headValue(actual, 'Access-Control-Allow-Methods'), undefined, 'preflight headers only on preflights');
        assert.equal(headValue(actual, 'Access-Control-Max-Age'), undefined);
      });

      test('OPTIONS without Origin or without Access-Control-Request-Method is an ordinary request', () => {
        const cors = new CORSMiddleware({ origins: [ORIGIN] });
        const next = fakeNext({ status: 200 });
        assert.equal(through(cors, request('OPTIONS', '/api', { origin: ORIGIN }), next).status, 200);
        assert.equal(through(cors, request('OPTIONS', '/api', { 'access-control-request-method': 'PUT' }), next).status, 200);
        assert.equal(next.calls.length, 2);
        // A non-OPTIONS request with Access-Control-Request-Method is not a preflight either.
        assert.equal(through(cors, request('PUT', '/api', { origin: ORIGIN, 'access-control-request-method': 'PUT' }), next).status, 200);
        assert.equal(next.calls.length, 3);
      });

      for (const [label, origins] of [
        ['a list', ['http://other.example', ORIGIN]],
        ['a comma-separated string', ` http://other.example ,${ORIGIN} `],
        ['a single origin string', ORIGIN],
        ['a function', (origin) => origin === ORIGIN],
      ]) {
        test(`origins as ${label}: an allowed origin is echoed; others get only Vary: Origin`, () => {
          const cors = new CORSMiddleware({ origins });
          const ok = through(cors, request('GET', '/', { origin: ORIGIN }), fakeNext());
          assert.equal(headValue(ok, 'Access-Control-Allow-Origin'), ORIGIN);
          assert.equal(headValue(ok, 'Vary'), 'Origin');
          assert.equal(headValue(ok, 'Access-Control-Allow-Credentials'), undefined);

          const next = fakeNext({ head: 'X-Own: 1\r\n' });
          const denied = through(cors, request('GET', '/', { origin: 'http://evil.example' }), next);
          assert.equal(next.calls.length, 1, 'the request is still served');
          // The answer depends on Origin, so caches must be told even when it is refused.
          assert.deepEqual(headLines(denied), [['X-Own', '1'], ['Vary', 'Origin']]);

          const none = through(cors, request('GET', '/'), fakeNext());
          assert.equal(headLines(none).filter(([n]) => CORS_HEADER.test(n) && n !== 'Vary').length, 0, 'no Origin, no CORS headers');
          assert.equal(headValue(none, 'Vary'), 'Origin');

          const pre = through(cors, preflight(), fakeNext());
          assert.equal(pre.status, 204);
          assert.equal(headValue(pre, 'Access-Control-Allow-Origin'), ORIGIN);
          assert.equal(headValue(pre, 'Vary'), 'Origin');
          assert.equal(headValue(pre, 'Access-Control-Allow-Methods'), 'GET,POST,PUT,DELETE,OPTIONS');

          const preNext = fakeNext();
          const preDenied = through(cors, preflight('http://evil.example'), preNext);
          assert.equal(preDenied.status, 204, 'a preflight is answered, without CORS headers');
          assert.equal(preNext.calls.length, 0);
          assert.deepEqual(headLines(preDenied), [['Vary', 'Origin']]);
        });
      }

      test('origins are compared exactly', () => {
        const cors = new CORSMiddleware({ origins: [ORIGIN] });
        for (const origin of ['HTTP://APP.EXAMPLE', ORIGIN + '/', ORIGIN + '.evil', 'http://app.example:80', 'null', '']) {
          assert.equal(headValue(through(cors, request('GET', '/', { origin }), fakeNext()), 'Access-Control-Allow-Origin'), undefined, origin);
        }
      });

      test('the origin function is called with the request\'s Origin', () => {
        const asked = [];
        const cors = new CORSMiddleware({ origins: (o) => { asked.push(o); return true; } });
        through(cors, request('GET', '/', { origin: 'http://x.example' }), fakeNext());
        assert.deepEqual(asked, ['http://x.example']);
      });

      test('credentials: the origin is echoed with Vary: Origin, never "*"', () => {
        for (const origins of [undefined, '*', [ORIGIN], (o) => o === ORIGIN]) {
          const cors = new CORSMiddleware({ origins, allowCredentials: true, exposeHeaders: 'X-Total' });
          const res = through(cors, request('GET', '/', { origin: ORIGIN }), fakeNext());
          assert.equal(headValue(res, 'Access-Control-Allow-Origin'), ORIGIN, String(origins));
          assert.equal(headValue(res, 'Vary'), 'Origin');
          assert.equal(headValue(res, 'Access-Control-Allow-Credentials'), 'true');
          assert.equal(headValue(res, 'Access-Control-Expose-Headers'), 'X-Total');
          const pre = through(cors, preflight(), fakeNext());
          assert.equal(headValue(pre, 'Access-Control-Allow-Origin'), ORIGIN);
          assert.equal(headValue(pre, 'Access-Control-Allow-Credentials'), 'true');
          assert.equal(headValue(pre, 'Vary'), 'Origin');
          // Without an Origin there is nothing to echo, and "*" is never sent.
          const none = through(cors, request('GET', '/'), fakeNext());
          assert.equal(headValue(none, 'Access-Control-Allow-Origin'), undefined);
          assert.ok(!/\*/.test(none.head + res.head + pre.head), 'no "*" anywhere with credentials');
        }
      });

      test('with a promise from next, headers are added once it resolves', async () => {
        const cors = new CORSMiddleware({ origins: [ORIGIN] });
        const result = through(cors, request('GET', '/', { origin: ORIGIN }), fakeNext({ async: true, head: 'X-Own: 1\r\n' }));
        assert.equal(typeof result.then, 'function');
        const res = await result;
        assert.deepEqual(headLines(res), [['X-Own', '1'], ['Access-Control-Allow-Origin', ORIGIN], ['Vary', 'Origin']]);
        const denied = await through(cors, request('GET', '/', { origin: 'http://evil.example' }), fakeNext({ async: true }));
        assert.deepEqual(headLines(denied), [['Vary', 'Origin']]);
      });

      test('hooks, not wrapping: before() answers preflights only, after() adds the headers to whatever answer passes', () => {
        const cors = new CORSMiddleware({ origins: [ORIGIN] });
        assert.equal(cors.handle, undefined);
        assert.equal(cors.before(request('GET', '/', { origin: ORIGIN })), undefined);
        assert.equal(cors.before(preflight()).status, 204);
        const res = new Response('x', 200);
        assert.equal(cors.after(request('GET', '/', { origin: ORIGIN }), res), undefined, 'changes the response in place');
        assert.equal(headValue(res, 'Access-Control-Allow-Origin'), ORIGIN);
      });

      test('outermost in a chain: inner refusals get the headers too, and a preflight never reaches the inner layers', async () => {
        const inner = [];
        const next = fakeNext();
        const chain = compose([
          new CORSMiddleware({ origins: [ORIGIN] }),
          { before: (req) => { inner.push(req.method); return req.headers.authorization ? undefined : new Response('no', 401); } },
          (req, n) => n(req),
        ], next);
        const refused = chain(request('GET', '/', { origin: ORIGIN }));
        assert.equal(refused.status, 401);
        assert.equal(headValue(refused, 'Access-Control-Allow-Origin'), ORIGIN, 'a browser can read the refusal');
        const pre = chain(preflight());
        assert.equal(pre.status, 204);
        assert.equal(headValue(pre, 'Access-Control-Allow-Origin'), ORIGIN, 'once, from before() alone');
        assert.deepEqual(inner, ['GET']);
        const served = await chain(request('GET', '/', { origin: ORIGIN, authorization: 'x' }));
        assert.equal(served.status, 200);
        assert.equal(headValue(served, 'Access-Control-Allow-Origin'), ORIGIN);
        assert.equal(next.calls.length, 1);
      });
    });

    // ----- Logging -----------------------------------------------------------

    describe('LoggingMiddleware', () => {
      /** Makes getTime() (seconds) return the given values in turn, then the last one. */
      function fakeClock(...seconds) {
        const saved = emu.context.getTime;
        let i = 0;
        emu.context.getTime = () => seconds[Math.min(i++, seconds.length - 1)];
        return () => { emu.context.getTime = saved; };
      }

      function recorder() {
        const lines = [];
        return { lines, log: (message, level) => lines.push([message, level]) };
      }

      test('logs "ip | METHOD path | status | Nms" at INFO to the logger it was given', (t) => {
        t.after(fakeClock(1000, 1000.25));
        const logger = recorder();
        const mw = new LoggingMiddleware(logger);
        const res = through(mw, request('POST', '/api/items', {}, '192.168.1.20'), fakeNext({ status: 201 }));
        assert.equal(res.status, 201);
        assert.deepEqual(logger.lines, [['192.168.1.20 | POST /api/items | 201 | 250ms', 'INFO']]);
      });

      test('durations are rounded to a tenth of a millisecond', (t) => {
        t.after(fakeClock(10, 10.0123456, 20, 20));
        const logger = recorder();
        const mw = new LoggingMiddleware(logger);
        through(mw, request('GET', '/a', {}, '-'), fakeNext({ status: 404 }));
        through(mw, request('GET', '/b', {}, '-'), fakeNext());
        assert.deepEqual(logger.lines.map(([m]) => m), ['- | GET /a | 404 | 12.3ms', '- | GET /b | 200 | 0ms']);
      });

      test('with a promise from next, logs once it resolves, timing the whole wait', async (t) => {
        let now = 500;
        const saved = emu.context.getTime;
        emu.context.getTime = () => now;
        t.after(() => { emu.context.getTime = saved; });
        const logger = recorder();
        const mw = new LoggingMiddleware(logger);
        let resolve;
        const pending = new ContextPromise((r) => { resolve = r; });
        const result = through(mw, request('GET', '/slow'), () => pending);
        assert.equal(typeof result.then, 'function');
        assert.deepEqual(logger.lines, []);
        now = 501.5;
        resolve(new Response('x', 503));
        const res = await result;
        assert.equal(res.status, 503);
        assert.deepEqual(logger.lines, [['10.0.0.7 | GET /slow | 503 | 1500ms', 'INFO']]);
      });

      test('useLogger gives the app\'s logger only to a middleware that has none', () => {
        const own = recorder();
        const app = recorder();
        const withOwn = new LoggingMiddleware(own);
        withOwn.useLogger(app);
        through(withOwn, request(), fakeNext());
        assert.equal(own.lines.length, 1);
        assert.equal(app.lines.length, 0);

        const without = new LoggingMiddleware();
        without.useLogger(app);
        without.useLogger(recorder()); // the first logger given stays
        through(without, request('GET', '/x'), fakeNext());
        assert.equal(app.lines.length, 1);
        assert.match(app.lines[0][0], /^10\.0\.0\.7 \| GET \/x \| 200 \| \d+(\.\d)?ms$/);
      });

      test('the response passes through unchanged', () => {
        const mw = new LoggingMiddleware(recorder());
        const res = new Response('body', 202);
        res.head = 'X-A: 1\r\n';
        assert.equal(through(mw, request(), () => res), res);
        assert.equal(res.head, 'X-A: 1\r\n');
      });

      test('outermost, it logs the status set by inner layers, hooks or wrapping, and inner refusals', async () => {
        const logger = recorder();
        const chain = compose([new LoggingMiddleware(logger), (req, next) => next(req).then((res) => {
          res.status = 418;
          return res;
        })], fakeNext());
        const result = chain(request('DELETE', '/pot'));
        assert.deepEqual(logger.lines, [], 'not before the answer is known');
        assert.equal((await result).status, 418);
        assert.match(logger.lines[0][0], /^10\.0\.0\.7 \| DELETE \/pot \| 418 \| \d+(\.\d)?ms$/);

        const hooked = recorder();
        compose([new LoggingMiddleware(hooked), { after: (req, res) => { res.status = 204; } }], fakeNext())(request('PUT', '/h'));
        assert.match(hooked.lines[0][0], /^10\.0\.0\.7 \| PUT \/h \| 204 \| /);

        const refused = recorder();
        const next = fakeNext();
        compose([new LoggingMiddleware(refused), new BasicAuthMiddleware({ users: { a: 'b' } })], next)(request('GET', '/secret'));
        assert.equal(next.calls.length, 0);
        assert.match(refused.lines[0][0], /^10\.0\.0\.7 \| GET \/secret \| 401 \| /);
      });

      test('hooks: before() stamps req.startedAt, after() logs; behind a layer that answers, nothing is logged', (t) => {
        t.after(fakeClock(3, 3.002));
        const logger = recorder();
        const mw = new LoggingMiddleware(logger);
        assert.equal(mw.handle, undefined);
        const req = request('GET', '/stamped');
        assert.equal(mw.before(req), undefined);
        assert.equal(req.startedAt, 3000);
        const res = new Response('x', 200);
        assert.equal(mw.after(req, res), undefined);
        assert.deepEqual(logger.lines, [['10.0.0.7 | GET /stamped | 200 | 2ms', 'INFO']]);
        const next = fakeNext();
        compose([{ before: () => new Response('early', 503) }, mw], next)(request());
        assert.equal(next.calls.length, 0);
        assert.equal(logger.lines.length, 1);
      });
    });

    // ----- Auth --------------------------------------------------------------

    const basic = (user, password) => 'Basic ' + Buffer.from(user + ':' + password, 'utf8').toString('base64');
    /** The JSON body of a Response made in the emulation. */
    const bodyOf = (res) => JSON.parse(res.body);

    describe('constantTimeEqual', () => {
      test('equal strings only', () => {
        assert.equal(constantTimeEqual('s3cret', 's3cret'), true);
        assert.equal(constantTimeEqual('', ''), true);
        for (const given of ['s3creT', 's3cre', 's3cret!', '', 'x3cret', '\x00s3cret']) assert.equal(constantTimeEqual(given, 's3cret'), false, given);
        assert.equal(constantTimeEqual('\x00', ''), false);
      });

      test('compares every character of the expected value, wherever the first difference is and whatever the given length', () => {
        for (const given of ['s3cret', 'x3cret', 's3creX', 's', '', 's3cret-and-more']) {
          const compared = [];
          const probe = { length: given.length, charCodeAt: (i) => { compared.push(i); return given.charCodeAt(i); } };
          constantTimeEqual(probe, 's3cret');
          assert.deepEqual(compared, [0, 1, 2, 3, 4, 5], given);
        }
      });
    });

    describe('BasicAuthMiddleware', () => {
      const CHALLENGE = 'Basic realm="MicroServer", charset="UTF-8"';
      const users = () => ({ admin: 's3cret', [text('jürgen')]: text('pässwörd') });
      const withAuth = (authorization, path = '/') => request('GET', path, authorization === undefined ? {} : { authorization });

      test('no credentials: 401 with the challenge, next not called', () => {
        const next = fakeNext();
        const res = through(new BasicAuthMiddleware({ users: users() }), withAuth(undefined), next);
        assert.equal(res.status, 401);
        assert.equal(headValue(res, 'WWW-Authenticate'), CHALLENGE);
        assert.deepEqual(bodyOf(res), { error: 'Unauthorized', code: 401 });
        assert.equal(next.calls.length, 0);
      });

      test('the right pair reaches next, as req.user', () => {
        const auth = new BasicAuthMiddleware({ users: users() });
        const next = fakeNext();
        const req = withAuth(basic('admin', 's3cret'));
        assert.equal(through(auth, req, next).status, 200);
        assert.equal(next.calls[0], req);
        assert.equal(req.user, 'admin');
        const utf8 = withAuth(basic('jürgen', 'pässwörd'));
        assert.equal(through(auth, utf8, next).status, 200);
        assert.equal(utf8.user, text('jürgen'));
        assert.equal(through(auth, withAuth(basic('admin', 'pass:with:colons')), next).status, 401);
      });

      test('a password with colons is split at the first one only', () => {
        const auth = new BasicAuthMiddleware({ users: { admin: 'a:b:c' } });
        assert.equal(through(auth, withAuth(basic('admin', 'a:b:c')), fakeNext()).status, 200);
      });

      test('wrong or malformed credentials: 401 with the challenge', () => {
        const auth = new BasicAuthMiddleware({ users: users() });
        const headers = [basic('admin', 'wrong'), basic('root', 's3cret'), basic('jürgen', 's3cret'), basic('admin', ''), basic('', ''),
          'Basic', 'Basic ', 'Basic ***', 'Basic YWRtaW4=', 'Bearer YWRtaW46czNjcmV0', 'YWRtaW46czNjcmV0', 'Basic YWRt aW46czNjcmV0'];
        for (const authorization of headers) {
          const next = fakeNext();
          const res = through(auth, withAuth(authorization), next);
          assert.equal(res.status, 401, authorization);
          assert.equal(headValue(res, 'WWW-Authenticate'), CHALLENGE, authorization);
          assert.equal(next.calls.length, 0, authorization);
        }
      });

      test('every user is compared, name and password, whichever matches (the time tells no user name)', () => {
        const auth = new BasicAuthMiddleware({ users: { admin: 's3cret', bob: 'hunter2' } });
        for (const [user, password, found] of [['admin', 's3cret', true], ['bob', 'hunter2', true], ['bob', 'x', false], ['nobody', '', false]]) {
          const compared = { user: 0, password: 0 };
          const probe = (s, kind) => ({ length: s.length, charCodeAt: (i) => { compared[kind]++; return s.charCodeAt(i); } });
          assert.equal(auth.known(probe(user, 'user'), probe(password, 'password')), found, user);
          assert.deepEqual(compared, { user: 'admin'.length + 'bob'.length, password: 's3cret'.length + 'hunter2'.length }, user);
        }
      });

      test('the scheme is case-insensitive and extra spaces are fine', () => {
        const auth = new BasicAuthMiddleware({ users: users() });
        for (const authorization of [basic('admin', 's3cret').replace('Basic', 'basic'), basic('admin', 's3cret').replace('Basic ', 'BASIC   ')]) {
          assert.equal(through(auth, withAuth(authorization), fakeNext()).status, 200, authorization);
        }
      });

      test('verify: gets the user and password as text; true admits as the user name, another value becomes req.user', () => {
        const seen = [];
        const auth = new BasicAuthMiddleware({
          verify: (user, password, req) => {
            seen.push([user, password, req.path]);
            return password === text('pässwörd') && (user === 'admin' ? true : { id: 7 });
          },
        });
        const admin = withAuth(basic('admin', 'pässwörd'), '/a');
        assert.equal(through(auth, admin, fakeNext()).status, 200);
        assert.equal(admin.user, 'admin');
        const other = withAuth(basic('jürgen', 'pässwörd'), '/b');
        assert.equal(through(auth, other, fakeNext()).status, 200);
        assert.deepEqual(plain(other.user), { id: 7 });
        assert.equal(through(auth, withAuth(basic('admin', 'nope'), '/c'), fakeNext()).status, 401);
        assert.deepEqual(seen, [['admin', text('pässwörd'), '/a'], [text('jürgen'), text('pässwörd'), '/b'], ['admin', 'nope', '/c']]);
      });

      test('verify may answer with a promise', async () => {
        const auth = new BasicAuthMiddleware({ verify: (user) => ContextPromise.resolve(user === 'admin') });
        const next = fakeNext();
        const admitted = through(auth, withAuth(basic('admin', 'x')), next);
        assert.equal(typeof admitted.then, 'function');
        assert.equal((await admitted).status, 200);
        const refused = await through(auth, withAuth(basic('guest', 'x')), next);
        assert.equal(refused.status, 401);
        assert.equal(next.calls.length, 1);
      });

      test('paths: prefixes cover the path and what is under it, decoded and in any case; other paths pass untouched', () => {
        const auth = new BasicAuthMiddleware({ users: users(), paths: ['/admin', '/ws/private/'] });
        for (const path of ['/admin', '/admin/', '/admin/x/y', '/%61dmin', '/ADMIN/x', '/Admin', '/admin%2Fx', '/admin%zz', '/%zz', '/ws/private', '/ws/private/room']) {
          assert.equal(through(auth, withAuth(undefined, path), fakeNext()).status, 401, path);
        }
        for (const path of ['/', '/administrator', '/public/admin', '/ws/privateer', '/ws']) {
          const next = fakeNext();
          assert.equal(through(auth, withAuth(undefined, path), next).status, 200, path);
          assert.equal(next.calls.length, 1, path);
        }
        const everything = new BasicAuthMiddleware({ users: users(), paths: ['/'] });
        assert.equal(through(everything, withAuth(undefined, '/anything'), fakeNext()).status, 401);
        assert.throws(() => new BasicAuthMiddleware({ users: users(), paths: ['admin'] }), /must start with "\/"/);
      });

      test('paths may be a function', () => {
        const auth = new BasicAuthMiddleware({ users: users(), paths: (req) => req.method !== 'GET' });
        assert.equal(through(auth, request('GET', '/x'), fakeNext()).status, 200);
        assert.equal(through(auth, request('POST', '/x'), fakeNext()).status, 401);
      });

      test('guard(handler): the check for one route, whatever paths say', () => {
        const auth = new BasicAuthMiddleware({ users: users(), paths: ['/elsewhere'] });
        const handler = fakeNext({ status: 204 });
        const guarded = auth.guard(handler);
        assert.equal(guarded(request('GET', '/route')).status, 401);
        assert.equal(handler.calls.length, 0);
        const req = withAuth(basic('admin', 's3cret'), '/route');
        assert.equal(guarded(req).status, 204);
        assert.equal(handler.calls[0], req);
        assert.equal(req.user, 'admin');
      });

      test('the realm is a quoted-string (quotes and backslashes escaped, UTF-8); control characters are refused', () => {
        const res = through(new BasicAuthMiddleware({ users: users(), realm: text('a "b" \\ ü') }), request(), fakeNext());
        assert.equal(headValue(res, 'WWW-Authenticate'), Buffer.from('Basic realm="a \\"b\\" \\\\ ü", charset="UTF-8"', 'utf8').toString('latin1'));
        for (const realm of ['a\r\nX-Injected: 1', 'a\x00', 'a\nb']) {
          assert.throws(() => new BasicAuthMiddleware({ users: users(), realm }), /control characters/, JSON.stringify(realm));
        }
      });

      test('hooks: before() answers a refusal, or undefined once req.user is set, or a promise of either with an async verify', async () => {
        const auth = new BasicAuthMiddleware({ users: users() });
        assert.equal(auth.handle, undefined);
        assert.equal(auth.after, undefined);
        const req = withAuth(basic('admin', 's3cret'));
        assert.equal(auth.before(req), undefined);
        assert.equal(req.user, 'admin');
        assert.equal(auth.before(withAuth(basic('admin', 'nope'))).status, 401);
        const later = new BasicAuthMiddleware({ verify: (user) => ContextPromise.resolve(user === 'admin' && { name: user }) });
        const admitted = withAuth(basic('admin', 'x'));
        const going = later.before(admitted);
        assert.ok(isThenable(going));
        assert.equal(admitted.user, undefined, 'not before verify settles');
        assert.equal(await going, undefined);
        assert.deepEqual(plain(admitted.user), { name: 'admin' });
        assert.equal((await later.before(withAuth(basic('eve', 'x')))).status, 401);
      });

      test('a verify that throws or rejects fails the request (compose passes the error on)', async () => {
        const boom = new Error('directory down');
        const next = fakeNext();
        const throwing = new BasicAuthMiddleware({ verify: () => { throw boom; } });
        assert.throws(() => through(throwing, withAuth(basic('admin', 'x')), next), (e) => e === boom);
        const rejecting = new BasicAuthMiddleware({ verify: () => ContextPromise.reject(boom) });
        assert.equal(await rejectionOf(through(rejecting, withAuth(basic('admin', 'x')), next)), boom);
        assert.equal(await rejectionOf(rejecting.guard(next)(withAuth(basic('admin', 'x')))), boom);
        assert.equal(next.calls.length, 0);
      });

      test('guard(handler) with an async verify answers with a promise; the handler runs only once it admits', async () => {
        const auth = new BasicAuthMiddleware({ verify: (user) => ContextPromise.resolve(user === 'admin') });
        const handler = fakeNext({ status: 204 });
        const guarded = auth.guard(handler);
        const pending = guarded(withAuth(basic('admin', 'x'), '/route'));
        assert.ok(isThenable(pending));
        assert.equal(handler.calls.length, 0);
        assert.equal((await pending).status, 204);
        assert.equal(handler.calls[0].user, 'admin');
        assert.equal((await guarded(withAuth(basic('bob', 'x'), '/route'))).status, 401);
        assert.equal(handler.calls.length, 1);
      });

      test('users or verify, exactly one; user names cannot hold ":"', () => {
        assert.throws(() => new BasicAuthMiddleware({}), /users or verify/);
        assert.throws(() => new BasicAuthMiddleware({ users: users(), verify: () => true }), /users or verify/);
        assert.throws(() => new BasicAuthMiddleware({ users: { 'a:b': 'c' } }), /cannot hold ":"/);
      });
    });

    describe('BearerAuthMiddleware', () => {
      const CHALLENGE = 'Bearer realm="MicroServer"';
      const withToken = (authorization) => request('GET', '/api', authorization === undefined ? {} : { authorization });

      test('no token, or another scheme: 401 with the bare challenge', () => {
        const auth = new BearerAuthMiddleware({ tokens: ['t-1'] });
        for (const authorization of [undefined, basic('a', 'b'), 'Token t-1', 'Bearert-1']) {
          const res = through(auth, withToken(authorization), fakeNext());
          assert.equal(res.status, 401, authorization);
          assert.equal(headValue(res, 'WWW-Authenticate'), CHALLENGE, authorization);
        }
      });

      test('a malformed token: 400, error="invalid_request"', () => {
        const auth = new BearerAuthMiddleware({ tokens: ['t-1'] });
        for (const authorization of ['Bearer', 'Bearer ', 'Bearer t-1 t-2', 'Bearer t-1,t-2', 'Bearer =t', 'Bearer t=1', 'Bearer t\xe9']) {
          const next = fakeNext();
          const res = through(auth, withToken(authorization), next);
          assert.equal(res.status, 400, authorization);
          assert.equal(headValue(res, 'WWW-Authenticate'), CHALLENGE + ', error="invalid_request"', authorization);
          assert.deepEqual(bodyOf(res), { error: 'Malformed Authorization header', code: 400 });
          assert.equal(next.calls.length, 0);
        }
      });

      test('a wrong token: 401, error="invalid_token"; a listed one reaches next as req.user', () => {
        const auth = new BearerAuthMiddleware({ tokens: ['t-1', 'abc.DEF_ghi~+/=='] });
        for (const token of ['t-2', 't-', 't-11', 'T-1', 'abc.DEF_ghi~+/=']) {
          const res = through(auth, withToken('Bearer ' + token), fakeNext());
          assert.equal(res.status, 401, token);
          assert.equal(headValue(res, 'WWW-Authenticate'), CHALLENGE + ', error="invalid_token"', token);
        }
        for (const token of ['t-1', 'abc.DEF_ghi~+/==']) {
          const req = withToken('bearer ' + token);
          assert.equal(through(auth, req, fakeNext()).status, 200, token);
          assert.equal(req.user, token);
        }
      });

      test('verify, synchronous or with a promise; its value becomes req.user', async () => {
        const auth = new BearerAuthMiddleware({ realm: 'api', verify: (token, req) => (token === 'good' ? { owner: req.path } : false) });
        const req = withToken('Bearer good');
        assert.equal(through(auth, req, fakeNext()).status, 200);
        assert.deepEqual(plain(req.user), { owner: '/api' });
        assert.equal(headValue(through(auth, withToken('Bearer bad'), fakeNext()), 'WWW-Authenticate'), 'Bearer realm="api", error="invalid_token"');
        const later = new BearerAuthMiddleware({ verify: (token) => ContextPromise.resolve(token === 'good') });
        const asyncReq = withToken('Bearer good');
        assert.equal((await through(later, asyncReq, fakeNext())).status, 200);
        assert.equal(asyncReq.user, 'good');
      });

      test('guard(handler) and paths work as for Basic', () => {
        const auth = new BearerAuthMiddleware({ tokens: ['t-1'], paths: ['/api'] });
        assert.equal(through(auth, request('GET', '/open'), fakeNext()).status, 200);
        assert.equal(through(auth, request('GET', '/api/x'), fakeNext()).status, 401);
        const guarded = auth.guard(fakeNext({ status: 202 }));
        assert.equal(guarded(request('GET', '/open')).status, 401);
        assert.equal(guarded(request('GET', '/open', { authorization: 'Bearer t-1' })).status, 202);
      });

      test('tokens or verify, exactly one; tokens must be RFC 6750 b64tokens', () => {
        assert.throws(() => new BearerAuthMiddleware({}), /tokens or verify/);
        assert.throws(() => new BearerAuthMiddleware({ tokens: ['a'], verify: () => true }), /tokens or verify/);
        for (const token of ['has space', 'a,b', '', 'tök']) assert.throws(() => new BearerAuthMiddleware({ tokens: [token] }), /b64token/, token);
      });
    });

    // ----- Security headers ----------------------------------------------------

    describe('SecurityHeadersMiddleware', () => {
      const DEFAULTS = [
        ['X-Content-Type-Options', 'nosniff'], ['X-Frame-Options', 'DENY'], ['Referrer-Policy', 'no-referrer'],
        ['Content-Security-Policy', "default-src 'self'"],
      ];

      test('defaults on a response without headers', () => {
        const res = through(new SecurityHeadersMiddleware(), request(), fakeNext());
        assert.deepEqual(headLines(res), DEFAULTS);
      });

      test('headers the response already has are kept, in any case; the others are added after them', () => {
        const res = through(new SecurityHeadersMiddleware(), request(), fakeNext({ head: 'x-frame-options: SAMEORIGIN\r\nCONTENT-SECURITY-POLICY: none\r\nX-Other: 1\r\n' }));
        assert.deepEqual(headLines(res), [['x-frame-options', 'SAMEORIGIN'], ['CONTENT-SECURITY-POLICY', 'none'], ['X-Other', '1'],
          ['X-Content-Type-Options', 'nosniff'], ['Referrer-Policy', 'no-referrer']]);
      });

      test('a header named like the start of another is not taken for it', () => {
        const res = through(new SecurityHeadersMiddleware(), request(), fakeNext({ head: 'X-Frame: 1\r\nReferrer-Policy-Extra: 2\r\n' }));
        assert.equal(headValue(res, 'X-Frame-Options'), 'DENY');
        assert.equal(headValue(res, 'Referrer-Policy'), 'no-referrer');
      });

      test('each value can be changed or left out (false)', () => {
        const mw = new SecurityHeadersMiddleware({ frameOptions: 'SAMEORIGIN', contentSecurityPolicy: false, referrerPolicy: 'same-origin', contentTypeOptions: false });
        assert.deepEqual(headLines(through(mw, request(), fakeNext())), [['X-Frame-Options', 'SAMEORIGIN'], ['Referrer-Policy', 'same-origin']]);
        const none = new SecurityHeadersMiddleware({ frameOptions: false, contentSecurityPolicy: false, referrerPolicy: false, contentTypeOptions: false });
        assert.deepEqual(headLines(through(none, request(), fakeNext())), []);
      });

      test('a hook with after() only, changing the response in place; it covers early answers of inner layers', () => {
        const mw = new SecurityHeadersMiddleware();
        assert.equal(mw.handle, undefined);
        assert.equal(mw.before, undefined);
        const res = new Response('x');
        assert.equal(mw.after(request(), res), undefined);
        assert.deepEqual(headLines(res), DEFAULTS);
        const next = fakeNext();
        const refused = compose([mw, new BearerAuthMiddleware({ tokens: ['t-1'] })], next)(request());
        assert.equal(refused.status, 401);
        assert.deepEqual(headLines(refused), [['WWW-Authenticate', 'Bearer realm="MicroServer"'], ...DEFAULTS]);
        assert.equal(next.calls.length, 0);
      });

      test('a value that would split the response is refused at construction', () => {
        assert.throws(() => new SecurityHeadersMiddleware({ contentSecurityPolicy: "default-src 'self'\r\nSet-Cookie: x=1" }), /CR, LF and NUL/);
      });

      test('works with a promise from next', async () => {
        const res = await through(new SecurityHeadersMiddleware(), request(), fakeNext({ async: true }));
        assert.deepEqual(headLines(res), DEFAULTS);
      });
    });

    test('no promise rejection went unhandled in the interpreter', () => {
      assert.deepEqual(printed.filter((line) => /^Uncaught/.test(line)), []);
    });
  });
}
