// Unit tests of WebSocket framing (src/websocket/frames.ts), run as the real
// ES5 library build inside the Espruino emulation: both modes, and once more
// without E.toUint8Array so the char-by-char fallbacks run too.
// Frames are byte strings (one char per byte), as a socket delivers them.
// Every input to the parser is also fed byte by byte and in seeded random
// pieces, and must give the same events.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildFixture, loadBundle, plain, prng } from './library.mjs';
import { randomPieces } from '../fuzz/fuzz.mjs';
import { bytes, frame, parseFrames, xor } from '../fuzz/frames.mjs';


// ---------------------------------------------------------------------------
// Loading the build output


const CODE = await buildFixture('frames');

// ---------------------------------------------------------------------------
// Host-side helpers (Node, not the emulation)

/** `count` seeded random bytes. */
function randomBytes(count, seed) {
  const random = prng(seed);
  const out = Buffer.alloc(count);
  for (let i = 0; i < count; i++) out[i] = Math.floor(random() * 256);
  return out.toString('latin1');
}

const KEY = [0x37, 0xfa, 0x21, 0x3d]; // RFC 6455 §5.7
const HIGH_KEY = [0x9c, 0x80, 0xff, 0xa5]; // every byte >= 0x80: the sign bit of a 32-bit word

/** Masks a server frame made by encodeFrame, as a client would send it. */
function maskServerFrame(serverFrame, key = HIGH_KEY) {
  const b = Buffer.from(serverFrame, 'latin1');
  assert.equal(b[1] & 0x80, 0, 'a server frame is not masked');
  const headerLength = (b[1] & 0x7f) === 127 ? 10 : (b[1] & 0x7f) === 126 ? 4 : 2;
  const header = Buffer.from(b.subarray(0, headerLength));
  header[1] |= 0x80;
  return header.toString('latin1') + bytes(key) + xor(b.subarray(headerLength).toString('latin1'), key);
}

/** A close frame's payload: the code, then the reason bytes. */
function closePayload(code, reason = '') {
  return bytes(code >> 8, code & 255) + reason;
}

const MAX = 1024;

const lanes = [
  { name: 'esp32', mode: 'esp32' },
  { name: 'linux', mode: 'linux' },
  { name: 'esp32, no E.toUint8Array', mode: 'esp32', setup: "delete E.toUint8Array; if (typeof E.toUint8Array !== 'undefined') throw new Error('E.toUint8Array is still there');" },
];

