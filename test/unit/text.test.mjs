// Unit tests of UTF-8 text and JSON (src/platform/text.ts), run as the real
// ES5 library build inside the Espruino emulation, in both modes:
//   esp32  strings are bytes: text IS its UTF-8 bytes.
//   linux  strings are Unicode: text is Unicode, and bytes (what a socket
//          carries) are byte strings, one char per byte.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildFixture, loadEmulated, plain } from './library.mjs';


// ---------------------------------------------------------------------------
// Loading the build output


const CODE = await buildFixture('text');

// ---------------------------------------------------------------------------
// Expected values

/** The UTF-8 bytes of a (host, Unicode) string, as a byte string. */
function utf8Bytes(s) {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** Asserts that `actual` is a byte string holding exactly `expected`'s UTF-8 bytes. */
function assertBytes(actual, expected, message) {
  assert.equal(typeof actual, 'string', message);
  assert.ok(!/[^\x00-\xff]/.test(actual), `${message ?? ''} is a byte string: ${JSON.stringify(actual)}`);
  assert.deepEqual(Buffer.from(actual, 'latin1'), Buffer.from(expected, 'utf8'), message);
}

const SAMPLES = [
  '', 'hello', 'café', 'naïve “quotes” – dash', '€uro', '日本語テキスト', 'emoji 😀 and 👍🏽', 'Ω≈ç√∫', '✓ mixed ascii',
  '\u0080', '\u00ff', '\u07ff', '\u0800', '\ufffd', '\uffff', '\u{10000}', '\u{10ffff}', 'tab\tnewline\nquote"backslash\\',
];

for (const mode of ['esp32', 'linux']) {
  describe(`text (${mode})`, () => {
    const { emu, exports: T } = loadEmulated(CODE, mode, 'text');
    const jsonParse = (bytes) => T.jsonParse(bytes, 20);
    const jsonStringify = (value) => T.jsonStringify(value, 20);

    describe('JSON nesting depth (Espruino parses JSON recursively in C, with no stack check)', () => {
      const nested = (depth, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth);
      test('up to the limit parses; one level more is a SyntaxError before JSON.parse runs', () => {
        assert.equal(JSON.stringify(T.safeJsonParse(nested(20), 20)), nested(20));
        assert.throws(() => T.safeJsonParse(nested(21), 20), /nested deeper than 20 levels/);
        assert.throws(() => jsonParse('{"a":' + nested(30, '{"b":', '}') + '}'), /nested deeper/);
      });
      test('brackets inside strings and escaped quotes do not count', () => {
        const text = '[' + JSON.stringify('[[[[[[[[[[[[[[[[[[[[[[[[[ \\" {{{{{{{{{{{{{{{{{{{{{{') + ']';
        assert.equal(T.jsonNestingWithin(text, 2), true);
        assert.equal(T.jsonNestingWithin('["\\"", [[1]]]', 2), false);
        assert.equal(T.jsonNestingWithin('["\\"", [[1]]]', 3), true);
      });
      test('many brackets side by side are not depth', () => {
        assert.equal(T.jsonNestingWithin('[' + '[],'.repeat(100) + '[]]', 2), true);
      });
      test('an escaped backslash ends before the closing quote; brackets that never pair up are refused', () => {
        const objects = JSON.stringify({ a: Array.from({ length: 20 }, (_, i) => ({ k: 'v\\' + i, t: ['[x', '{'] })) });
        assert.equal(T.jsonNestingWithin(objects, 4), true);
        assert.equal(T.jsonNestingWithin(objects, 3), false);
        assert.equal(T.jsonNestingWithin('['.repeat(30), 12), false);
        assert.equal(T.jsonNestingWithin('{"a":1}]'.repeat(20), 12), true);
      });
    });

    describe('JSON values before JSON.stringify (it recurses in C too, and writes " ... " for a cycle)', () => {
      const nestedArrays = (depth) => {
        let value = 1;
        for (let i = 0; i < depth; i++) value = [value];
        return value;
      };
      const nestedMixed = (depth) => {
        let value = 'leaf';
        for (let i = 0; i < depth; i++) value = i % 2 ? { k: value, n: 1 } : [0, value];
        return value;
      };
      const ContextError = emu.run('Error');
      const refusal = (e) => e instanceof ContextError && e.message === 'JSON data nested deeper than 12 levels, or circular';

      test('up to the limit is stringified; one level more throws an Error saying why', () => {
        assert.equal(T.jsonStringify(nestedArrays(12), 12), '['.repeat(12) + '1' + ']'.repeat(12));
        assert.throws(() => T.jsonStringify(nestedArrays(13), 12), refusal);
        assert.equal(T.jsonValueWithin(nestedMixed(12), 12), true);
        assert.equal(T.jsonValueWithin(nestedMixed(13), 12), false);
        assert.equal(T.jsonValueWithin(nestedArrays(5000), 12), false);
      });

      test('a list of flat records counts the records as a level', () => {
        const records = { items: [{ id: 1, tags: 'a' }, { id: 2, tags: 'b' }] };
        assert.equal(T.jsonValueWithin(records, 3), true);
        assert.equal(T.jsonValueWithin(records, 2), false);
      });

      test('flat containers skip the walk, but only real binary data counts as flat', () => {
        assert.equal(T.jsonValueWithin({ a: 1, b: 'x', c: null, d: true }, 1), true);
        assert.equal(emu.run('new Uint8Array(3)') !== undefined && T.jsonValueWithin(emu.run('new Uint8Array(3)'), 1), true);
        const lookalike = emu.run('({ buffer: new ArrayBuffer(2), deep: [[[1]]] })');
        assert.equal(T.jsonValueWithin(lookalike, 3), false, 'a "buffer" member does not make an object binary');
        assert.equal(T.jsonValueWithin(lookalike, 4), true);
      });

      test('scalars and empty containers are shallow', () => {
        for (const value of [1, 'x', null, undefined, true, [], {}]) assert.equal(T.jsonValueWithin(value, 1), true, String(value));
        assert.equal(T.jsonValueWithin([[]], 1), false);
        assert.equal(T.jsonValueWithin({ a: {} }, 1), false);
      });

      test('containers side by side, and one value reached twice, are not depth', () => {
        const shared = nestedArrays(10);
        assert.equal(T.jsonValueWithin([shared, shared, { a: shared }], 12), true);
        assert.equal(T.jsonValueWithin(Array.from({ length: 2000 }, () => [[1]]), 3), true);
        assert.equal(T.jsonValueWithin({ a: [[1]], b: { c: [[[1]]] } }, 5), true);
        assert.equal(T.jsonValueWithin({ a: [[1]], b: { c: [[[1]]] } }, 4), false);
        assert.equal(T.jsonValueWithin([1, 'x', { deep: [[[[1]]]] }, null], 5), false, 'an object among other values');
      });

      test('circular data throws, however long the loop', () => {
        const loops = emu.run(`[
          (function () { var a = { x: 1 }; a.self = a; return a; })(),
          (function () { var a = [1]; a.push([2, a]); return a; })(),
          (function () { var a = {}; var b = { a: a }; a.list = [0, { b: b }]; return { root: a }; })(),
          (function () { var a = { n: 0 }; var cur = a; for (var i = 0; i < 30; i++) { cur.next = { n: i }; cur = cur.next; } cur.next = a; return a; })()
        ]`);
        for (const value of loops) {
          assert.equal(T.jsonValueWithin(value, 12), false);
          assert.throws(() => T.jsonStringify(value, 12), refusal);
        }
      });

      test('what toJSON returns is what counts, called with the key', () => {
        assert.equal(T.jsonValueWithin({ a: { toJSON: () => nestedArrays(20) } }, 12), false);
        assert.equal(T.jsonValueWithin({ toJSON: () => nestedArrays(13) }, 12), false);
        assert.equal(T.jsonValueWithin(nestedArrays(11).concat([{ toJSON: () => 'flat' }]), 12), true);
        const keys = [];
        const record = { toJSON: (key) => keys.push(key) };
        T.jsonValueWithin({ k: record, list: ['x', record] }, 12);
        assert.deepEqual(keys.sort(), ['1', 'k']);
        assert.equal(T.jsonValueWithin(emu.run('[[new Date(0)]]'), 2), true, 'a Date is a string');
      });

      test('binary data is a leaf: its elements are numbers', () => {
        assert.equal(T.jsonValueWithin(emu.run('[[new Uint8Array(1000), new ArrayBuffer(8), new Float32Array(3)]]'), 2), true);
      });
    });

    test('indexOfWhole finds only a whole needle (Espruino\'s indexOf also reports one running off the end)', () => {
      assert.equal(T.indexOfWhole('abc', 'cd'), -1);
      assert.equal(T.indexOfWhole('ab\r', '\r\n'), -1);
      assert.equal(T.indexOfWhole('ab\r\n', '\r\n'), 2);
      assert.equal(T.indexOfWhole('abcabc', 'bc'), 1);
      assert.equal(T.indexOfWhole('abc', ''), 0);
      assert.equal(T.indexOfWhole('', 'a'), -1);
    });
    const contextParse = emu.run('JSON.parse');
    /** How the interpreter holds a piece of text: UTF-8 bytes on esp32, Unicode on linux. */
    const text = (s) => (mode === 'esp32' ? utf8Bytes(s) : s);
    /** `value` with every string (keys too) as the interpreter's text. */
    const asText = (value) => {
      if (typeof value === 'string') return text(value);
      if (Array.isArray(value)) return value.map(asText);
      if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [text(k), asText(v)]));
      return value;
    };
    /**
     * A host value (Unicode strings) rebuilt in the emulation with its own
     * JSON.parse, so it is made of the context's objects and its strings are text.
     */
    const inContext = (value) => contextParse(text(JSON.stringify(value)));

    test('UNICODE tells the kind of build', () => {
      assert.equal(T.UNICODE, mode === 'linux');
    });

    describe('encodeUtf8 / decodeUtf8', () => {
      test('text encodes to its UTF-8 bytes', () => {
        for (const s of SAMPLES) assertBytes(T.encodeUtf8(text(s)), s, JSON.stringify(s));
      });

      test('UTF-8 bytes decode to text', () => {
        for (const s of SAMPLES) assert.equal(T.decodeUtf8(utf8Bytes(s)), text(s), JSON.stringify(s));
      });

      test('decode then encode gives back the same bytes; encode then decode the same text', () => {
        for (const s of SAMPLES) {
          assertBytes(T.encodeUtf8(T.decodeUtf8(utf8Bytes(s))), s, JSON.stringify(s));
          assert.equal(T.decodeUtf8(T.encodeUtf8(text(s))), text(s), JSON.stringify(s));
        }
      });

      test('ASCII is the same string either way', () => {
        const ascii = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)).join('');
        assert.equal(T.encodeUtf8(ascii), ascii);
        assert.equal(T.decodeUtf8(ascii), ascii);
      });

      test('invalid UTF-8 passes through decodeUtf8 as its raw bytes', () => {
        const invalid = ['\xff', 'a\xfeb', 'caf\xc3', '\xc3(', '\xc0\xaf', '\xe0\x80\xaf', '\xed\xa0\x80', '\xf8\x88\x80\x80\x80', '\x80\x80', '\xf4\x90\x80\x80'];
        for (const bytes of invalid) assert.equal(T.decodeUtf8(bytes), bytes, JSON.stringify(bytes));
        // Valid sequences around an invalid byte still decode.
        assert.equal(T.decodeUtf8('\xc3\xa9\xff\xc3\xa9'), mode === 'esp32' ? '\xc3\xa9\xff\xc3\xa9' : 'é\xffé');
      });

      test('a lone surrogate in text encodes as U+FFFD (linux)', { skip: mode === 'esp32' && 'esp32 text is bytes: it has no surrogates' }, () => {
        assertBytes(T.encodeUtf8('a\ud83d'), 'a\ufffd');
      });
    });

    describe('jsonStringify', () => {
      test('UTF-8 JSON bytes that parse back to the value', () => {
        for (const s of SAMPLES) {
          const out = jsonStringify(text(s));
          assertBytes(out, Buffer.from(out, 'latin1').toString('utf8'), JSON.stringify(s)); // a byte string
          assert.equal(JSON.parse(Buffer.from(out, 'latin1').toString('utf8')), s, JSON.stringify(s));
        }
      });

      test('objects, arrays and non-ASCII keys', () => {
        const value = { 'clé': ['é', 1, true, null, { 'ключ': 'значение' }], plain: 'x', n: -1.5, emoji: '😀' };
        const out = jsonStringify(inContext(value));
        assert.deepEqual(JSON.parse(Buffer.from(out, 'latin1').toString('utf8')), value);
      });

      test('esp32: non-ASCII goes out as raw UTF-8 bytes, not \\u00XX escapes', { skip: mode === 'linux' && 'linux output escapes instead' }, () => {
        for (const s of ['café', '€', '日本', '😀', 'a "é" \\ b']) {
          assertBytes(jsonStringify(text(s)), JSON.stringify(s), JSON.stringify(s));
        }
      });

      test('a backslash before a high byte, or before "u00", stays what it was', () => {
        for (const s of ['\\é', '\\\\é', '\\u00e9', '\\\\u00e9', '\\\\\\u00C3é', 'x\\u00', '\\u00é']) {
          const out = jsonStringify(text(s));
          assert.equal(JSON.parse(Buffer.from(out, 'latin1').toString('utf8')), s, JSON.stringify(s));
        }
      });

      test('control characters and DEL stay escaped', () => {
        const s = '\x00\x01\x1f\x7f\b\f\n\r\t';
        const out = jsonStringify(s);
        assert.ok(!/[\x00-\x1f\x7f]/.test(out), `no raw controls: ${JSON.stringify(out)}`);
        assert.equal(JSON.parse(out), s);
      });

      test('numbers, booleans, null; undefined and functions give "null"', () => {
        assert.equal(jsonStringify(42), '42');
        assert.equal(jsonStringify(true), 'true');
        assert.equal(jsonStringify(null), 'null');
        assert.equal(jsonStringify(undefined), 'null');
        assert.equal(jsonStringify(() => 1), 'null');
        assert.equal(jsonStringify(inContext({ a: [1, 'b'] })), '{"a":[1,"b"]}');
      });
    });

    describe('jsonParse', () => {
      test('raw UTF-8 in JSON bytes parses to text', () => {
        for (const s of SAMPLES) assert.equal(jsonParse(utf8Bytes(JSON.stringify(s))), text(s), JSON.stringify(s));
      });

      test('\\uXXXX escapes (any case) parse to text, above 0xFF too', () => {
        const cases = {
          '"\\u00e9"': 'é', '"\\u00C9"': 'É', '"\\u0101"': 'ā', '"\\u20AC"': '€', '"\\u20ac"': '€', '"\\u65e5\\u672c"': '日本',
          '"\\uD83D\\uDE00"': '😀', '"\\ud83d\\ude00!"': '😀!', '"a\\u0041\\u0000"': 'aA\x00', '"\\u007f\\u0080\\u00ff"': '\x7f\x80\xff',
          '"x\\u00e9y\\u00e9z"': 'xéyéz',
        };
        for (const [json, s] of Object.entries(cases)) assert.equal(jsonParse(json), text(s), json);
      });

      test('escaped backslashes before "u" are not escapes', () => {
        assert.equal(jsonParse('"\\\\u00e9"'), '\\u00e9');
        assert.equal(jsonParse('"\\\\\\u00e9"'), text('\\é'));
        assert.equal(jsonParse('"\\\\\\\\u20ac"'), '\\\\u20ac');
        assertBytes(T.encodeUtf8(jsonParse('"\\uD83D\\\\uDE00"')), '\ufffd\\uDE00');
      });

      test('unpaired surrogate escapes become U+FFFD bytes once encoded', () => {
        for (const json of ['"\\uD83D"', '"\\uDE00"', '"\\uD83Dx"', '"\\uD83D\\u0041"', '"\\uDE00\\uD83D"']) {
          const bytes = T.encodeUtf8(jsonParse(json));
          const expected = JSON.parse(json).replace(/[\ud800-\udfff]/g, '\ufffd');
          assertBytes(bytes, expected, json);
        }
      });

      test('objects with escaped and raw non-ASCII keys', () => {
        const parsed = plain(jsonParse(utf8Bytes('{"clé":"v","k\\u00e9y":["\\u20ac",1,null,false],"n":{"ok":true}}')));
        assert.deepEqual(parsed, asText({ 'clé': 'v', 'kéy': ['€', 1, null, false], n: { ok: true } }));
      });

      test('invalid JSON throws', () => {
        for (const json of ['', '{', '{"a":}', "{'a':1}", 'undefined', '"\\uZZZZ"', '[1,]']) {
          assert.throws(() => jsonParse(json), undefined, JSON.stringify(json));
        }
      });

      test('jsonParse(jsonStringify(x)) gives x back', () => {
        for (const s of SAMPLES) assert.equal(jsonParse(jsonStringify(text(s))), text(s), JSON.stringify(s));
        const value = { 'ключ': ['é', '😀', '\\u00e9', { '': 'x' }], n: 3 };
        assert.deepEqual(plain(jsonParse(jsonStringify(inContext(value)))), asText(value));
      });
    });
  });
}
