// Unit tests of the HTTP/1.1 request parser (src/http/parser.ts), run as the
// real ES5 library build inside the Espruino emulation, in both modes.
// Requests are byte strings (one char per byte), as a socket delivers them.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildFixture, loadBundle, plain, prng } from './library.mjs';


// ---------------------------------------------------------------------------
// Loading the build output


const CODE = await buildFixture('parser');

// ---------------------------------------------------------------------------
// Helpers

const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

const LONG = 8192; // LIMITS.maxRequestLine and LIMITS.maxHeaderLine
const MAX_HEADERS = 50;
const MAX_SECTION = 16384; // LIMITS.maxHeaderBytes

for (const mode of ['esp32', 'linux']) {
  describe(`RequestParser (${mode})`, () => {
    const P = loadBundle(CODE, mode, 'parser');
    const { NEED_MORE, MESSAGE, ERROR } = P;

    function parser(maxBodySize = 1024, known = (m) => KNOWN_METHODS.indexOf(m) >= 0) {
      return new P.RequestParser({ maxBodySize, isKnownMethod: known });
    }

    /**
     * Feeds the pieces one at a time, calling next() after each until it needs
     * more; returns what happened: messages (with expectsContinue, which stays
     * set until the next request line), the error if any, and what is left pending.
     */
    function run(pieces, maxBodySize) {
      const p = parser(maxBodySize);
      const events = [];
      for (const piece of pieces) {
        p.feed(piece);
        for (;;) {
          const result = p.next();
          if (result === NEED_MORE) break;
          if (result === MESSAGE) {
            events.push({ message: plain(p.message), expectsContinue: p.expectsContinue });
            continue;
          }
          assert.equal(result, ERROR, 'next() returns NEED_MORE, MESSAGE or ERROR');
          assert.ok(p.errorMessage, 'an error has a message');
          events.push({ error: p.errorStatus });
          return { events, pending: p.pending };
        }
      }
      return { events, pending: p.pending };
    }

    /** Parses the whole input at once. */
    function whole(input, maxBodySize) {
      return run([input], maxBodySize);
    }

    /** The status of the first error parsing `input` (fed whole), or fails. */
    function errorOf(input, maxBodySize) {
      const { events } = whole(input, maxBodySize);
      const last = events[events.length - 1];
      assert.ok(last && last.error, `expected an error, got ${JSON.stringify(events)}`);
      return last.error;
    }

    /** The single message parsed from `input`, or fails. */
    function messageOf(input, maxBodySize) {
      const { events } = whole(input, maxBodySize);
      assert.equal(events.length, 1, `expected one message, got ${JSON.stringify(events)}`);
      assert.ok(events[0].message, `expected a message, got ${JSON.stringify(events)}`);
      return events[0].message;
    }

    /** Asserts that `input` parses the same split at every position, byte by byte, and randomly. */
    function assertSplitInvariant(input, maxBodySize, seed = 1) {
      const expected = whole(input, maxBodySize);
      for (let i = 1; i < input.length; i++) {
        assert.deepEqual(run([input.slice(0, i), input.slice(i)], maxBodySize), expected, `split at ${i}`);
      }
      assert.deepEqual(run(input.split(''), maxBodySize), expected, 'byte by byte');
      const random = prng(seed);
      for (let round = 0; round < 200; round++) {
        const pieces = [];
        for (let at = 0; at < input.length;) {
          const size = 1 + Math.floor(random() * Math.min(input.length, 40));
          pieces.push(input.slice(at, at + size));
          at += size;
        }
        assert.deepEqual(run(pieces, maxBodySize), expected, `random split ${round}: ${pieces.map((x) => x.length).join(',')}`);
      }
      return expected;
    }

    // ----- Splitting ---------------------------------------------------------

    describe('the same result wherever the input is split', () => {
      const GET = 'GET /path/to?x=1&y=%C3%A9 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: unit\r\nAccept: */*\r\n' +
        'Cookie: a=1\r\nX-Dup: one\r\nCookie: b=2\r\nx-dup: two\r\n\r\n';
      const BODY = '{"name":"caf\xc3\xa9","n":1}'; // UTF-8 bytes
      const POST = 'POST /submit HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${BODY.length}\r\n\r\n${BODY}`;
      const CHUNKED = 'PUT /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '5;name=value;q="quoted \\" ;str"\r\nhello\r\n' +
        '7;ext\r\n, world\r\n' +
        'A\r\n\r\n0123\xff\x00\r\n\r\n' + // chunk data may hold CR, LF, NUL and high bytes
        '0;last=1\r\nX-Trailer: yes\r\nX-Other:  2 \r\n\r\n';

      test('GET with headers', () => {
        const { events, pending } = assertSplitInvariant(GET);
        assert.equal(pending, 0);
        assert.deepEqual(events, [{
          message: {
            method: 'GET', target: '/path/to?x=1&y=%C3%A9', version: 11, body: null,
            headers: { host: 'example.com', 'user-agent': 'unit', accept: '*/*', cookie: 'a=1; b=2', 'x-dup': 'one, two' },
          },
          expectsContinue: false,
        }]);
      });

      test('POST with a Content-Length body', () => {
        const { events, pending } = assertSplitInvariant(POST, undefined, 2);
        assert.equal(pending, 0);
        assert.equal(events.length, 1);
        assert.equal(events[0].message.body, BODY);
        assert.equal(events[0].message.headers['content-length'], String(BODY.length));
      });

      test('chunked body with extensions and trailers', () => {
        const { events, pending } = assertSplitInvariant(CHUNKED, undefined, 3);
        assert.equal(pending, 0);
        assert.deepEqual(events, [{
          message: {
            method: 'PUT', target: '/upload', version: 11, body: 'hello, world\r\n0123\xff\x00\r\n',
            headers: { host: 'h', 'transfer-encoding': 'chunked' }, // trailers are dropped
          },
          expectsContinue: false,
        }]);
      });

      test('pipelined messages, with empty lines between them', () => {
        const input = '\r\n' + GET + POST + '\r\n\r\n' + CHUNKED + 'GET /old HTTP/1.0\r\n\r\n' +
          'POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc';
        const { events, pending } = assertSplitInvariant(input, undefined, 4);
        assert.equal(pending, 0);
        assert.deepEqual(events.map((e) => [e.message.method, e.message.target, e.message.version, e.message.body, e.expectsContinue]), [
          ['GET', '/path/to?x=1&y=%C3%A9', 11, null, false],
          ['POST', '/submit', 11, BODY, false],
          ['PUT', '/upload', 11, 'hello, world\r\n0123\xff\x00\r\n', false],
          ['GET', '/old', 10, null, false],
          ['POST', '/e', 11, 'abc', true],
        ]);
      });

      test('a partial request after a complete one stays pending', () => {
        const { events, pending } = assertSplitInvariant(GET + 'GET /next HTTP/1.1\r\nHo', undefined, 5);
        assert.equal(events.length, 1);
        assert.equal(pending, 2, 'the request line is consumed; "Ho" waits for the rest of its line');
      });

      test('errors are found wherever the input is split', () => {
        const bad = [
          [GET + 'GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n', 400],
          [GET + 'GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n', 400],
          [GET + 'GET / HTTP/1.1\r\nHost: h\nX: a\r\n\r\n', 400],
          ['POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n', 400],
          ['POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n', 413],
        ];
        for (const [input, status] of bad) {
          const { events } = assertSplitInvariant(input, 100, 6);
          assert.deepEqual(events[events.length - 1], { error: status }, JSON.stringify(input));
        }
      });
    });

    // ----- Header fields -----------------------------------------------------

    describe('header fields', () => {
      test('names are lowercased; values keep their case', () => {
        const m = messageOf('GET / HTTP/1.1\r\nHOST: Example.COM\r\nX-MiXeD-CaSe: VaLuE\r\n\r\n');
        assert.deepEqual(m.headers, { host: 'Example.COM', 'x-mixed-case': 'VaLuE' });
      });

      test('repeated fields are joined with ", " (Cookie with "; "), in order, whatever the case', () => {
        const m = messageOf('GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\nCOOKIE: x=1\r\naccept: b\r\nCookie: y=2\r\nAccept: c\r\ncookie: z=3\r\n\r\n');
        assert.equal(m.headers.accept, 'a, b, c');
        assert.equal(m.headers.cookie, 'x=1; y=2; z=3');
      });

      // Found by fuzzing: "X:" twice made ", ", a value ending in whitespace.
      test('empty repeated fields add nothing to the joined value', () => {
        const m = messageOf('GET / HTTP/1.1\r\nHost: h\r\nA:\r\nA:\r\nB: x\r\nB:\r\nB: y\r\nC:\r\nC: z\r\nCookie: a=1\r\nCookie:\r\n\r\n');
        assert.deepEqual(m.headers, { host: 'h', a: '', b: 'x, y', c: 'z', cookie: 'a=1' });
      });

      test('optional whitespace (spaces and tabs) around values is trimmed, inner whitespace kept', () => {
        const m = messageOf('GET / HTTP/1.1\r\nHost:h\r\nA: \t x  y \t \r\nB:\r\nC:   \r\nD:\tv\r\n\r\n');
        assert.deepEqual(m.headers, { host: 'h', a: 'x  y', b: '', c: '', d: 'v' });
      });

      test('bytes >= 0x80 (obs-text) are allowed in values', () => {
        const m = messageOf('GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xc3\xa9 \xff\r\n\r\n');
        assert.equal(m.headers['x-name'], 'caf\xc3\xa9 \xff');
      });

      test('identical repeated Content-Length is accepted; different values are a 400', () => {
        const m = messageOf('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc');
        assert.equal(m.body, 'abc');
        assert.equal(m.headers['content-length'], '3');
        assert.equal(errorOf('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'), 400);
      });

      test('a repeated Host is a 400, even with the same value', () => {
        assert.equal(errorOf('GET / HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n'), 400);
        assert.equal(errorOf('GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n'), 400);
      });

      test('malformed field lines are a 400', () => {
        const cases = {
          'obs-fold (space)': 'X: a\r\n b',
          'obs-fold (tab)': 'X: a\r\n\tb',
          'space before the colon': 'X-Name : v',
          'tab before the colon': 'X-Name\t: v',
          'no colon': 'NoColonHere',
          'empty name': ': v',
          'space in the name': 'X Name: v',
          '"@" in the name': 'X@Y: v',
          '"(" in the name': '(x): v',
          '"/" in the name': 'a/b: v',
          'high byte in the name': 'caf\xc3\xa9: v',
          'NUL in the value': 'X: a\x00b',
          '0x01 in the value': 'X: \x01',
          '0x1F in the value': 'X: a\x1f',
          'DEL in the value': 'X: a\x7fb',
          'vertical tab in the value': 'X: a\x0bb',
          'bare CR in the value': 'X: a\rb',
          'CR at the end of the value': 'X: ab\r',
        };
        for (const [name, line] of Object.entries(cases)) {
          assert.equal(errorOf(`GET / HTTP/1.1\r\nHost: h\r\n${line}\r\n\r\n`), 400, name);
        }
      });

      test('bare LF ends no line: a 400 in the request line, the headers and the end of the headers', () => {
        assert.equal(errorOf('GET / HTTP/1.1\nHost: h\r\n\r\n'), 400);
        assert.equal(errorOf('GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n'), 400);
        assert.equal(errorOf('GET / HTTP/1.1\r\nHost: h\r\n\n'), 400);
        assert.equal(errorOf('\nGET / HTTP/1.1\r\nHost: h\r\n\r\n'), 400);
      });

      test('HTTP/1.1 needs a Host header; HTTP/1.0 does not', () => {
        assert.equal(errorOf('GET / HTTP/1.1\r\nX: y\r\n\r\n'), 400);
        const m = messageOf('GET / HTTP/1.0\r\n\r\n');
        assert.equal(m.version, 10);
        assert.deepEqual(m.headers, {});
      });

      test('names like "constructor" and "hasOwnProperty" are ordinary fields', () => {
        const m = messageOf('GET / HTTP/1.1\r\nHost: h\r\nConstructor: c\r\nhasOwnProperty: x\r\ntoString: t\r\nhasOwnProperty: y\r\nOn: o\r\n\r\n');
        assert.deepEqual(m.headers, { host: 'h', constructor: 'c', hasownproperty: 'x, y', tostring: 't', on: 'o' });
      });

      // Assigning "__proto__" would set the headers object's prototype: refused with a clear 400.
      test('a "__proto__" field is refused with 400', () => {
        const p = parser();
        p.feed('GET / HTTP/1.1\r\nHost: h\r\n__proto__: x\r\n\r\n');
        assert.equal(p.next(), ERROR);
        assert.equal(p.errorStatus, 400);
        assert.match(p.errorMessage, /__proto__/);
      });
    });

    // ----- Limits ------------------------------------------------------------

    describe('limits', () => {
      const target = (lineLength) => '/' + 'a'.repeat(lineLength - 'GET / HTTP/1.1'.length);
      const header = (lineLength) => 'X: ' + 'v'.repeat(lineLength - 3);

      test('a request line of 8192 bytes is accepted; 8193 is a 414', () => {
        const ok = `GET ${target(LONG)} HTTP/1.1`;
        assert.equal(ok.length, LONG);
        assert.equal(messageOf(ok + '\r\nHost: h\r\n\r\n').target.length, LONG - 13);
        assert.equal(errorOf(`GET ${target(LONG + 1)} HTTP/1.1\r\nHost: h\r\n\r\n`), 414);
      });

      test('an over-long request line is a 414 before its end has arrived', () => {
        const { events } = run([`GET ${target(LONG * 2)}`]);
        assert.deepEqual(events, [{ error: 414 }]);
      });

      test('a header line of 8192 bytes is accepted; 8193 is a 431', () => {
        assert.equal(header(LONG).length, LONG);
        assert.equal(messageOf(`GET / HTTP/1.1\r\nHost: h\r\n${header(LONG)}\r\n\r\n`).headers.x.length, LONG - 3);
        assert.equal(errorOf(`GET / HTTP/1.1\r\nHost: h\r\n${header(LONG + 1)}\r\n\r\n`), 431);
        assert.deepEqual(run([`GET / HTTP/1.1\r\nHost: h\r\n${header(LONG * 2)}`]).events, [{ error: 431 }]);
      });

      // Bug: takeLine() allows a line of `limit` bytes plus CRLF when the LF has
      // arrived, but fails a buffer of `limit` + 1 bytes with no LF yet, i.e. the
      // same line when a segment ends between its CR and LF.
      test('a line of exactly the limit is accepted when a segment ends between its CR and LF', () => {
        const outcome = (events) => events.map((e) => e.error || e.message.method);
        const requestLine = `GET ${target(LONG)} HTTP/1.1`;
        assert.deepEqual(outcome(whole(requestLine + '\r\nHost: h\r\n\r\n').events), ['GET']);
        assert.deepEqual(outcome(run([requestLine + '\r', '\nHost: h\r\n\r\n']).events), ['GET'], 'request line');
        const head = `GET / HTTP/1.1\r\nHost: h\r\n${header(LONG)}`;
        assert.deepEqual(outcome(whole(head + '\r\n\r\n').events), ['GET']);
        assert.deepEqual(outcome(run([head + '\r', '\n\r\n']).events), ['GET'], 'header line');
      });

      test('50 header fields are accepted; 51 are a 431', () => {
        const fields = (n) => Array.from({ length: n - 1 }, (_, i) => `X-${i}: ${i}\r\n`).join('');
        assert.equal(Object.keys(messageOf(`GET / HTTP/1.1\r\nHost: h\r\n${fields(MAX_HEADERS)}\r\n`).headers).length, MAX_HEADERS);
        assert.equal(errorOf(`GET / HTTP/1.1\r\nHost: h\r\n${fields(MAX_HEADERS + 1)}\r\n`), 431);
        // Repeated fields count one per line.
        assert.equal(errorOf(`GET / HTTP/1.1\r\nHost: h\r\n${'A: 1\r\n'.repeat(MAX_HEADERS)}\r\n`), 431);
      });

      describe('the whole header section: 16384 bytes of field lines (CRLFs counted)', () => {
        // Field lines of `sizes` bytes each (CRLF included) after "Host: h\r\n" (9 bytes).
        const fields = (...sizes) => 'Host: h\r\n' + sizes.map((size, i) => `X-${i}: ${'v'.repeat(size - `X-${i}: \r\n`.length)}\r\n`).join('');
        const head = 'GET / HTTP/1.1\r\n';

        test('exactly 16384 bytes are accepted; one more is a 431', () => {
          const exact = fields(8000, 8000, MAX_SECTION - 16009);
          assert.equal(exact.length, MAX_SECTION);
          assert.equal(Object.keys(messageOf(head + exact + '\r\n').headers).length, 4);
          assert.equal(errorOf(head + fields(8000, 8000, MAX_SECTION - 16008) + '\r\n'), 431);
        });

        test('the 431 comes as soon as the section passes the limit, before its line ends', () => {
          const p = parser();
          p.feed(head + fields(8000, 8000) + 'X-Big: ' + 'b'.repeat(400));
          assert.equal(p.next(), ERROR);
          assert.equal(p.errorStatus, 431);
          assert.match(p.errorMessage, /Header section/);
          assert.equal(p.pending, 0, 'nothing of it is kept');
        });

        test('"100 headers of 8 KB" stop at the third: nothing past 16 KB is held', () => {
          const line = 'X-Big: ' + 'b'.repeat(8000) + '\r\n';
          const p = parser();
          let fed = 0;
          p.feed(head + 'Host: h\r\n');
          let result = p.next();
          for (let i = 0; i < 100 && result === NEED_MORE; i++) {
            for (let at = 0; at < line.length && result === NEED_MORE; at += 536) {
              p.feed(line.slice(at, at + 536)); // a socket's pieces
              fed += Math.min(536, line.length - at);
              result = p.next();
              assert.ok(p.pending <= 8192 + 536, `pending ${p.pending}`);
            }
          }
          assert.equal(result, ERROR);
          assert.equal(p.errorStatus, 431);
          assert.ok(fed <= 2 * line.length + 536, `failed after ${fed} bytes of fields`);
        });

        test('the section is counted per request, and trailers count with their headers', () => {
          const ok = head + fields(8000, 8000) + '\r\n';
          assert.equal(whole(ok + ok + ok).events.length, 3);
          const chunked = 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n';
          const trailer = (size) => 'T: ' + 't'.repeat(size - 5) + '\r\n';
          const used = 'Host: h\r\nTransfer-Encoding: chunked\r\n'.length;
          const trailers = (last) => trailer(8000) + trailer(8000) + trailer(last);
          assert.equal(messageOf(chunked + trailers(MAX_SECTION - used - 16000) + '\r\n', 100).body, '');
          assert.equal(errorOf(chunked + trailers(MAX_SECTION - used - 15999) + '\r\n', 100), 431);
        });
      });

      test('Content-Length above maxBodySize is a 413, before the body arrives', () => {
        assert.deepEqual(run(['POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n'], 100).events, [{ error: 413 }]);
        assert.equal(messageOf(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n${'b'.repeat(100)}`, 100).body.length, 100);
        assert.equal(errorOf('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n', 100), 413);
      });

      test('a chunked body above maxBodySize is a 413, at the chunk size that passes it', () => {
        const head = 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n';
        assert.deepEqual(run([head + '32\r\n' + 'x'.repeat(50) + '\r\n33\r\n'], 100).events, [{ error: 413 }]);
        assert.equal(messageOf(head + '32\r\n' + 'x'.repeat(50) + '\r\n32\r\n' + 'y'.repeat(50) + '\r\n0\r\n\r\n', 100).body.length, 100);
        assert.equal(errorOf(head + 'ffffffffffff\r\n', 100), 413);
      });

      test('trailer fields count toward the 50 fields', () => {
        const head = 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n';
        assert.ok(messageOf(head + 'T: 1\r\n'.repeat(MAX_HEADERS - 2) + '\r\n'));
        assert.equal(errorOf(head + 'T: 1\r\n'.repeat(MAX_HEADERS - 1) + '\r\n'), 431);
      });
    });

    // ----- Body framing ------------------------------------------------------

    describe('body framing', () => {
      test('no Content-Length and no Transfer-Encoding: no body; Content-Length: 0 too', () => {
        assert.equal(messageOf('POST / HTTP/1.1\r\nHost: h\r\n\r\n').body, null);
        assert.equal(messageOf('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n').body, null);
      });

      test('malformed Content-Length is a 400', () => {
        for (const value of ['abc', '-1', '+5', '1.5', '0x10', '1 2', '5, 5', '']) {
          assert.equal(errorOf(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${value}\r\n\r\n`), 400, JSON.stringify(value));
        }
      });

      test('Transfer-Encoding must end with chunked (400); other codings are a 501', () => {
        const req = (te, version = '1.1') => `POST / HTTP/${version}\r\nHost: h\r\nTransfer-Encoding: ${te}\r\n\r\n0\r\n\r\n`;
        assert.equal(errorOf(req('gzip')), 400);
        assert.equal(errorOf(req('chunked, gzip')), 400);
        assert.equal(errorOf(req('identity')), 400);
        assert.equal(errorOf(req('gzip, chunked')), 501);
        assert.equal(errorOf(req('gzip,chunked')), 501);
        assert.equal(errorOf('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), 501);
        assert.equal(messageOf(req('Chunked')).body, '');
        assert.equal(messageOf(req(' chunked\t')).body, '');
      });

      test('Transfer-Encoding in an HTTP/1.0 request is a 400', () => {
        assert.equal(errorOf('POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), 400);
      });

      test('Transfer-Encoding with Content-Length is a 400', () => {
        assert.equal(errorOf('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), 400);
      });

      test('chunk sizes are hex, any case; malformed sizes, extensions and chunk ends are a 400', () => {
        const head = 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n';
        assert.equal(messageOf(head + 'a\r\n0123456789\r\nB\r\nabcdefghijk\r\n0\r\n\r\n').body, '0123456789abcdefghijk');
        assert.equal(messageOf(head + '0\r\n\r\n').body, '');
        const bad = {
          'empty size': '\r\n',
          'non-hex size': 'g\r\n',
          'negative size': '-1\r\n',
          'space after the size': '5 \r\nhello\r\n0\r\n\r\n',
          'extension without a name': '5;\r\nhello\r\n0\r\n\r\n',
          'extension with an empty value': '5;a=\r\nhello\r\n0\r\n\r\n',
          'unterminated quoted extension': '5;a="x\r\nhello\r\n0\r\n\r\n',
          'control char in an extension': '5;a=\x01\r\nhello\r\n0\r\n\r\n',
          'data longer than the size': '5\r\nhello!\r\n0\r\n\r\n',
          'bare LF after the data': '5\r\nhello\n0\r\n\r\n',
          'bare LF after the size': '5\nhello\r\n0\r\n\r\n',
        };
        for (const [name, rest] of Object.entries(bad)) assert.equal(errorOf(head + rest), 400, name);
      });

      test('malformed trailer fields are a 400', () => {
        const head = 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n';
        assert.equal(errorOf(head + 'Bad Name: x\r\n\r\n'), 400);
        assert.equal(errorOf(head + 'X: a\x00\r\n\r\n'), 400);
        assert.equal(errorOf(head + 'X: a\r\n b\r\n\r\n'), 400);
      });

      // Bug: sizes of more than 8 hex digits (chunked) or 15 decimal digits
      // (Content-Length) are taken as infinite, even when leading zeros make
      // them small: a valid last chunk "0000000000" is answered 413.
      test('zero-padded chunk sizes and Content-Length are read by value', () => {
        const head = 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n';
        assert.equal(messageOf(head + '000000005\r\nhello\r\n0000000000\r\n\r\n').body, 'hello');
        assert.equal(messageOf('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0000000000000005\r\n\r\nhello').body, 'hello');
      });
    });

    // ----- Expect ------------------------------------------------------------

    describe('Expect', () => {
      test('"100-continue" (any case) sets expectsContinue once the headers are in, before the body', () => {
        const p = parser();
        p.feed('POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n');
        assert.equal(p.next(), NEED_MORE);
        assert.equal(p.expectsContinue, true);
        p.feed('abc');
        assert.equal(p.next(), MESSAGE);
        assert.equal(p.message.body, 'abc');
        p.feed('GET / HTTP/1.1\r\n');
        assert.equal(p.next(), NEED_MORE);
        assert.equal(p.expectsContinue, false, 'cleared by the next request line');
      });

      test('expectsContinue for a chunked body too, not for HTTP/1.0 or without a body', () => {
        assert.equal(run(['POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n']).events.length, 0);
        const p = parser();
        p.feed('POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n');
        assert.equal(p.next(), NEED_MORE);
        assert.equal(p.expectsContinue, true);
        const p10 = parser();
        p10.feed('POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n');
        assert.equal(p10.next(), NEED_MORE);
        assert.equal(p10.expectsContinue, false);
        const p0 = parser();
        p0.feed('GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n');
        assert.equal(p0.next(), MESSAGE);
        assert.equal(p0.expectsContinue, false);
      });

      test('any other expectation is a 417', () => {
        assert.equal(errorOf('POST / HTTP/1.1\r\nHost: h\r\nExpect: something\r\nContent-Length: 1\r\n\r\nx'), 417);
        assert.equal(errorOf('GET / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n'), 417);
        assert.equal(errorOf('GET / HTTP/1.1\r\nHost: h\r\nExpect:\r\n\r\n'), 417);
      });
    });

    // ----- Request line ------------------------------------------------------

    describe('request line', () => {
      test('leading empty lines are skipped', () => {
        const m = messageOf('\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n');
        assert.equal(m.method, 'GET');
        assert.deepEqual(run(['\r', '\n', '\r\n', 'GET / HTTP/1.1\r\nHost: h\r\n\r\n']).events.length, 1);
      });

      test('nothing but empty lines leaves nothing pending', () => {
        const p = parser();
        p.feed('\r\n\r\n');
        assert.equal(p.next(), NEED_MORE);
        assert.equal(p.pending, 0);
        assert.equal(p.inMessage, false);
      });

      test('HTTP/1.0 is version 10, HTTP/1.1 is 11', () => {
        assert.equal(messageOf('GET / HTTP/1.0\r\n\r\n').version, 10);
        assert.equal(messageOf('GET / HTTP/1.1\r\nHost: h\r\n\r\n').version, 11);
      });

      test('other versions: a well-formed one is a 505, a malformed one a 400', () => {
        assert.equal(errorOf('GET / HTTP/1.2\r\nHost: h\r\n\r\n'), 505);
        assert.equal(errorOf('GET / HTTP/2.0\r\nHost: h\r\n\r\n'), 505);
        assert.equal(errorOf('GET / HTTP/0.9\r\n\r\n'), 505);
        for (const v of ['http/1.1', 'HTTP/1.10', 'HTTP/11', 'HTTP/1.', 'HTTP', 'HTTPS/1.1', '']) {
          assert.equal(errorOf(`GET / ${v}\r\nHost: h\r\n\r\n`), 400, JSON.stringify(v));
        }
      });

      test('absolute-form and asterisk-form targets are accepted as they are', () => {
        assert.equal(messageOf('GET http://example.com:8080/a/b?c=d HTTP/1.1\r\nHost: example.com\r\n\r\n').target, 'http://example.com:8080/a/b?c=d');
        assert.equal(messageOf('OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n').target, '*');
      });

      test('targets keep their percent-encoding; bad %XX is a 400', () => {
        assert.equal(messageOf('GET /a%2Fb%c3%A9?q=%25 HTTP/1.1\r\nHost: h\r\n\r\n').target, '/a%2Fb%c3%A9?q=%25');
        for (const t of ['/a%zz', '/a%2', '/a%', '/%%41', '/a?b=%g1', '/%41%']) {
          assert.equal(errorOf(`GET ${t} HTTP/1.1\r\nHost: h\r\n\r\n`), 400, t);
        }
      });

      test('raw bytes >= 0x80, DEL and controls in the target are a 400', () => {
        for (const t of ['/caf\xc3\xa9', '/\x80', '/\xff', '/a\x7f', '/a\x00b', '/a\tb', '/a\x1b']) {
          assert.equal(errorOf(`GET ${t} HTTP/1.1\r\nHost: h\r\n\r\n`), 400, JSON.stringify(t));
        }
      });

      test('a malformed request line is a 400', () => {
        for (const line of ['GET /', 'GET', 'GET  / HTTP/1.1', 'GET / HTTP/1.1 ', ' GET / HTTP/1.1', 'GET / HTTP/1.1 extra', 'G@T / HTTP/1.1', 'GE(T / HTTP/1.1', '\x00GET / HTTP/1.1']) {
          assert.equal(errorOf(`${line}\r\nHost: h\r\n\r\n`), 400, JSON.stringify(line));
        }
      });

      test('a well-formed method the server does not know is a 501 (the isKnownMethod callback)', () => {
        const asked = [];
        const p = parser(1024, (m) => { asked.push(m); return m === 'GET'; });
        p.feed('BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n');
        assert.equal(p.next(), ERROR);
        assert.equal(p.errorStatus, 501);
        assert.deepEqual(asked, ['BREW']);
        assert.equal(errorOf('get / HTTP/1.1\r\nHost: h\r\n\r\n'), 501, 'methods are case-sensitive');
        const any = parser(1024, () => true);
        any.feed('BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n');
        assert.equal(any.next(), MESSAGE);
        assert.equal(any.message.method, 'BREW');
      });
    });

    // ----- State -------------------------------------------------------------

    describe('state', () => {
      test('pending counts unconsumed bytes; inMessage is true while a request is partly in', () => {
        const p = parser();
        assert.equal(p.pending, 0);
        assert.equal(p.inMessage, false);
        p.feed('GET / HTTP/1.1\r\nHo');
        assert.equal(p.next(), NEED_MORE);
        assert.equal(p.inMessage, true);
        assert.equal(p.pending, 2);
        p.feed('st: h\r\n\r\nGET /2 HTTP/1.1\r\n');
        assert.equal(p.next(), MESSAGE);
        assert.equal(p.pending, 'GET /2 HTTP/1.1\r\n'.length);
        assert.equal(p.inMessage, true);
        assert.equal(p.next(), NEED_MORE);
        assert.equal(p.pending, 0);
        assert.equal(p.inMessage, true, 'headers of the second request are still due');
        p.feed('Host: h\r\n\r\n');
        assert.equal(p.next(), MESSAGE);
        assert.equal(p.message.target, '/2');
        assert.equal(p.inMessage, false);
      });

      test('next() with nothing fed needs more', () => {
        assert.equal(parser().next(), NEED_MORE);
      });

      test('an error sets errorStatus and errorMessage and drops what was buffered', () => {
        const p = parser();
        p.feed('GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\nGET / HTTP/1.1\r\n');
        assert.equal(p.next(), ERROR);
        assert.equal(p.errorStatus, 400);
        assert.equal(typeof p.errorMessage, 'string');
        assert.ok(p.errorMessage.length > 0);
        assert.equal(p.pending, 0);
      });

      test('each message is a new object', () => {
        const p = parser();
        p.feed('GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n');
        assert.equal(p.next(), MESSAGE);
        const first = p.message;
        assert.equal(p.next(), MESSAGE);
        assert.notEqual(p.message, first);
        assert.equal(first.target, '/1');
        assert.equal(p.message.target, '/2');
      });
    });
  });
}
