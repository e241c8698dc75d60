// Unit tests of percent-decoding and query strings (src/http/url.ts), run as
// the real ES5 library build inside the Espruino emulation, in both modes.
// Decoded text is UTF-8 bytes on esp32 and Unicode on linux.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildFixture, loadBundle, plain } from './library.mjs';


// ---------------------------------------------------------------------------
// Loading the build output


const CODE = await buildFixture('url');

/** The UTF-8 bytes of a (host, Unicode) string, as a byte string. */
function utf8Bytes(s) {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** The exception `fn` throws, or fails. */
function thrown(fn, message) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail(`expected an exception: ${message}`);
}

for (const mode of ['esp32', 'linux']) {
  describe(`url (${mode})`, () => {
    const U = loadBundle(CODE, mode, 'url');
    /** How the interpreter holds a piece of text: UTF-8 bytes on esp32, Unicode on linux. */
    const text = (s) => (mode === 'esp32' ? utf8Bytes(s) : s);
    /** A query result with every key and value as the interpreter's text. */
    const asText = (params) => Object.fromEntries(Object.entries(params).map(([k, v]) => [text(k), Array.isArray(v) ? v.map(text) : text(v)]));

    describe('decodeComponent', () => {
      test('ASCII without escapes is unchanged', () => {
        for (const s of ['', 'abc', 'a-b_c.d~e', '/path/to', 'a=b&c', 'é']) {
          const raw = s === 'é' ? utf8Bytes(s) : s;
          assert.equal(U.decodeComponent(raw, false), s === 'é' ? text(s) : s, JSON.stringify(s));
        }
      });

      test('%XX escapes, any case; %25 decodes once', () => {
        assert.equal(U.decodeComponent('%41%42c', false), 'ABc');
        assert.equal(U.decodeComponent('a%20b', false), 'a b');
        assert.equal(U.decodeComponent('a%2fb%2Fc', false), 'a/b/c');
        assert.equal(U.decodeComponent('100%25', false), '100%');
        assert.equal(U.decodeComponent('%2541', false), '%41');
        assert.equal(U.decodeComponent('%00%7F', false), '\x00\x7f');
      });

      test('"+" is a space only when asked; an encoded "+" stays "+"', () => {
        assert.equal(U.decodeComponent('a+b++c', false), 'a+b++c');
        assert.equal(U.decodeComponent('a+b++c', true), 'a b  c');
        assert.equal(U.decodeComponent('a%2Bb+c', true), 'a+b c');
        assert.equal(U.decodeComponent('+', true), ' ');
      });

      test('escaped UTF-8 decodes to text', () => {
        const cases = {
          'caf%C3%A9': 'café', 'caf%c3%a9': 'café', '%E2%82%AC': '€', '%F0%9F%98%80': '😀', '%E6%97%A5%E6%9C%AC': '日本',
          'caf%C3%A9+au+lait': 'café au lait', '%C2%80%DF%BF%E0%A0%80%EF%BF%BF%F4%8F%BF%BF': '\u0080\u07ff\u0800\uffff\u{10ffff}',
        };
        for (const [raw, s] of Object.entries(cases)) assert.equal(U.decodeComponent(raw, true), text(s), raw);
      });

      test('escaped bytes that are not UTF-8 come through as those bytes', () => {
        assert.equal(U.decodeComponent('%FF', false), '\xff');
        assert.equal(U.decodeComponent('a%C3', false), 'a\xc3');
        assert.equal(U.decodeComponent('%C0%AF', false), '\xc0\xaf');
        assert.equal(U.decodeComponent('%ED%A0%80', false), '\xed\xa0\x80');
        assert.equal(U.decodeComponent('%C3%A9%FF', false), text('é') + '\xff');
      });

      test('a bad escape throws a 400 HttpError', () => {
        for (const raw of ['%', '%2', '%zz', 'a%g0', '%%', '100%', '%%41', 'ok%2', '%-1', '% 1', '%+1']) {
          for (const plus of [false, true]) {
            const e = thrown(() => U.decodeComponent(raw, plus), raw);
            assert.equal(e.status, 400, raw);
            assert.match(String(e.message), /Bad percent-encoding/, raw);
          }
        }
      });
    });

    describe('parseQuery', () => {
      function query(q) {
        return plain(U.parseQuery(q));
      }

      test('an empty query is an empty object', () => {
        assert.deepEqual(query(''), {});
        assert.deepEqual(query('&'), {});
        assert.deepEqual(query('&&&'), {});
      });

      test('pairs, "+" as space, repeated keys as arrays in order', () => {
        assert.deepEqual(query('a=1&b=x+y&a=2'), { a: ['1', '2'], b: 'x y' });
        assert.deepEqual(query('a=1&a=2&a=3&b=&a=4'), { a: ['1', '2', '3', '4'], b: '' });
        assert.deepEqual(query('k=&k=&k=v'), { k: ['', '', 'v'] });
      });

      test('keys without "=", empty keys, "=" inside values, empty pairs', () => {
        assert.deepEqual(query('flag'), { flag: '' });
        assert.deepEqual(query('a&b=1&a'), { a: ['', ''], b: '1' });
        assert.deepEqual(query('=v'), { '': 'v' });
        assert.deepEqual(query('a=1=2&b==3'), { a: '1=2', b: '=3' });
        assert.deepEqual(query('&a=1&&b=2&'), { a: '1', b: '2' });
      });

      test('keys and values are percent-decoded as UTF-8 text', () => {
        assert.deepEqual(query('na%6De=J%C3%BCrgen+M%C3%BCller&%E2%82%AC=1&q=a%26b%3Dc'), asText({ name: 'Jürgen Müller', '€': '1', q: 'a&b=c' }));
        assert.deepEqual(query('a+b=c+d&a%20b=e'), { 'a b': ['c d', 'e'] });
      });

      test('64 parameters parse; a 65th throws a 400 HttpError; empty pairs do not count, repeated keys do', () => {
        const pairs = (n) => Array.from({ length: n }, (_, i) => `k${i}=${i}`).join('&');
        assert.equal(Object.keys(query(pairs(64))).length, 64);
        assert.equal(Object.keys(query('&'.repeat(4000) + pairs(64) + '&&')).length, 64);
        for (const q of [pairs(65), pairs(64) + '&flag', 'a=1&'.repeat(65), pairs(5000)]) {
          const e = thrown(() => U.parseQuery(q), q.slice(0, 40));
          assert.equal(e.status, 400);
          assert.equal(e.message, 'More than 64 query parameters');
        }
        assert.deepEqual(query('a=1&'.repeat(64)), { a: Array(64).fill('1') });
      });

      test('a bad escape in a key or value throws a 400 HttpError', () => {
        for (const q of ['%zz=1', 'a=%', 'a=1&b=%4', 'ok=1&%=x']) {
          assert.equal(thrown(() => U.parseQuery(q), q).status, 400, q);
        }
      });

      test('keys objects inherit are ordinary keys', () => {
        assert.deepEqual(query('constructor=1&hasOwnProperty=2&toString=3&on=4&emit=5&valueOf=6'),
          { constructor: '1', hasOwnProperty: '2', toString: '3', on: '4', emit: '5', valueOf: '6' });
        assert.deepEqual(query('constructor=1&constructor=2&hasOwnProperty=x&hasOwnProperty=y'),
          { constructor: ['1', '2'], hasOwnProperty: ['x', 'y'] });
        // The result's own hasOwnProperty may be shadowed; keys still combine.
        assert.deepEqual(query('hasOwnProperty=x&a=1&a=2'), { hasOwnProperty: 'x', a: ['1', '2'] });
      });

      // Assigning "__proto__" would set the object's prototype: refused with a 400 HttpError.
      test('a "__proto__" key is refused with 400', () => {
        assert.throws(() => U.parseQuery('__proto__=x&a=1'), (e) => e.status === 400 && /__proto__/.test(e.message));
      });

      test('keys that name prototype properties do not pollute prototypes', () => {
        const params = U.parseQuery('__proto__[polluted]=1&constructor[prototype][polluted]=1');
        assert.equal(Object.getPrototypeOf(params).polluted, undefined);
        assert.equal(U.parseQuery('').polluted, undefined, 'a fresh object in the same context');
      });
    });
  });
}