for (const lane of lanes) {
  describe(`WebSocket frames (${lane.name})`, () => {
    const F = loadBundle(CODE, lane.mode, 'frames', lane.setup);
    const { NEED_MORE, MESSAGE, CONTROL, ERROR, TEXT, BINARY, CONTINUATION, CLOSE, PING, PONG } = F;

    /**
     * Feeds the pieces one at a time, calling next() after each until it needs
     * more; returns the events (see parseFrames: [type, bytes] for a message,
     * ['close', bytes, code, reason], ['error', code] last).
     */
    const run = (pieces, max = MAX) => parseFrames(F, pieces, max);

    /**
     * The events from `input` fed whole, after checking that it gives the same
     * events byte by byte, and in random pieces (seeded by the input).
     */
    function parse(input, max = MAX) {
      const expected = run([input], max);
      const summary = () => JSON.stringify(expected).slice(0, 200);
      assert.deepEqual(run(input.split(''), max), expected, `byte by byte, expected ${summary()}`);
      const big = input.length > 4096;
      const random = prng(input.length * 31 + input.charCodeAt(0));
      for (let round = 0; round < (big ? 4 : 30); round++) {
        const pieces = randomPieces(input, random, big ? 1500 : 40);
        assert.deepEqual(run(pieces, max), expected, `random split ${round}: ${pieces.map((x) => x.length).join(',')}`);
      }
      return expected;
    }

    /** The code of the error `input` ends in, or fails. */
    function errorOf(input, max) {
      const events = parse(input, max);
      const last = events[events.length - 1];
      assert.ok(last && last[0] === 'error', `expected an error, got ${JSON.stringify(events).slice(0, 300)}`);
      return last[1];
    }

    // ----- RFC 6455 §5.7 examples ---------------------------------------------

    describe('RFC 6455 §5.7 examples', () => {
      test('a single-frame unmasked text message is refused from a client', () => {
        assert.deepEqual(parse(bytes(0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f)), [['error', 1002]]);
      });

      test('a single-frame masked text message', () => {
        const input = bytes(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58);
        assert.deepEqual(parse(input), [['text', 'Hello']]);
        assert.equal(input, frame(TEXT, 'Hello'), 'the test helper builds the same bytes');
      });

      test('a fragmented unmasked text message is refused; masked, it is joined', () => {
        const unmasked = bytes(0x01, 0x03, 0x48, 0x65, 0x6c) + bytes(0x80, 0x02, 0x6c, 0x6f);
        assert.deepEqual(parse(unmasked), [['error', 1002]]);
        const masked = frame(TEXT, 'Hel', { fin: false }) + frame(CONTINUATION, 'lo', { key: HIGH_KEY });
        assert.deepEqual(parse(masked), [['text', 'Hello']]);
      });

      test('ping "Hello": unmasked refused, masked a PING control; then the masked pong', () => {
        assert.deepEqual(parse(bytes(0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f)), [['error', 1002]]);
        assert.deepEqual(parse(frame(PING, 'Hello')), [['ping', 'Hello']]);
        const pong = bytes(0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58);
        assert.deepEqual(parse(pong), [['pong', 'Hello']]);
      });

      test('256 bytes of binary data: 16-bit length', () => {
        const data = randomBytes(256, 1);
        const input = frame(BINARY, data, { key: HIGH_KEY });
        assert.equal(input.slice(0, 4), bytes(0x82, 0xfe, 0x01, 0x00));
        assert.deepEqual(parse(input), [['binary', data]]);
      });

      test('64 KiB of binary data: 64-bit length', () => {
        const data = randomBytes(65536, 2);
        const input = frame(BINARY, data, { key: HIGH_KEY });
        assert.equal(input.slice(0, 10), bytes(0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0));
        assert.deepEqual(parse(input, 65536), [['binary', data]]);
      });

      test('the server encodes the same unmasked examples', () => {
        assert.equal(F.encodeFrame(TEXT, 'Hello'), bytes(0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f));
        assert.equal(F.encodeFrame(TEXT, 'Hel', false), bytes(0x01, 0x03, 0x48, 0x65, 0x6c));
        assert.equal(F.encodeFrame(CONTINUATION, 'lo'), bytes(0x80, 0x02, 0x6c, 0x6f));
        assert.equal(F.encodeFrame(PING, 'Hello'), bytes(0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f));
        assert.equal(F.encodeFrame(BINARY, randomBytes(256, 3)).slice(0, 4), bytes(0x82, 0x7e, 0x01, 0x00));
        assert.equal(F.encodeFrame(BINARY, randomBytes(65536, 4)).slice(0, 10), bytes(0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0));
      });
    });

    // ----- Messages ------------------------------------------------------------

    describe('messages', () => {
      test('opcode constants', () => {
        assert.deepEqual([CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG], [0, 1, 2, 8, 9, 10]);
        assert.deepEqual([NEED_MORE, MESSAGE, CONTROL, ERROR], [0, 1, 2, 3]);
      });

      test('several frames in one piece, empty messages and empty fragments', () => {
        const input = frame(TEXT, '') + frame(BINARY, bytes(0, 0xff, 0x80, 0x7f)) +
          frame(BINARY, '', { fin: false }) + frame(CONTINUATION, '', { fin: false }) + frame(CONTINUATION, 'x') +
          frame(TEXT, 'a', { fin: false, key: [0, 0, 0, 0] }) + frame(CONTINUATION, '') + frame(PONG, '');
        assert.deepEqual(parse(input), [['text', ''], ['binary', bytes(0, 0xff, 0x80, 0x7f)], ['binary', 'x'], ['text', 'a'], ['pong', '']]);
      });

      test('a binary message in many fragments, each with its own key', () => {
        const data = randomBytes(1000, 5);
        let input = '';
        const random = prng(6);
        for (let at = 0, first = true; at < data.length; first = false) {
          const size = Math.min(data.length - at, Math.floor(random() * 90));
          const key = [0, 1, 2, 3].map(() => Math.floor(random() * 256));
          input += frame(first ? BINARY : CONTINUATION, data.slice(at, at + size), { fin: at + size === data.length, key });
          at += size;
        }
        assert.deepEqual(parse(input), [['binary', data]]);
      });

      test('control frames between fragments are delivered, in order', () => {
        const input = frame(TEXT, 'Hel', { fin: false }) + frame(PING, 'p1') + frame(CONTINUATION, 'l', { fin: false }) +
          frame(PONG, 'p2', { key: HIGH_KEY }) + frame(CLOSE, closePayload(1000, 'bye')) + frame(CONTINUATION, 'o') + frame(TEXT, 'next');
        assert.deepEqual(parse(input), [
          ['ping', 'p1'], ['pong', 'p2'], ['close', closePayload(1000, 'bye'), 1000, 'bye'], ['text', 'Hello'], ['text', 'next'],
        ]);
      });

      test('16- and 64-bit lengths for small payloads are accepted', () => {
        assert.deepEqual(parse(frame(TEXT, 'short', { lengthBits: 16 }) + frame(BINARY, 'x', { lengthBits: 64 })), [['text', 'short'], ['binary', 'x']]);
      });

      test('a frame or message of exactly the limit passes', () => {
        const data = randomBytes(100, 7);
        assert.deepEqual(parse(frame(BINARY, data), 100), [['binary', data]]);
        assert.deepEqual(parse(frame(BINARY, data.slice(0, 60), { fin: false }) + frame(CONTINUATION, data.slice(60)), 100), [['binary', data]]);
      });

      test('control frames do not count toward the message limit', () => {
        assert.deepEqual(parse(frame(PING, 'x'.repeat(125)), 10), [['ping', 'x'.repeat(125)]]);
        const input = frame(BINARY, '12345', { fin: false }) + frame(PING, 'y'.repeat(100)) + frame(CONTINUATION, '67890');
        assert.deepEqual(parse(input, 10), [['ping', 'y'.repeat(100)], ['binary', '1234567890']]);
      });

      test('an incomplete frame waits for more', () => {
        const input = frame(TEXT, 'Hello');
        for (let i = 0; i < input.length; i++) assert.deepEqual(run([input.slice(0, i)]), [], `${i} bytes`);
      });
    });

    // ----- Protocol errors (1002) ----------------------------------------------

    describe('protocol errors: 1002', () => {
      test('unmasked client frames', () => {
        for (const opcode of [TEXT, BINARY, PING, PONG, CLOSE]) {
          assert.equal(errorOf(frame(opcode, 'ab', { masked: false })), 1002, `opcode ${opcode}`);
        }
        assert.equal(errorOf(frame(TEXT, 'a', { fin: false }) + frame(CONTINUATION, 'b', { masked: false })), 1002);
      });

      test('RSV1, RSV2 or RSV3 set (no extension is negotiated)', () => {
        for (const rsv of [1, 2, 4, 7]) {
          assert.equal(errorOf(frame(TEXT, 'Hello', { rsv })), 1002, `rsv ${rsv} on text`);
          assert.equal(errorOf(frame(PING, '', { rsv })), 1002, `rsv ${rsv} on ping`);
        }
      });

      test('unknown opcodes 3-7 and 11-15', () => {
        for (const opcode of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
          assert.equal(errorOf(frame(opcode, 'x')), 1002, `opcode ${opcode}`);
          assert.equal(errorOf(frame(TEXT, 'a', { fin: false }) + frame(opcode, 'x')), 1002, `opcode ${opcode} between fragments`);
        }
      });

      test('fragmented control frames', () => {
        for (const opcode of [CLOSE, PING, PONG]) assert.equal(errorOf(frame(opcode, '', { fin: false })), 1002, `opcode ${opcode}`);
      });

      test('control payloads over 125 bytes, refused from the header alone', () => {
        for (const opcode of [CLOSE, PING, PONG]) {
          const long = frame(opcode, 'x'.repeat(126));
          assert.equal(errorOf(long), 1002, `opcode ${opcode}, 126 bytes`);
          assert.equal(errorOf(long.slice(0, 2)), 1002, `opcode ${opcode}, header only`);
          assert.equal(errorOf(frame(opcode, 'x', { lengthBits: 64 }).slice(0, 2)), 1002, `opcode ${opcode}, 64-bit length`);
        }
      });

      test('a continuation frame with no message in progress', () => {
        assert.equal(errorOf(frame(CONTINUATION, 'x')), 1002);
        assert.equal(errorOf(frame(CONTINUATION, 'x', { fin: false })), 1002);
        assert.deepEqual(parse(frame(TEXT, 'done') + frame(CONTINUATION, 'x')), [['text', 'done'], ['error', 1002]]);
      });

      test('a new data frame while a fragmented message is in progress', () => {
        assert.equal(errorOf(frame(TEXT, 'a', { fin: false }) + frame(TEXT, 'b')), 1002);
        assert.equal(errorOf(frame(TEXT, 'a', { fin: false }) + frame(BINARY, 'b')), 1002);
        assert.equal(errorOf(frame(BINARY, 'a', { fin: false }) + frame(PING, '') + frame(TEXT, 'b', { fin: false })), 1002);
      });
    });

    // ----- Too big (1009) ------------------------------------------------------

    describe('too big: 1009', () => {
      test('a frame over the limit, refused from its header', () => {
        assert.equal(errorOf(frame(BINARY, randomBytes(101, 8)), 100), 1009);
        assert.equal(errorOf(bytes(0x82, 0x80 | 101), 100), 1009, '7-bit length, header only');
        assert.equal(errorOf(bytes(0x81, 0xfe, 0x01, 0x00), 255), 1009, '16-bit length, header only');
        assert.equal(errorOf(bytes(0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 1), 65536), 1009, '64-bit length, header only');
      });

      test('a fragmented message over the limit, refused at the header that crosses it', () => {
        const input = frame(TEXT, 'x'.repeat(60), { fin: false }) + frame(PING, 'p') + frame(CONTINUATION, 'y'.repeat(41));
        assert.deepEqual(parse(input, 100), [['ping', 'p'], ['error', 1009]]);
        assert.deepEqual(parse(input.slice(0, input.length - 41 - 4), 100), [['ping', 'p'], ['error', 1009]], 'without its mask and data');
      });

      test('absurd 64-bit lengths, with only the 10-byte header fed', () => {
        const headers = {
          '2^62': [0x40, 0, 0, 0, 0, 0, 0, 0],
          'top bit set': [0x80, 0, 0, 0, 0, 0, 0, 0],
          'all ones': [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
          '2^53 + 1': [0, 0x20, 0, 0, 0, 0, 0, 1],
          '2^32 (low 32 bits zero)': [0, 0, 0, 1, 0, 0, 0, 0],
          '2^32 + 5 (low 32 bits small)': [0, 0, 0, 1, 0, 0, 0, 5],
          '2^31': [0, 0, 0, 0, 0x80, 0, 0, 0],
        };
        for (const [name, length] of Object.entries(headers)) {
          assert.deepEqual(parse(bytes(0x82, 0xff, length), 1 << 20), [['error', 1009]], name);
          assert.deepEqual(run([bytes(0x81, 0xff, length)], 1 << 20), [['error', 1009]], name + ', text');
        }
      });
    });

    // ----- UTF-8 (1007) --------------------------------------------------------

    const VALID_UTF8 = {
      'ASCII': 'Hello, world',
      'U+0080': bytes(0xc2, 0x80),
      'U+07FF': bytes(0xdf, 0xbf),
      'U+0800': bytes(0xe0, 0xa0, 0x80),
      'U+D7FF': bytes(0xed, 0x9f, 0xbf),
      'U+E000': bytes(0xee, 0x80, 0x80),
      'U+FFFF': bytes(0xef, 0xbf, 0xbf),
      'U+10000': bytes(0xf0, 0x90, 0x80, 0x80),
      'U+10FFFF': bytes(0xf4, 0x8f, 0xbf, 0xbf),
      'mixed': 'caf' + bytes(0xc3, 0xa9) + ' costs 5' + bytes(0xe2, 0x82, 0xac) + ' ' + bytes(0xf0, 0x9f, 0x98, 0x80) + '!',
      'κόσμε': bytes(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5),
    };
    const INVALID_UTF8 = {
      'overlong C0 80': bytes(0xc0, 0x80),
      'overlong C1 BF': bytes(0xc1, 0xbf),
      'overlong E0 80 80': bytes(0xe0, 0x80, 0x80),
      'overlong E0 9F BF': bytes(0xe0, 0x9f, 0xbf),
      'overlong F0 80 80 80': bytes(0xf0, 0x80, 0x80, 0x80),
      'overlong F0 8F BF BF': bytes(0xf0, 0x8f, 0xbf, 0xbf),
      'surrogate ED A0 80': bytes(0xed, 0xa0, 0x80),
      'surrogate ED BF BF': bytes(0xed, 0xbf, 0xbf),
      'above U+10FFFF: F4 90 80 80': bytes(0xf4, 0x90, 0x80, 0x80),
      'F5 80 80 80': bytes(0xf5, 0x80, 0x80, 0x80),
      'F8': bytes(0xf8, 0x88, 0x80, 0x80, 0x80),
      'FE': bytes(0xfe),
      'FF': bytes(0xff),
      'lone continuation 80': bytes(0x80),
      'continuation after ASCII': 'abc' + bytes(0xbf),
      'truncated C3': 'ab' + bytes(0xc3),
      'truncated E2 82': bytes(0xe2, 0x82),
      'truncated F0 9F 98': bytes(0xf0, 0x9f, 0x98),
      'truncated, then ASCII': bytes(0xe2, 0x82) + 'x',
      'bad second byte': bytes(0xc3, 0x28),
      'bad third byte': bytes(0xe2, 0x82, 0x28),
      'bad fourth byte': bytes(0xf0, 0x9f, 0x98, 0x28),
      'Latin-1 é': 'caf' + bytes(0xe9),
      'bad byte after a long ASCII run': 'a'.repeat(3000) + bytes(0xc3, 0xa9) + 'b'.repeat(3000) + bytes(0xff),
    };

    describe('UTF-8: 1007', () => {
      test('valid text messages pass, whole and in fragments', () => {
        for (const [name, text] of Object.entries(VALID_UTF8)) {
          assert.deepEqual(parse(frame(TEXT, text)), [['text', text]], name);
          if (text.length < 2) continue;
          const cut = Math.floor(text.length / 2);
          assert.deepEqual(parse(frame(TEXT, text.slice(0, cut), { fin: false }) + frame(CONTINUATION, text.slice(cut))), [['text', text]], name + ', cut');
        }
      });

      test('a character split across fragments, with a ping in between', () => {
        const euro = bytes(0xe2, 0x82, 0xac);
        const input = frame(TEXT, 'x' + euro.slice(0, 1), { fin: false }) + frame(PING, '') +
          frame(CONTINUATION, euro.slice(1, 2), { fin: false }) + frame(CONTINUATION, euro.slice(2) + 'y');
        assert.deepEqual(parse(input), [['ping', ''], ['text', 'x' + euro + 'y']]);
      });

      test('invalid text messages fail with 1007, whole and in fragments', () => {
        for (const [name, text] of Object.entries(INVALID_UTF8)) {
          assert.equal(errorOf(frame(TEXT, text), 8192), 1007, name);
          const cut = Math.floor(text.length / 2);
          assert.equal(errorOf(frame(TEXT, text.slice(0, cut), { fin: false }) + frame(CONTINUATION, text.slice(cut)), 8192), 1007, name + ', cut');
        }
      });

      test('a truncated character at the end of the last fragment', () => {
        assert.equal(errorOf(frame(TEXT, 'ok', { fin: false }) + frame(CONTINUATION, bytes(0xe2, 0x82))), 1007);
      });

      test('long text: characters across the 1 KB windows the check works in', () => {
        const decoder = new TextDecoder('utf-8', { fatal: true });
        const valid = (s) => {
          try { decoder.decode(Buffer.from(s, 'latin1')); return true; } catch { return false; }
        };
        const chars = [bytes(0xc3, 0xa9), bytes(0xe2, 0x82, 0xac), bytes(0xf0, 0x9f, 0x98, 0x80)];
        let checked = 0;
        for (const lead of ['', 'x'.repeat(5000)]) {
          for (const char of chars) {
            // The first non-ASCII byte starts a window; put a character on each side of its end.
            for (let at = 1016; at <= 1032; at++) {
              const text = lead + bytes(0xc3, 0xa9) + 'a'.repeat(at - 2) + char + 'b'.repeat(50) + bytes(0xce, 0xba);
              assert.equal(F.isValidUtf8(text), true, `${char.length}-byte char at ${at}`);
              const truncated = lead + bytes(0xc3, 0xa9) + 'a'.repeat(at - 2) + char.slice(0, -1) + 'b';
              assert.equal(F.isValidUtf8(truncated), false, `truncated ${char.length}-byte char at ${at}`);
              const cutAtEnd = lead + bytes(0xc3, 0xa9) + 'a'.repeat(at - 2) + char.slice(0, -1);
              assert.equal(F.isValidUtf8(cutAtEnd), false, `${char.length}-byte char cut by the end at ${at}`);
              checked += 3;
            }
          }
        }
        // All non-ASCII: 3-byte characters straddle every window end; then one byte broken at a time.
        const cjk = bytes(0xe4, 0xb8, 0xad, 0xe6, 0x96, 0x87).repeat(1000);
        assert.equal(F.isValidUtf8(cjk), true);
        assert.deepEqual(parse(frame(TEXT, cjk), 8192), [['text', cjk]]);
        const random = prng(11);
        for (let round = 0; round < 200; round++) {
          const b = Buffer.from(cjk, 'latin1');
          b[Math.floor(random() * b.length)] = [0x41, 0x80, 0xbf, 0xc3, 0xed, 0xf0, 0xff][Math.floor(random() * 7)];
          const s = b.toString('latin1');
          assert.equal(F.isValidUtf8(s), valid(s), `round ${round}`);
          checked++;
        }
        assert.equal(checked, 2 * 3 * 17 * 3 + 200);
      });

      test('binary messages are not checked', () => {
        for (const text of Object.values(INVALID_UTF8)) assert.deepEqual(parse(frame(BINARY, text), 8192), [['binary', text]]);
      });

      test('isValidUtf8 agrees with a fatal TextDecoder on seeded random input', () => {
        const decoder = new TextDecoder('utf-8', { fatal: true });
        const valid = (s) => {
          try { decoder.decode(Buffer.from(s, 'latin1')); return true; } catch { return false; }
        };
        const random = prng(9);
        const pick = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff];
        // Code points near every boundary of the encoding.
        const edges = [0, 0x7f, 0x80, 0x7ff, 0x800, 0xfff, 0x1000, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x3ffff, 0x40000, 0xfffff, 0x100000, 0x10ffff];
        let agreed = 0;
        let validSeen = 0;
        for (let round = 0; round < 3000; round++) {
          let codes = [];
          const count = 1 + Math.floor(random() * 6);
          for (let i = 0; i < count; i++) {
            const cp = random() < 0.5 ? edges[Math.floor(random() * edges.length)] : Math.floor(random() * 0x110000);
            if (cp >= 0xd800 && cp < 0xe000) continue;
            codes.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
          }
          // Then break it, most of the time: change, drop or add a byte.
          const change = random();
          const at = Math.floor(random() * (codes.length + 1));
          const value = random() < 0.7 ? pick[Math.floor(random() * pick.length)] : Math.floor(random() * 256);
          if (change < 0.3) codes[Math.min(at, codes.length - 1)] = value;
          else if (change < 0.45) codes.splice(at, 1);
          else if (change < 0.6) codes.splice(at, 0, value);
          codes = codes.filter((c) => c !== undefined);
          const s = bytes(codes);
          assert.equal(F.isValidUtf8(s), valid(s), `bytes ${codes.map((c) => c.toString(16)).join(' ')}`);
          agreed++;
          if (valid(s)) validSeen++;
        }
        assert.ok(validSeen > 600 && validSeen < 2400, `both outcomes are common (${validSeen} valid)`);
        assert.equal(agreed, 3000);
        assert.ok(validSeen > 100, `enough valid cases (${validSeen})`);
        for (const [name, s] of Object.entries({ ...VALID_UTF8, ...INVALID_UTF8 })) assert.equal(F.isValidUtf8(s), valid(s), name);
        assert.equal(F.isValidUtf8(''), true);
      });
    });

    // ----- Close frames --------------------------------------------------------

    describe('close frames', () => {
      const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
      const INVALID_CODES = [0, 1, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535];

      test('an empty payload means no status: 1005', () => {
        assert.deepEqual(parse(frame(CLOSE, '')), [['close', '', 1005, '']]);
        assert.deepEqual(plain(F.parseClose('')), { code: 1005, reason: '' });
      });

      test('a 1-byte payload: 1002', () => {
        assert.equal(errorOf(frame(CLOSE, bytes(0x03))), 1002);
        assert.equal(plain(F.parseClose(bytes(0x03))).errorCode, 1002);
      });

      test('codes a peer may send', () => {
        for (const code of VALID_CODES) {
          assert.deepEqual(parse(frame(CLOSE, closePayload(code))), [['close', closePayload(code), code, '']], `code ${code}`);
          assert.deepEqual(plain(F.parseClose(closePayload(code, 'why'))), { code, reason: 'why' });
        }
      });

      test('codes a peer may not send: 1002', () => {
        for (const code of INVALID_CODES) {
          assert.equal(errorOf(frame(CLOSE, closePayload(code, 'x'))), 1002, `code ${code}`);
          const result = plain(F.parseClose(closePayload(code)));
          assert.equal(result.errorCode, 1002, `code ${code}`);
          assert.ok(result.errorReason, 'with a reason');
        }
      });

      test('the reason must be UTF-8: 1007', () => {
        const reason = 'bien s' + bytes(0xc3, 0xbb) + 'r';
        assert.deepEqual(parse(frame(CLOSE, closePayload(1001, reason))), [['close', closePayload(1001, reason), 1001, reason]]);
        for (const [name, bad] of Object.entries(INVALID_UTF8)) {
          if (bad.length > 123) continue;
          assert.equal(errorOf(frame(CLOSE, closePayload(1000, bad))), 1007, name);
          assert.equal(plain(F.parseClose(closePayload(1000, bad))).errorCode, 1007, name);
        }
      });

      test('a 125-byte close payload passes, 126 bytes do not', () => {
        const reason = 'r'.repeat(123);
        assert.deepEqual(parse(frame(CLOSE, closePayload(1000, reason))), [['close', closePayload(1000, reason), 1000, reason]]);
        assert.equal(errorOf(frame(CLOSE, closePayload(1000, reason + 'r'))), 1002);
      });

      test('encodeClose: the code, then the reason as UTF-8 cut on a character boundary', () => {
        assert.equal(F.encodeClose(1000, ''), bytes(0x03, 0xe8));
        assert.equal(F.encodeClose(1000), bytes(0x03, 0xe8));
        assert.equal(F.encodeClose(4999, 'bye'), bytes(0x13, 0x87) + 'bye');
        assert.equal(F.encodeClose(1005, 'ignored'), '', '1005 is never sent');
        assert.equal(F.encodeClose(1001, 'x'.repeat(200)), bytes(0x03, 0xe9) + 'x'.repeat(123));
        // Text is bytes on an ESP32 and Unicode on the Linux build.
        const euro = lane.mode === 'linux' ? '\u20ac' : bytes(0xe2, 0x82, 0xac);
        const encoded = F.encodeClose(1000, 'a' + euro.repeat(50));
        assert.equal(encoded, bytes(0x03, 0xe8) + 'a' + bytes(0xe2, 0x82, 0xac).repeat(40), '1 + 40 * 3 bytes: the 41st euro would cut at 123');
        assert.deepEqual(plain(F.parseClose(encoded)), { code: 1000, reason: 'a' + bytes(0xe2, 0x82, 0xac).repeat(40) });
        const ascii = F.encodeClose(1000, 'b'.repeat(122) + euro);
        assert.equal(ascii.length, 2 + 122, 'a character that would end past 123 bytes is dropped whole');
        assert.equal(F.encodeClose(1000, 'c'.repeat(120) + euro).length, 2 + 123, 'a character ending at exactly 123 bytes is kept');
      });
    });

    // ----- Encoding ------------------------------------------------------------

    describe('encodeFrame', () => {
      test('lengths 0, 125, 126, 65535 and 65536 round-trip through a client mask and the parser', () => {
        const headers = { 0: 2, 125: 2, 126: 4, 65535: 4, 65536: 10 };
        for (const [length, headerLength] of Object.entries(headers)) {
          const data = randomBytes(Number(length), 10 + Number(length));
          for (const [opcode, name] of [[TEXT, 'text'], [BINARY, 'binary']]) {
            const payload = opcode === TEXT ? 'a'.repeat(Number(length)) : data;
            const encoded = F.encodeFrame(opcode, payload);
            assert.equal(encoded.length, headerLength + payload.length, `length ${length}`);
            assert.equal(encoded.slice(headerLength), payload);
            const events = Number(length) > 4096 ? run([maskServerFrame(encoded)], 65536) : parse(maskServerFrame(encoded), 65536);
            assert.deepEqual(events, [[name, payload]], `length ${length}, ${name}`);
          }
        }
      });

      test('the 64-bit length of a large frame', () => {
        const encoded = F.encodeFrame(BINARY, 'z'.repeat(0x01020304));
        assert.equal(encoded.slice(0, 10), bytes(0x82, 0x7f, 0, 0, 0, 0, 0x01, 0x02, 0x03, 0x04));
      });

      test('fragments and control frames round-trip', () => {
        const input = maskServerFrame(F.encodeFrame(BINARY, 'ab', false)) + maskServerFrame(F.encodeFrame(PING, 'hi'), KEY) +
          maskServerFrame(F.encodeFrame(CONTINUATION, 'cd')) + maskServerFrame(F.encodeFrame(CLOSE, F.encodeClose(1000, 'done')));
        assert.deepEqual(parse(input), [['ping', 'hi'], ['binary', 'abcd'], ['close', bytes(0x03, 0xe8) + 'done', 1000, 'done']]);
      });

      test('every mask key offset unmasks right (payload lengths 0-40, pieces of 1-7 bytes)', () => {
        for (let length = 0; length <= 40; length++) {
          const data = randomBytes(length, 100 + length);
          const input = frame(BINARY, data, { key: HIGH_KEY });
          for (let piece = 1; piece <= 7; piece++) {
            const pieces = [];
            for (let at = 0; at < input.length; at += piece) pieces.push(input.slice(at, at + piece));
            assert.deepEqual(run(pieces), [['binary', data]], `length ${length}, pieces of ${piece}`);
          }
        }
      });
    });
  });
}
