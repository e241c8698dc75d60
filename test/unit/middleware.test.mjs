// Unit tests of middleware composition, CORS, logging, auth and security
// headers (src/middleware/*.ts), run as the real ES5
// library build inside the Espruino emulation, in both modes. Middleware is
// called directly with fake requests and fake `next` functions.

import { test, describe, after } from 'node:test';
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

const CORS_HEADER = /^access-control-|^vary$/i;

for (const mode of ['esp32', 'linux']) {
  describe(`middleware (${mode})`, () => {
    const { emu, exports: M } = loadEmulated(CODE, mode, 'middleware');
    const { compose, CORSMiddleware, LoggingMiddleware, BasicAuthMiddleware, BearerAuthMiddleware, SecurityHeadersMiddleware, constantTimeEqual, Response } = M;
    /** How the interpreter holds a piece of text: UTF-8 bytes on esp32, Unicode on linux. */
    const text = (s) => (mode === 'esp32' ? Buffer.from(s, 'utf8').toString('latin1') : s);
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
        const res = new BasicAuthMiddleware({ users: users() }).handle(withAuth(undefined), next);
        assert.equal(res.status, 401);
        assert.equal(headValue(res, 'WWW-Authenticate'), CHALLENGE);
        assert.deepEqual(bodyOf(res), { error: 'Unauthorized', code: 401 });
        assert.equal(next.calls.length, 0);
      });

      test('the right pair reaches next, as req.user', () => {
        const auth = new BasicAuthMiddleware({ users: users() });
        const next = fakeNext();
        const req = withAuth(basic('admin', 's3cret'));
        assert.equal(auth.handle(req, next).status, 200);
        assert.equal(next.calls[0], req);
        assert.equal(req.user, 'admin');
        const utf8 = withAuth(basic('jürgen', 'pässwörd'));
        assert.equal(auth.handle(utf8, next).status, 200);
        assert.equal(utf8.user, text('jürgen'));
        assert.equal(auth.handle(withAuth(basic('admin', 'pass:with:colons')), next).status, 401);
      });

      test('a password with colons is split at the first one only', () => {
        const auth = new BasicAuthMiddleware({ users: { admin: 'a:b:c' } });
        assert.equal(auth.handle(withAuth(basic('admin', 'a:b:c')), fakeNext()).status, 200);
      });

      test('wrong or malformed credentials: 401 with the challenge', () => {
        const auth = new BasicAuthMiddleware({ users: users() });
        const headers = [basic('admin', 'wrong'), basic('root', 's3cret'), basic('jürgen', 's3cret'), basic('admin', ''), basic('', ''),
          'Basic', 'Basic ', 'Basic ***', 'Basic YWRtaW4=', 'Bearer YWRtaW46czNjcmV0', 'YWRtaW46czNjcmV0', 'Basic YWRt aW46czNjcmV0'];
        for (const authorization of headers) {
          const next = fakeNext();
          const res = auth.handle(withAuth(authorization), next);
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
          assert.equal(auth.handle(withAuth(authorization), fakeNext()).status, 200, authorization);
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
        assert.equal(auth.handle(admin, fakeNext()).status, 200);
        assert.equal(admin.user, 'admin');
        const other = withAuth(basic('jürgen', 'pässwörd'), '/b');
        assert.equal(auth.handle(other, fakeNext()).status, 200);
        assert.deepEqual(plain(other.user), { id: 7 });
        assert.equal(auth.handle(withAuth(basic('admin', 'nope'), '/c'), fakeNext()).status, 401);
        assert.deepEqual(seen, [['admin', text('pässwörd'), '/a'], [text('jürgen'), text('pässwörd'), '/b'], ['admin', 'nope', '/c']]);
      });

      test('verify may answer with a promise', async () => {
        const auth = new BasicAuthMiddleware({ verify: (user) => ContextPromise.resolve(user === 'admin') });
        const next = fakeNext();
        const admitted = auth.handle(withAuth(basic('admin', 'x')), next);
        assert.equal(typeof admitted.then, 'function');
        assert.equal((await admitted).status, 200);
        const refused = await auth.handle(withAuth(basic('guest', 'x')), next);
        assert.equal(refused.status, 401);
        assert.equal(next.calls.length, 1);
      });

      test('paths: prefixes cover the path and what is under it, decoded and in any case; other paths pass untouched', () => {
        const auth = new BasicAuthMiddleware({ users: users(), paths: ['/admin', '/ws/private/'] });
        for (const path of ['/admin', '/admin/', '/admin/x/y', '/%61dmin', '/ADMIN/x', '/Admin', '/admin%2Fx', '/admin%zz', '/%zz', '/ws/private', '/ws/private/room']) {
          assert.equal(auth.handle(withAuth(undefined, path), fakeNext()).status, 401, path);
        }
        for (const path of ['/', '/administrator', '/public/admin', '/ws/privateer', '/ws']) {
          const next = fakeNext();
          assert.equal(auth.handle(withAuth(undefined, path), next).status, 200, path);
          assert.equal(next.calls.length, 1, path);
        }
        const everything = new BasicAuthMiddleware({ users: users(), paths: ['/'] });
        assert.equal(everything.handle(withAuth(undefined, '/anything'), fakeNext()).status, 401);
        assert.throws(() => new BasicAuthMiddleware({ users: users(), paths: ['admin'] }), /must start with "\/"/);
      });

      test('paths may be a function', () => {
        const auth = new BasicAuthMiddleware({ users: users(), paths: (req) => req.method !== 'GET' });
        assert.equal(auth.handle(request('GET', '/x'), fakeNext()).status, 200);
        assert.equal(auth.handle(request('POST', '/x'), fakeNext()).status, 401);
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
        const res = new BasicAuthMiddleware({ users: users(), realm: text('a "b" \\ ü') }).handle(request(), fakeNext());
        assert.equal(headValue(res, 'WWW-Authenticate'), Buffer.from('Basic realm="a \\"b\\" \\\\ ü", charset="UTF-8"', 'utf8').toString('latin1'));
        for (const realm of ['a\r\nX-Injected: 1', 'a\x00', 'a\nb']) {
          assert.throws(() => new BasicAuthMiddleware({ users: users(), realm }), /control characters/, JSON.stringify(realm));
        }
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
          const res = auth.handle(withToken(authorization), fakeNext());
          assert.equal(res.status, 401, authorization);
          assert.equal(headValue(res, 'WWW-Authenticate'), CHALLENGE, authorization);
        }
      });

      test('a malformed token: 400, error="invalid_request"', () => {
        const auth = new BearerAuthMiddleware({ tokens: ['t-1'] });
        for (const authorization of ['Bearer', 'Bearer ', 'Bearer t-1 t-2', 'Bearer t-1,t-2', 'Bearer =t', 'Bearer t=1', 'Bearer t\xe9']) {
          const next = fakeNext();
          const res = auth.handle(withToken(authorization), next);
          assert.equal(res.status, 400, authorization);
          assert.equal(headValue(res, 'WWW-Authenticate'), CHALLENGE + ', error="invalid_request"', authorization);
          assert.deepEqual(bodyOf(res), { error: 'Malformed Authorization header', code: 400 });
          assert.equal(next.calls.length, 0);
        }
      });

      test('a wrong token: 401, error="invalid_token"; a listed one reaches next as req.user', () => {
        const auth = new BearerAuthMiddleware({ tokens: ['t-1', 'abc.DEF_ghi~+/=='] });
        for (const token of ['t-2', 't-', 't-11', 'T-1', 'abc.DEF_ghi~+/=']) {
          const res = auth.handle(withToken('Bearer ' + token), fakeNext());
          assert.equal(res.status, 401, token);
          assert.equal(headValue(res, 'WWW-Authenticate'), CHALLENGE + ', error="invalid_token"', token);
        }
        for (const token of ['t-1', 'abc.DEF_ghi~+/==']) {
          const req = withToken('bearer ' + token);
          assert.equal(auth.handle(req, fakeNext()).status, 200, token);
          assert.equal(req.user, token);
        }
      });

      test('verify, synchronous or with a promise; its value becomes req.user', async () => {
        const auth = new BearerAuthMiddleware({ realm: 'api', verify: (token, req) => (token === 'good' ? { owner: req.path } : false) });
        const req = withToken('Bearer good');
        assert.equal(auth.handle(req, fakeNext()).status, 200);
        assert.deepEqual(plain(req.user), { owner: '/api' });
        assert.equal(headValue(auth.handle(withToken('Bearer bad'), fakeNext()), 'WWW-Authenticate'), 'Bearer realm="api", error="invalid_token"');
        const later = new BearerAuthMiddleware({ verify: (token) => ContextPromise.resolve(token === 'good') });
        const asyncReq = withToken('Bearer good');
        assert.equal((await later.handle(asyncReq, fakeNext())).status, 200);
        assert.equal(asyncReq.user, 'good');
      });

      test('guard(handler) and paths work as for Basic', () => {
        const auth = new BearerAuthMiddleware({ tokens: ['t-1'], paths: ['/api'] });
        assert.equal(auth.handle(request('GET', '/open'), fakeNext()).status, 200);
        assert.equal(auth.handle(request('GET', '/api/x'), fakeNext()).status, 401);
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
        const res = new SecurityHeadersMiddleware().handle(request(), fakeNext());
        assert.deepEqual(headLines(res), DEFAULTS);
      });

      test('headers the response already has are kept, in any case; the others are added after them', () => {
        const res = new SecurityHeadersMiddleware().handle(request(), fakeNext({ head: 'x-frame-options: SAMEORIGIN\r\nCONTENT-SECURITY-POLICY: none\r\nX-Other: 1\r\n' }));
        assert.deepEqual(headLines(res), [['x-frame-options', 'SAMEORIGIN'], ['CONTENT-SECURITY-POLICY', 'none'], ['X-Other', '1'],
          ['X-Content-Type-Options', 'nosniff'], ['Referrer-Policy', 'no-referrer']]);
      });

      test('a header named like the start of another is not taken for it', () => {
        const res = new SecurityHeadersMiddleware().handle(request(), fakeNext({ head: 'X-Frame: 1\r\nReferrer-Policy-Extra: 2\r\n' }));
        assert.equal(headValue(res, 'X-Frame-Options'), 'DENY');
        assert.equal(headValue(res, 'Referrer-Policy'), 'no-referrer');
      });

      test('each value can be changed or left out (false)', () => {
        const mw = new SecurityHeadersMiddleware({ frameOptions: 'SAMEORIGIN', contentSecurityPolicy: false, referrerPolicy: 'same-origin', contentTypeOptions: false });
        assert.deepEqual(headLines(mw.handle(request(), fakeNext())), [['X-Frame-Options', 'SAMEORIGIN'], ['Referrer-Policy', 'same-origin']]);
        const none = new SecurityHeadersMiddleware({ frameOptions: false, contentSecurityPolicy: false, referrerPolicy: false, contentTypeOptions: false });
        assert.deepEqual(headLines(none.handle(request(), fakeNext())), []);
      });

      test('a value that would split the response is refused at construction', () => {
        assert.throws(() => new SecurityHeadersMiddleware({ contentSecurityPolicy: "default-src 'self'\r\nSet-Cookie: x=1" }), /CR, LF and NUL/);
      });

      test('works with a promise from next', async () => {
        const res = await new SecurityHeadersMiddleware().handle(request(), fakeNext({ async: true }));
        assert.deepEqual(headLines(res), DEFAULTS);
      });
    });
  });
}
