// Unit tests of middleware composition, CORS and logging
// (src/middleware/compose.ts, cors.ts, logging.ts), run as the real ES5
// library build inside the Espruino emulation, in both modes. Middleware is
// called directly with fake requests and fake `next` functions.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildFixture, loadEmulated } from './library.mjs';


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

const CORS_HEADER = /^access-control-|^vary$/i;

for (const mode of ['esp32', 'linux']) {
  describe(`middleware (${mode})`, () => {
    const { emu, exports: M } = loadEmulated(CODE, mode, 'middleware');
    const { compose, CORSMiddleware, LoggingMiddleware, Response } = M;
    const ContextPromise = emu.run('Promise');

    /** A `next` that records its calls and answers with a fresh Response (or a promise of one). */
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

    // ----- compose -----------------------------------------------------------

    describe('compose', () => {
      /** A middleware function that logs around next(). */
      function around(log, name) {
        return (req, next) => {
          log.push(`${name} in`);
          const res = next(req);
          log.push(`${name} out`);
          return res;
        };
      }

      test('the first middleware added is outermost', () => {
        const log = [];
        const chain = compose([around(log, 'a'), around(log, 'b'), around(log, 'c')], () => {
          log.push('handler');
          return new Response(null, 204);
        });
        const res = chain(request());
        assert.equal(res.status, 204);
        assert.deepEqual(log, ['a in', 'b in', 'c in', 'handler', 'c out', 'b out', 'a out']);
      });

      test('objects with handle(req, next) are called as methods', () => {
        const log = [];
        const object = {
          name: 'obj',
          handle(req, next) {
            log.push(this.name);
            return next(req);
          },
        };
        const next = fakeNext();
        const res = compose([object, around(log, 'f')], next)(request());
        assert.equal(res.status, 200);
        assert.deepEqual(log, ['obj', 'f in', 'f out']);
        assert.equal(next.calls.length, 1);
      });

      test('no middleware: the innermost step itself', () => {
        const next = fakeNext();
        assert.equal(compose([], next), next);
      });

      test('a middleware may answer without calling next, and may change the request and the response', () => {
        const next = fakeNext();
        const chain = compose([
          (req, n) => {
            const res = n({ ...req, path: req.path + '/rewritten' });
            res.head += 'X-Outer: 1\r\n';
            return res;
          },
          (req, n) => (req.path.indexOf('/private') === 0 ? new Response('no', 401) : n(req)),
        ], next);
        const denied = chain(request('GET', '/private'));
        assert.equal(denied.status, 401);
        assert.equal(denied.head, 'X-Outer: 1\r\n');
        assert.equal(next.calls.length, 0);
        const served = chain(request('GET', '/open'));
        assert.equal(served.status, 200);
        assert.equal(served.head, 'X-Outer: 1\r\n');
        assert.equal(next.calls[0].path, '/open/rewritten');
      });

      test('the request reaches each middleware and the innermost step as given', () => {
        const req = request('POST', '/x');
        const seen = [];
        const chain = compose([(r, n) => { seen.push(r); return n(r); }, { handle: (r, n) => { seen.push(r); return n(r); } }], (r) => {
          seen.push(r);
          return new Response();
        });
        chain(req);
        assert.equal(seen.length, 3);
        for (const r of seen) assert.equal(r, req);
      });

      test('a promise-returning next works through synchronous middleware, in order', async () => {
        const log = [];
        const chain = compose([around(log, 'a'), (req, next) => {
          log.push('async in');
          return ContextPromise.resolve().then(() => next(req)).then((res) => {
            log.push('async out');
            return res;
          });
        }], (req) => {
          log.push('handler');
          return ContextPromise.resolve(new Response('late', 201));
        });
        const result = chain(request());
        assert.equal(typeof result.then, 'function', 'the chain answers with a promise');
        assert.deepEqual(log, ['a in', 'async in', 'a out']);
        const res = await result;
        assert.equal(res.status, 201);
        assert.deepEqual(log, ['a in', 'async in', 'a out', 'handler', 'async out']);
      });

      test('the chain can be called again and again', () => {
        let count = 0;
        const chain = compose([(req, next) => { count++; return next(req); }], fakeNext());
        for (let i = 0; i < 5; i++) chain(request());
        assert.equal(count, 5);
      });

      test('anything else is rejected when the chain is built, with a clear message', () => {
        for (const bad of [null, undefined, 42, 'mw', {}, { handle: 'no' }]) {
          assert.throws(() => compose([bad], fakeNext()), /Middleware must be a function \(req, next\) or an object with handle\(req, next\)/, String(bad));
        }
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
        const res = cors.handle(request('GET', '/', { origin: ORIGIN }), next);
        assert.equal(next.calls.length, 1);
        assert.deepEqual(headLines(res), [['X-Own', '1'], ['Access-Control-Allow-Origin', '*']]);
        const noOrigin = cors.handle(request('GET', '/'), fakeNext());
        assert.equal(headValue(noOrigin, 'Access-Control-Allow-Origin'), '*');
      });

      test('default preflight: 204 with the default methods and headers, next not called', () => {
        const cors = new CORSMiddleware();
        const next = fakeNext();
        const res = cors.handle(preflight(), next);
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
        const res = cors.handle(preflight(), fakeNext());
        assert.equal(headValue(res, 'Access-Control-Allow-Methods'), 'GET,PATCH');
        assert.equal(headValue(res, 'Access-Control-Allow-Headers'), 'X-Token');
        assert.equal(headValue(res, 'Access-Control-Max-Age'), '600');
        assert.equal(headValue(new CORSMiddleware({ maxAge: 0 }).handle(preflight(), fakeNext()), 'Access-Control-Max-Age'), '0');
        const actual = cors.handle(request('GET', '/', { origin: ORIGIN }), fakeNext());
        assert.equal(headValue(actual, 'Access-Control-Expose-Headers'), 'X-Total');
        assert.equal(headValue(actual, 'Access-Control-Allow-Methods'), undefined, 'preflight headers only on preflights');
        assert.equal(headValue(actual, 'Access-Control-Max-Age'), undefined);
      });

      test('OPTIONS without Origin or without Access-Control-Request-Method is an ordinary request', () => {
        const cors = new CORSMiddleware({ origins: [ORIGIN] });
        const next = fakeNext({ status: 200 });
        assert.equal(cors.handle(request('OPTIONS', '/api', { origin: ORIGIN }), next).status, 200);
        assert.equal(cors.handle(request('OPTIONS', '/api', { 'access-control-request-method': 'PUT' }), next).status, 200);
        assert.equal(next.calls.length, 2);
        // A non-OPTIONS request with Access-Control-Request-Method is not a preflight either.
        assert.equal(cors.handle(request('PUT', '/api', { origin: ORIGIN, 'access-control-request-method': 'PUT' }), next).status, 200);
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
          const ok = cors.handle(request('GET', '/', { origin: ORIGIN }), fakeNext());
          assert.equal(headValue(ok, 'Access-Control-Allow-Origin'), ORIGIN);
          assert.equal(headValue(ok, 'Vary'), 'Origin');
          assert.equal(headValue(ok, 'Access-Control-Allow-Credentials'), undefined);

          const next = fakeNext({ head: 'X-Own: 1\r\n' });
          const denied = cors.handle(request('GET', '/', { origin: 'http://evil.example' }), next);
          assert.equal(next.calls.length, 1, 'the request is still served');
          // The answer depends on Origin, so caches must be told even when it is refused.
          assert.deepEqual(headLines(denied), [['X-Own', '1'], ['Vary', 'Origin']]);

          const none = cors.handle(request('GET', '/'), fakeNext());
          assert.equal(headLines(none).filter(([n]) => CORS_HEADER.test(n) && n !== 'Vary').length, 0, 'no Origin, no CORS headers');
          assert.equal(headValue(none, 'Vary'), 'Origin');

          const pre = cors.handle(preflight(), fakeNext());
          assert.equal(pre.status, 204);
          assert.equal(headValue(pre, 'Access-Control-Allow-Origin'), ORIGIN);
          assert.equal(headValue(pre, 'Vary'), 'Origin');
          assert.equal(headValue(pre, 'Access-Control-Allow-Methods'), 'GET,POST,PUT,DELETE,OPTIONS');

          const preNext = fakeNext();
          const preDenied = cors.handle(preflight('http://evil.example'), preNext);
          assert.equal(preDenied.status, 204, 'a preflight is answered, without CORS headers');
          assert.equal(preNext.calls.length, 0);
          assert.deepEqual(headLines(preDenied), [['Vary', 'Origin']]);
        });
      }

      test('origins are compared exactly', () => {
        const cors = new CORSMiddleware({ origins: [ORIGIN] });
        for (const origin of ['HTTP://APP.EXAMPLE', ORIGIN + '/', ORIGIN + '.evil', 'http://app.example:80', 'null', '']) {
          assert.equal(headValue(cors.handle(request('GET', '/', { origin }), fakeNext()), 'Access-Control-Allow-Origin'), undefined, origin);
        }
      });

      test('the origin function is called with the request\'s Origin', () => {
        const asked = [];
        const cors = new CORSMiddleware({ origins: (o) => { asked.push(o); return true; } });
        cors.handle(request('GET', '/', { origin: 'http://x.example' }), fakeNext());
        assert.deepEqual(asked, ['http://x.example']);
      });

      test('credentials: the origin is echoed with Vary: Origin, never "*"', () => {
        for (const origins of [undefined, '*', [ORIGIN], (o) => o === ORIGIN]) {
          const cors = new CORSMiddleware({ origins, allowCredentials: true, exposeHeaders: 'X-Total' });
          const res = cors.handle(request('GET', '/', { origin: ORIGIN }), fakeNext());
          assert.equal(headValue(res, 'Access-Control-Allow-Origin'), ORIGIN, String(origins));
          assert.equal(headValue(res, 'Vary'), 'Origin');
          assert.equal(headValue(res, 'Access-Control-Allow-Credentials'), 'true');
          assert.equal(headValue(res, 'Access-Control-Expose-Headers'), 'X-Total');
          const pre = cors.handle(preflight(), fakeNext());
          assert.equal(headValue(pre, 'Access-Control-Allow-Origin'), ORIGIN);
          assert.equal(headValue(pre, 'Access-Control-Allow-Credentials'), 'true');
          assert.equal(headValue(pre, 'Vary'), 'Origin');
          // Without an Origin there is nothing to echo, and "*" is never sent.
          const none = cors.handle(request('GET', '/'), fakeNext());
          assert.equal(headValue(none, 'Access-Control-Allow-Origin'), undefined);
          assert.ok(!/\*/.test(none.head + res.head + pre.head), 'no "*" anywhere with credentials');
        }
      });

      test('with a promise from next, headers are added once it resolves', async () => {
        const cors = new CORSMiddleware({ origins: [ORIGIN] });
        const result = cors.handle(request('GET', '/', { origin: ORIGIN }), fakeNext({ async: true, head: 'X-Own: 1\r\n' }));
        assert.equal(typeof result.then, 'function');
        const res = await result;
        assert.deepEqual(headLines(res), [['X-Own', '1'], ['Access-Control-Allow-Origin', ORIGIN], ['Vary', 'Origin']]);
        const denied = await cors.handle(request('GET', '/', { origin: 'http://evil.example' }), fakeNext({ async: true }));
        assert.deepEqual(headLines(denied), [['Vary', 'Origin']]);
      });

      test('works inside compose', () => {
        const chain = compose([new CORSMiddleware({ origins: [ORIGIN] })], fakeNext());
        assert.equal(headValue(chain(request('GET', '/', { origin: ORIGIN })), 'Access-Control-Allow-Origin'), ORIGIN);
        assert.equal(chain(preflight()).status, 204);
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
        const res = mw.handle(request('POST', '/api/items', {}, '192.168.1.20'), fakeNext({ status: 201 }));
        assert.equal(res.status, 201);
        assert.deepEqual(logger.lines, [['192.168.1.20 | POST /api/items | 201 | 250ms', 'INFO']]);
      });

      test('durations are rounded to a tenth of a millisecond', (t) => {
        t.after(fakeClock(10, 10.0123456, 20, 20));
        const logger = recorder();
        const mw = new LoggingMiddleware(logger);
        mw.handle(request('GET', '/a', {}, '-'), fakeNext({ status: 404 }));
        mw.handle(request('GET', '/b', {}, '-'), fakeNext());
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
        const result = mw.handle(request('GET', '/slow'), () => pending);
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
        withOwn.handle(request(), fakeNext());
        assert.equal(own.lines.length, 1);
        assert.equal(app.lines.length, 0);

        const without = new LoggingMiddleware();
        without.useLogger(app);
        without.useLogger(recorder()); // the first logger given stays
        without.handle(request('GET', '/x'), fakeNext());
        assert.equal(app.lines.length, 1);
        assert.match(app.lines[0][0], /^10\.0\.0\.7 \| GET \/x \| 200 \| \d+(\.\d)?ms$/);
      });

      test('the response passes through unchanged', () => {
        const mw = new LoggingMiddleware(recorder());
        const res = new Response('body', 202);
        res.head = 'X-A: 1\r\n';
        assert.equal(mw.handle(request(), () => res), res);
        assert.equal(res.head, 'X-A: 1\r\n');
      });

      test('works inside compose, outermost, seeing the status set by inner middleware', () => {
        const logger = recorder();
        const chain = compose([new LoggingMiddleware(logger), (req, next) => {
          const res = next(req);
          res.status = 418;
          return res;
        }], fakeNext());
        chain(request('DELETE', '/pot'));
        assert.match(logger.lines[0][0], /^10\.0\.0\.7 \| DELETE \/pot \| 418 \| /);
      });
    });
  });
}
