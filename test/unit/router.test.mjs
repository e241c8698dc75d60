// Unit tests of the trie router (src/router.ts), run as the real ES5 library
// build inside the Espruino emulation, in both modes.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildFixture, loadBundle, plain } from './library.mjs';


// ---------------------------------------------------------------------------
// Loading the build output


// On a device every object inherits Espruino's event methods from
// Object.prototype (jswrap_object.c); the emulation gives them only to
// sockets, servers, E and process. Add them here so a router that looked
// segments up with `in` or plain indexing would trip over them.
const DEVICE_OBJECT_METHODS = `(function () {
  ['on', 'addListener', 'emit', 'removeListener', 'removeAllListeners', 'prependListener'].forEach(function (name) {
    Object.defineProperty(Object.prototype, name, { value: function () {}, writable: true, configurable: true, enumerable: false });
  });
})();`;

const CODE = await buildFixture('router');

for (const mode of ['esp32', 'linux']) {
  describe(`Router (${mode})`, () => {
    const { Router } = loadBundle(CODE, mode, 'router', DEVICE_OBJECT_METHODS);

    /** A router with the given [method, path] routes; each handler is "METHOD path". */
    function router(...routes) {
      const r = new Router();
      for (const [method, path] of routes) r.add(method, path, `${method} ${path}`);
      return r;
    }

    /** match() as plain data: null, or { handler, params, allow }. */
    function match(r, method, path) {
      return plain(r.match(method, path));
    }

    describe('matching', () => {
      test('a static path, the root, and a trailing slash as its own route', () => {
        const r = router(['GET', '/'], ['GET', '/a'], ['GET', '/a/'], ['GET', '/a/b']);
        assert.deepEqual(match(r, 'GET', '/'), { handler: 'GET /', params: {}, allow: [] });
        assert.equal(match(r, 'GET', '/a').handler, 'GET /a');
        assert.equal(match(r, 'GET', '/a/').handler, 'GET /a/');
        assert.equal(match(r, 'GET', '/a/b').handler, 'GET /a/b');
        assert.equal(match(r, 'GET', '/b'), null);
        assert.equal(match(r, 'GET', '/a/c'), null);
        assert.equal(match(r, 'GET', '/a//b'), null);
      });

      test('paths that do not start with "/" match nothing', () => {
        const r = router(['GET', '/'], ['GET', '/<x>']);
        for (const path of ['', 'a', '*', 'http://h/a', ' /']) assert.equal(match(r, 'GET', path), null, JSON.stringify(path));
      });

      test('a static segment beats a parameter, whichever was added first', () => {
        for (const order of [[['GET', '/users/<id>'], ['GET', '/users/new']], [['GET', '/users/new'], ['GET', '/users/<id>']]]) {
          const r = router(...order);
          assert.deepEqual(match(r, 'GET', '/users/new'), { handler: 'GET /users/new', params: {}, allow: [] });
          assert.deepEqual(match(r, 'GET', '/users/42'), { handler: 'GET /users/<id>', params: { id: '42' }, allow: [] });
        }
      });

      test('backtracks from a static branch that fails deeper down to the parameter', () => {
        const r = router(['GET', '/a/<x>/c'], ['GET', '/a/b/d']);
        assert.deepEqual(match(r, 'GET', '/a/b/c'), { handler: 'GET /a/<x>/c', params: { x: 'b' }, allow: [] });
        assert.deepEqual(match(r, 'GET', '/a/b/d'), { handler: 'GET /a/b/d', params: {}, allow: [] });
        assert.deepEqual(match(r, 'GET', '/a/z/c'), { handler: 'GET /a/<x>/c', params: { x: 'z' }, allow: [] });
        assert.equal(match(r, 'GET', '/a/b/e'), null);
        assert.equal(match(r, 'GET', '/a/b'), null);
      });

      test('a parameter captured on a branch that failed is not reported', () => {
        const r = router(['GET', '/a/b/<y>/z'], ['GET', '/a/<x>/c/d']);
        assert.deepEqual(match(r, 'GET', '/a/b/c/d'), { handler: 'GET /a/<x>/c/d', params: { x: 'b' }, allow: [] });
        assert.deepEqual(match(r, 'GET', '/a/b/q/z'), { handler: 'GET /a/b/<y>/z', params: { y: 'q' }, allow: [] });
      });

      test('a node on the path without handlers is no match; backtracking reaches the handler', () => {
        const r = router(['GET', '/a/b/c'], ['GET', '/a/<x>']);
        assert.deepEqual(match(r, 'GET', '/a/b'), { handler: 'GET /a/<x>', params: { x: 'b' }, allow: [] });
      });

      test('several parameters', () => {
        const r = router(['GET', '/<org>/repos/<repo>/issues/<n>']);
        assert.deepEqual(match(r, 'GET', '/acme/repos/tool/issues/7').params, { org: 'acme', repo: 'tool', n: '7' });
      });

      test('a parameter never matches an empty segment', () => {
        const r = router(['GET', '/users/<id>'], ['GET', '/<a>/<b>']);
        assert.equal(match(r, 'GET', '/users/'), null);
        assert.equal(match(r, 'GET', '//x'), null);
        assert.equal(match(r, 'GET', '/x/'), null);
      });

      test('parameters are percent-decoded, "+" kept, as UTF-8 text', () => {
        const r = router(['GET', '/files/<name>']);
        assert.equal(match(r, 'GET', '/files/a%20b').params.name, 'a b');
        assert.equal(match(r, 'GET', '/files/a%2Fb').params.name, 'a/b');
        assert.equal(match(r, 'GET', '/files/a+b').params.name, 'a+b');
        assert.equal(match(r, 'GET', '/files/100%25').params.name, '100%');
        const e = r.match('GET', '/files/caf%C3%A9').params.name;
        // esp32: text is UTF-8 bytes; linux: text is Unicode.
        assert.equal(e, mode === 'esp32' ? 'caf\xc3\xa9' : 'café');
      });

      test('a badly encoded parameter throws a 400 error', () => {
        const r = router(['GET', '/files/<name>']);
        for (const path of ['/files/%zz', '/files/a%2', '/files/%']) {
          let thrown;
          try { r.match('GET', path); } catch (e) { thrown = e; }
          assert.ok(thrown, `${path} throws`);
          assert.equal(thrown.status, 400, path);
        }
      });

      test('paths with more segments than any route match nothing', () => {
        const r = router(['GET', '/a/<x>'], ['GET', '/<p>/<q>/<r>']);
        assert.equal(match(r, 'GET', '/a/b/c/d'), null);
        assert.equal(match(r, 'GET', '/a/b/c/d/e/f/g/h'), null);
        assert.equal(match(r, 'GET', '/' + 'x/'.repeat(1000)), null);
        assert.deepEqual(match(r, 'GET', '/a/b/c').params, { p: 'a', q: 'b', r: 'c' });
      });
    });

    describe('methods', () => {
      test('a path with other methods gives a null handler and the Allow list, with HEAD for GET', () => {
        const r = router(['GET', '/x'], ['POST', '/x'], ['DELETE', '/y']);
        assert.deepEqual(match(r, 'PUT', '/x'), { handler: null, params: {}, allow: ['GET', 'POST', 'HEAD'] });
        assert.deepEqual(match(r, 'GET', '/y'), { handler: null, params: {}, allow: ['DELETE'] });
        assert.equal(match(r, 'PUT', '/z'), null, 'no route for the path at all');
      });

      test('HEAD is not listed twice when it has its own route', () => {
        const r = router(['HEAD', '/x'], ['GET', '/x']);
        assert.deepEqual(match(r, 'PUT', '/x').allow, ['HEAD', 'GET']);
      });

      test('HEAD falls back to the GET handler; its own HEAD route wins', () => {
        const r = router(['GET', '/x'], ['GET', '/y'], ['HEAD', '/y'], ['POST', '/z']);
        assert.equal(match(r, 'HEAD', '/x').handler, 'GET /x');
        assert.equal(match(r, 'HEAD', '/y').handler, 'HEAD /y');
        assert.deepEqual(match(r, 'HEAD', '/z'), { handler: null, params: {}, allow: ['POST'] });
      });

      test('the 405 answer carries the parameters too', () => {
        const r = router(['GET', '/u/<id>']);
        assert.deepEqual(match(r, 'POST', '/u/7'), { handler: null, params: { id: '7' }, allow: ['GET', 'HEAD'] });
      });

      test('methods are case-sensitive', () => {
        const r = router(['GET', '/x']);
        assert.equal(match(r, 'get', '/x').handler, null);
      });

      test('hasMethod tells whether any route accepts a method', () => {
        const r = router(['GET', '/x'], ['PATCH', '/y/<id>']);
        assert.equal(r.hasMethod('GET'), true);
        assert.equal(r.hasMethod('PATCH'), true);
        assert.equal(r.hasMethod('PUT'), false);
        assert.equal(r.hasMethod('HEAD'), false);
        assert.equal(r.hasMethod('constructor'), false);
      });
    });

    describe('routes() and remove()', () => {
      test('routes() lists { method, path } in the order added; adding again replaces the handler in place', () => {
        const r = router(['GET', '/b'], ['POST', '/a'], ['GET', '/a/<id>'], ['GET', '/']);
        r.add('POST', '/a', 'replaced');
        assert.deepEqual(plain(r.routes()), [
          { method: 'GET', path: '/b' }, { method: 'POST', path: '/a' }, { method: 'GET', path: '/a/<id>' }, { method: 'GET', path: '/' },
        ]);
        assert.equal(match(r, 'POST', '/a').handler, 'replaced');
      });

      test('routes() returns a copy', () => {
        const r = router(['GET', '/a']);
        r.routes().push({ method: 'GET', path: '/b' });
        r.routes().length = 0;
        assert.deepEqual(plain(r.routes()), [{ method: 'GET', path: '/a' }]);
      });

      test('remove(path, method) removes one method; the others and other routes keep their handlers and order', () => {
        const r = router(['GET', '/x'], ['POST', '/x'], ['GET', '/y/<id>'], ['PUT', '/x'], ['GET', '/z']);
        assert.equal(r.remove('/x', 'POST'), 1);
        assert.deepEqual(plain(r.routes()), [
          { method: 'GET', path: '/x' }, { method: 'GET', path: '/y/<id>' }, { method: 'PUT', path: '/x' }, { method: 'GET', path: '/z' },
        ]);
        assert.deepEqual(match(r, 'POST', '/x'), { handler: null, params: {}, allow: ['GET', 'PUT', 'HEAD'] });
        assert.equal(match(r, 'GET', '/x').handler, 'GET /x');
        assert.equal(match(r, 'PUT', '/x').handler, 'PUT /x');
        assert.deepEqual(match(r, 'GET', '/y/5'), { handler: 'GET /y/<id>', params: { id: '5' }, allow: [] });
        assert.equal(match(r, 'GET', '/z').handler, 'GET /z');
      });

      test('remove(path) removes every method of the path', () => {
        const r = router(['GET', '/x'], ['POST', '/x'], ['GET', '/x/y']);
        assert.equal(r.remove('/x'), 2);
        assert.equal(match(r, 'GET', '/x'), null);
        assert.equal(match(r, 'POST', '/x'), null);
        assert.equal(match(r, 'GET', '/x/y').handler, 'GET /x/y');
        assert.deepEqual(plain(r.routes()), [{ method: 'GET', path: '/x/y' }]);
      });

      test('remove() of something not there returns 0 and changes nothing', () => {
        const r = router(['GET', '/x'], ['GET', '/a/<id>']);
        assert.equal(r.remove('/y'), 0);
        assert.equal(r.remove('/x', 'POST'), 0);
        assert.equal(r.remove('/a/<other>'), 0, 'paths compare as written');
        assert.equal(r.routes().length, 2);
        assert.equal(match(r, 'GET', '/x').handler, 'GET /x');
      });

      test('after removing a parameter route, another parameter name may take its place', () => {
        const r = router(['GET', '/a/<id>'], ['GET', '/b']);
        assert.equal(r.remove('/a/<id>'), 1);
        assert.equal(match(r, 'GET', '/a/1'), null);
        r.add('GET', '/a/<name>', 'named');
        assert.deepEqual(match(r, 'GET', '/a/1'), { handler: 'named', params: { name: '1' }, allow: [] });
      });

      test('removing the longest route makes longer paths unmatched, and shorter ones still match', () => {
        const r = router(['GET', '/a'], ['GET', '/a/b/c/d']);
        r.remove('/a/b/c/d');
        assert.equal(match(r, 'GET', '/a/b/c/d'), null);
        assert.equal(match(r, 'GET', '/a').handler, 'GET /a');
      });

      test('removing everything leaves an empty router that can be reused', () => {
        const r = router(['GET', '/a'], ['POST', '/a']);
        assert.equal(r.remove('/a'), 2);
        assert.deepEqual(plain(r.routes()), []);
        assert.equal(match(r, 'GET', '/a'), null);
        r.add('GET', '/a', 'again');
        assert.equal(match(r, 'GET', '/a').handler, 'again');
      });
    });

    describe('parameter names and types', () => {
      test('two routes may name the parameter at the same position differently', () => {
        const r = router(['GET', '/things/<id>'], ['GET', '/things/<name>/detail'], ['POST', '/things/<key>']);
        assert.deepEqual(match(r, 'GET', '/things/7'), { handler: 'GET /things/<id>', params: { id: '7' }, allow: [] });
        assert.deepEqual(match(r, 'GET', '/things/lamp/detail'), { handler: 'GET /things/<name>/detail', params: { name: 'lamp' }, allow: [] });
        assert.deepEqual(match(r, 'POST', '/things/7'), { handler: 'POST /things/<key>', params: { key: '7' }, allow: [] });
        assert.deepEqual(match(r, 'HEAD', '/things/7').params, { id: '7' });
      });

      test('<int:n> matches digits only and gives a number', () => {
        const r = router(['GET', '/items/<int:n>']);
        assert.deepEqual(match(r, 'GET', '/items/42'), { handler: 'GET /items/<int:n>', params: { n: 42 }, allow: [] });
        assert.equal(typeof r.match('GET', '/items/007').params.n, 'number');
        for (const path of ['/items/4x', '/items/-1', '/items/', '/items/1.5', '/items/%31']) assert.equal(match(r, 'GET', path), null, path);
      });

      test('<path:rest> as the last segment takes the rest of the path, slashes included, never nothing', () => {
        const r = router(['GET', '/files/<path:rest>']);
        assert.deepEqual(match(r, 'GET', '/files/a/b/c.txt').params, { rest: 'a/b/c.txt' });
        assert.deepEqual(match(r, 'GET', '/files/a%20b/c').params, { rest: 'a b/c' });
        assert.deepEqual(match(r, 'GET', '/files/x').params, { rest: 'x' });
        assert.equal(match(r, 'GET', '/files/'), null);
        assert.equal(match(r, 'GET', '/files'), null);
        const root = router(['GET', '/<path:all>']);
        assert.deepEqual(match(root, 'GET', '/a/b/c/d/e/f/g/h').params, { all: 'a/b/c/d/e/f/g/h' });
      });

      test('precedence: static, then <int:>, then <param>, then <path:>, whatever the order of adding', () => {
        const routes = [['GET', '/u/<path:rest>'], ['GET', '/u/<name>'], ['GET', '/u/<int:id>'], ['GET', '/u/me']];
        for (const order of [routes, routes.slice().reverse()]) {
          const r = router(...order);
          assert.equal(match(r, 'GET', '/u/me').handler, 'GET /u/me');
          assert.deepEqual(match(r, 'GET', '/u/12').params, { id: 12 });
          assert.deepEqual(match(r, 'GET', '/u/bob').params, { name: 'bob' });
          assert.deepEqual(match(r, 'GET', '/u/bob/photos/1').params, { rest: 'bob/photos/1' });
        }
      });

      test('typed routes are removed like others', () => {
        const r = router(['GET', '/n/<int:id>'], ['GET', '/n/<path:rest>']);
        assert.equal(r.remove('/n/<int:id>'), 1);
        assert.deepEqual(match(r, 'GET', '/n/5').params, { rest: '5' });
        assert.equal(r.remove('/n/<path:rest>'), 1);
        assert.equal(match(r, 'GET', '/n/5'), null);
      });
    });

    describe('invalid routes', () => {
      function throwsMessage(fn) {
        try { fn(); } catch (e) { return String(e.message); }
        assert.fail('expected an exception');
      }

      test('a path must start with "/"', () => {
        const r = new Router();
        for (const path of ['users', '', 'users/<id>', ' /a']) {
          assert.match(throwsMessage(() => r.add('GET', path, 'h')), /must start with "\/"/, JSON.stringify(path));
        }
        assert.deepEqual(plain(r.routes()), []);
      });

      test('a parameter name must be an identifier', () => {
        const r = new Router();
        for (const name of ['', '1x', 'a-b', 'a.b', 'a b', 'é', '$x', '<x>']) {
          const message = throwsMessage(() => r.add('GET', `/a/<${name}>`, 'h'));
          assert.match(message, /Invalid parameter name/, name);
          assert.ok(message.indexOf(`/a/<${name}>`) >= 0, `the message names the route: ${message}`);
        }
        r.add('GET', '/a/<_id9>', 'ok');
        assert.deepEqual(match(r, 'GET', '/a/v').params, { _id9: 'v' });
      });

      test('a parameter must be a whole segment', () => {
        const r = new Router();
        for (const path of ['/a<x>', '/<x>b', '/a/x<y>z', '/<x', '/x>', '/<', '/>', '/a/<x>.json']) {
          assert.match(throwsMessage(() => r.add('GET', path, 'h')), /whole segment/, path);
        }
      });

      test('Express-style ":id" and "{id}" segments are refused with a message naming <id>', () => {
        const r = new Router();
        for (const [path, name] of [['/users/:id', 'id'], ['/users/{user_id}/posts', 'user_id'], ['/:a', 'a']]) {
          const message = throwsMessage(() => r.add('GET', path, 'h'));
          assert.ok(message.indexOf(`as <${name}>`) >= 0 && message.indexOf(path) >= 0, message);
        }
        // Not parameter-shaped: ordinary segments.
        r.add('GET', '/time/12:30', 'h');
        r.add('GET', '/{}', 'h');
        assert.equal(r.routes().length, 2);
      });

      test('a typed parameter names a known type; <path:...> only as the last segment; a name once per route', () => {
        const r = new Router();
        assert.match(throwsMessage(() => r.add('GET', '/a/<float:x>', 'h')), /unknown parameter type "float".*int, path/);
        assert.match(throwsMessage(() => r.add('GET', '/a/<path:rest>/b', 'h')), /<path:rest> must be the last segment/);
        assert.match(throwsMessage(() => r.add('GET', '/a/<int:1x>', 'h')), /Invalid parameter name <1x>/);
        assert.match(throwsMessage(() => r.add('GET', '/a/<x>/<int:x>', 'h')), /names parameter <x> twice/);
        assert.deepEqual(plain(r.routes()), []);
      });

      // Bug: add() creates trie nodes segment by segment and throws on a bad
      // later segment, so a rejected route leaves its parameter node (and its
      // name) behind: the next route naming that parameter differently is
      // refused because of a route that was never added.
      test('a rejected route leaves nothing behind', () => {
        const r = new Router();
        throwsMessage(() => r.add('GET', '/q/<id>/<9bad>', 'h'));
        assert.deepEqual(plain(r.routes()), []);
        r.add('GET', '/q/<name>', 'h'); // throws: "... where another route has <id>"
        assert.deepEqual(match(r, 'GET', '/q/v').params, { name: 'v' });
      });
    });

    describe('names that objects inherit', () => {
      const NAMES = ['constructor', 'hasOwnProperty', 'toString', 'valueOf', 'isPrototypeOf', 'on', 'emit', 'removeListener', '__defineGetter__'];

      test('as path segments they match nothing by accident', () => {
        const r = router(['GET', '/'], ['GET', '/a'], ['GET', '/a/b']);
        for (const name of NAMES.concat(['__proto__'])) {
          assert.equal(match(r, 'GET', `/${name}`), null, name);
          assert.equal(match(r, 'GET', `/a/${name}`), null, name);
          assert.equal(match(r, 'GET', `/${name}/b`), null, name);
        }
      });

      test('as methods they have no handler', () => {
        const r = router(['GET', '/a']);
        for (const name of NAMES.concat(['__proto__'])) {
          assert.deepEqual(match(r, name, '/a'), { handler: null, params: {}, allow: ['GET', 'HEAD'] }, name);
        }
      });

      test('they work as ordinary static segments, parameter values and methods', () => {
        const r = new Router();
        for (const name of NAMES) {
          r.add('GET', `/${name}`, `static ${name}`);
          r.add(name, '/m', `method ${name}`);
        }
        r.add('GET', '/p/<constructor>', 'param');
        for (const name of NAMES) {
          assert.equal(match(r, 'GET', `/${name}`).handler, `static ${name}`, name);
          assert.equal(match(r, name, '/m').handler, `method ${name}`, name);
          assert.deepEqual(match(r, 'GET', `/p/${name}`).params, { constructor: name }, name);
        }
        assert.equal(match(r, 'GET', '/nothing'), null);
      });

      // "__proto__" as a key would set an object's prototype: such routes are refused when added.
      test('"__proto__" as a static segment or a parameter name is refused with a message', () => {
        const r = router();
        assert.throws(() => r.add('GET', '/__proto__', 'h'), /"__proto__" cannot be a path segment/);
        assert.throws(() => r.add('GET', '/p/<__proto__>', 'h'), /Invalid parameter name <__proto__>/);
        assert.equal(r.routes().length, 0);
      });
    });
  });
}
