// Fuzzing the HTTP/1.1 request parser (src/http/parser.ts): generators of
// valid requests and pipelined sequences (with the messages they must parse
// to), random and mutated byte strings, and the properties every input keeps:
//
// - next() never throws and returns NEED_MORE, MESSAGE or ERROR;
// - an ERROR carries a status the server answers with (4xx, or 501/505 for a
//   method or version it does not implement), a message, and drops the buffer;
// - every MESSAGE is well formed and within the limits;
// - what waits after NEED_MORE is at most one line (bounded memory);
// - split anywhere, the input gives the same events as fed whole;
// - valid requests parse to exactly the messages they were made from, in order.
import assert from 'node:assert/strict';
import { plain } from '../unit/library.mjs';
import { mutate, splitsOf } from './fuzz.mjs';

export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
/** The parser's error statuses: client errors, and 501/505 for what it does not implement. */
export const ERROR_STATUSES = [400, 413, 414, 417, 431, 501, 505];
export const MAX_BODY = 4096;
// LIMITS in src/settings.ts.
const MAX_LINE = 8192;
const MAX_HEADERS = 50;
const MAX_SECTION = 16384;

const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const TARGET = /^[\x21-\x7e]+$/;
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
// Names with a meaning to the parser: generated on purpose, never at random.
const RESERVED = ['host', 'content-length', 'transfer-encoding', 'expect', '__proto__'];
const PATH_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/";
// Visible ASCII, obs-text and inner spaces/tabs; a value never starts or ends with whitespace.
const VALUE_EDGE = '!"#$%&\'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~\x80\xa9\xc3\xe9\xff';
const VALUE_CHARS = VALUE_EDGE + ' \t';

function parserFor(P, maxBodySize) {
  return new P.RequestParser({ maxBodySize, isKnownMethod: (method) => METHODS.indexOf(method) >= 0 });
}

/** Asserts what every parsed message must be, whatever the input was. */
function checkMessage(m, maxBodySize) {
  assert.match(m.method, METHOD, 'the method is a token');
  assert.match(m.target, TARGET, 'the target is visible ASCII');
  assert.ok(m.version === 10 || m.version === 11, `version ${m.version}`);
  const names = Object.keys(m.headers);
  assert.ok(names.length <= MAX_HEADERS, `${names.length} header fields`);
  let section = 0;
  for (const name of names) {
    const value = m.headers[name];
    assert.match(name, NAME, 'a header name is a lowercase token');
    assert.equal(typeof value, 'string');
    assert.doesNotMatch(value, BAD_VALUE, `no control characters in the value of ${name}`);
    assert.doesNotMatch(value, /^[ \t]|[ \t]$/, `no whitespace around the value of ${name}`);
    section += name.length + value.length;
  }
  assert.ok(section <= MAX_SECTION, `a header section of ${section} bytes`);
  if (m.version === 11) assert.ok('host' in m.headers, 'an HTTP/1.1 request has a Host');
  assert.ok(!('content-length' in m.headers && 'transfer-encoding' in m.headers), 'never both Content-Length and Transfer-Encoding');
  assert.ok(m.body === null || (typeof m.body === 'string' && m.body.length <= maxBodySize), 'the body is null or within maxBodySize');
}

/**
 * Feeds the pieces one at a time, calling next() after each until it needs
 * more, checking the properties on the way. Returns { events, pending,
 * inMessage }: events are { message, expectsContinue } or { error: status }
 * (the last: a connection closes after an error).
 */
export function parseRequests(P, pieces, maxBodySize = MAX_BODY) {
  const p = parserFor(P, maxBodySize);
  const events = [];
  for (const piece of pieces) {
    p.feed(piece);
    for (;;) {
      const result = p.next();
      if (result === P.NEED_MORE) {
        assert.ok(p.pending <= MAX_LINE + 1, `${p.pending} bytes wait after NEED_MORE: more than one line`);
        break;
      }
      if (result === P.MESSAGE) {
        const message = plain(p.message);
        checkMessage(message, maxBodySize);
        events.push({ message, expectsContinue: p.expectsContinue });
        continue;
      }
      assert.equal(result, P.ERROR, `next() returned ${result}`);
      assert.ok(ERROR_STATUSES.includes(p.errorStatus), `error status ${p.errorStatus}`);
      assert.ok(typeof p.errorMessage === 'string' && p.errorMessage.length > 0, 'an error has a message');
      assert.equal(p.pending, 0, 'an error drops what was buffered');
      events.push({ error: p.errorStatus });
      return { events, pending: 0, inMessage: p.inMessage };
    }
  }
  return { events, pending: p.pending, inMessage: p.inMessage };
}

/** The properties every byte string keeps; returns what it parses to, fed whole. */
export function checkRequestBytes(P, input, maxBodySize = MAX_BODY) {
  const whole = parseRequests(P, [input], maxBodySize);
  for (const pieces of splitsOf(input)) {
    assert.deepEqual(parseRequests(P, pieces, maxBodySize), whole, `split into ${pieces.length} pieces (${pieces.slice(0, 12).map((x) => x.length)}...)`);
  }
  return whole;
}

/** A case's check: the byte properties, and the expected events when the case was made valid. */
export function checkRequestCase(P, input, fuzzCase) {
  const whole = checkRequestBytes(P, input);
  if (fuzzCase.expected) assert.deepEqual(whole.events, fuzzCase.expected, 'parsed as generated');
}

// ---------------------------------------------------------------------------
// Valid requests

function randomCase(random, text) {
  let out = '';
  for (let i = 0; i < text.length; i++) out += random.chance(0.3) ? text.charAt(i).toUpperCase() : text.charAt(i).toLowerCase();
  return out;
}

function pathSegment(random) {
  let out = '';
  for (let n = random.between(0, 12); n > 0; n--) {
    out += random.chance(0.1) ? '%' + random.chars(2, '0123456789abcdefABCDEF') : random.chars(1, PATH_CHARS);
  }
  return out;
}

/** An origin-form target (sometimes long), absolute-form, or '*' for OPTIONS. */
function randomTarget(random, method) {
  if (method === 'OPTIONS' && random.chance(0.2)) return '*';
  let target = '/' + pathSegment(random);
  for (let n = random.int(4); n > 0; n--) target += '/' + pathSegment(random);
  if (random.chance(0.4)) target += '?' + pathSegment(random) + '=' + pathSegment(random);
  // Up to the longest request line: a 7-letter method, 2 spaces, "HTTP/1.1" and the 23 bytes of the prefix below.
  if (random.chance(0.02)) target += random.chars(MAX_LINE - 40 - target.length - random.size(200), 'abc');
  if (random.chance(0.1)) target = 'http://example.com:8080' + target;
  return target;
}

/** A field value: visible ASCII and obs-text with inner whitespace, of up to `max` bytes. */
function randomValue(random, max) {
  const length = Math.min(max, random.chance(0.03) ? random.between(200, max) : random.size(40));
  if (length <= 0) return '';
  if (length === 1) return random.chars(1, VALUE_EDGE);
  return random.chars(1, VALUE_EDGE) + random.chars(length - 2, VALUE_CHARS) + random.chars(1, VALUE_EDGE);
}

function randomName(random) {
  for (;;) {
    const name = random.chance(0.3) ? random.pick(['Accept', 'User-Agent', 'Cookie', 'X-Dup', 'Connection', 'constructor', 'hasOwnProperty', 'toString'])
      : random.chars(random.between(1, 16), TOKEN_CHARS);
    if (RESERVED.indexOf(name.toLowerCase()) < 0) return name;
  }
}

/** Optional whitespace around a value: trimmed by the parser. */
function ows(random) {
  return random.chance(0.7) ? random.pick(['', ' ']) : random.chars(random.between(1, 3), ' \t');
}

/**
 * Field lines within the limits: each line <= 8192 bytes, all of them <=
 * 16384 (CRLFs counted) and <= 50 fields, trailers included.
 */
class FieldSection {
  constructor() {
    /** { line, name, value, parsed }: `parsed` false for a line the header object does not show. */
    this.fields = [];
    this.bytes = 0;
  }

  get count() { return this.fields.length; }
  /** The longest line that still fits. */
  get room() { return this.count >= MAX_HEADERS ? -1 : Math.min(MAX_LINE, MAX_SECTION - this.bytes - 2); }

  add(name, value, spacing, parsed = true) {
    const line = name + ':' + spacing[0] + value + spacing[1];
    assert.ok(line.length <= this.room, `the generator keeps within the limits (${line.length} > ${this.room})`);
    this.fields.push({ line, name, value, parsed });
    this.bytes += line.length + 2;
  }

  /** Adds a random field if one fits, leaving room for `reserve` = [bytes, fields]. */
  addRandom(random, reserve, parsed = true) {
    const name = randomName(random);
    const spacing = [ows(random), ows(random)];
    const value = randomValue(random, this.room - reserve[0] - name.length - 1 - spacing[0].length - spacing[1].length);
    if (value && this.count < MAX_HEADERS - reserve[1]) this.add(name, value, spacing, parsed);
  }
}

/** The header object fields parse to: names lowercased, repeated ones joined in order. */
function headersOf(fields) {
  const headers = {};
  for (const { name, value, parsed } of fields) {
    const key = name.toLowerCase();
    if (!parsed) continue;
    if (!Object.hasOwn(headers, key)) headers[key] = value;
    else headers[key] += (key === 'cookie' ? '; ' : ', ') + value;
  }
  return headers;
}

function linesOf(fields) {
  return fields.map((field) => field.line + '\r\n').join('');
}

function chunkSize(random, size) {
  const hex = size.toString(16);
  return (random.chance(0.1) ? '0'.repeat(random.between(1, 6)) : '') + (random.chance(0.5) ? hex.toUpperCase() : hex);
}

function chunkExtensions(random) {
  let out = '';
  for (let n = random.chance(0.2) ? random.between(1, 3) : 0; n > 0; n--) {
    out += ';' + random.chars(random.between(1, 6), TOKEN_CHARS);
    if (random.chance(0.5)) out += '=' + (random.chance(0.5) ? random.chars(random.between(1, 6), TOKEN_CHARS) : '"q \\" ;x"');
  }
  return out;
}

function shuffle(random, list) {
  for (let i = list.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

// Bytes and fields kept for the ones with a meaning (Host, Connection, Expect, framing), added last.
const RESERVE = [240, 6];
const NO_RESERVE = [0, 0];

/**
 * A valid request and the event it parses to: any method, a target, Host
 * (always for HTTP/1.1), random fields (repeated ones joined), maybe Expect,
 * and no body, a Content-Length body or a chunked one with extensions and
 * trailers; now and then a header section filled to exactly 16384 bytes.
 * Options: `targets` (functions random => [method, target]) and `close` (send
 * "Connection: close") for a real server.
 */
export function validRequest(random, { targets, close = false } = {}) {
  const [method, target] = targets ? random.pick(targets)(random) : [random.pick(METHODS), null];
  const version = random.chance(0.15) ? 10 : 11;
  const section = new FieldSection();
  const wanted = random.chance(0.05) ? MAX_HEADERS : random.int(8);
  for (let i = 0; i < wanted; i++) section.addRandom(random, RESERVE);
  const spacing = () => [ows(random), ows(random)];
  if (version === 11 || random.chance(0.5)) section.add(randomCase(random, 'host'), 'example.com', spacing());
  if (close) section.add('Connection', 'close', spacing());
  const expect = random.chance(0.1);
  if (expect) section.add('Expect', randomCase(random, '100-continue'), spacing());
  const framing = version === 11 ? random.pick(['none', 'length', 'chunked']) : random.pick(['none', 'length']);
  const body = random.bytes(random.size(framing === 'chunked' ? 1500 : MAX_BODY));
  let wireBody = '';
  if (framing === 'length') {
    const value = (random.chance(0.1) ? '000' : '') + body.length;
    section.add('Content-Length', value, spacing());
    // An identical repeat is allowed (RFC 9110 §8.6) and changes nothing.
    if (random.chance(0.05)) section.add('content-length', value, spacing(), false);
    wireBody = body;
  } else if (framing === 'chunked') {
    section.add('Transfer-Encoding', random.pick(['chunked', 'Chunked', 'CHUNKED', ', chunked', 'chunked ,']), spacing());
    for (let at = 0; at < body.length;) {
      const size = random.between(1, body.length - at);
      wireBody += chunkSize(random, size) + chunkExtensions(random) + '\r\n' + body.slice(at, at + size) + '\r\n';
      at += size;
    }
    wireBody += chunkSize(random, 0) + chunkExtensions(random) + '\r\n';
  }
  // The fields with a meaning anywhere among the others.
  shuffle(random, section.fields);
  if (framing !== 'chunked' && random.chance(0.03) && section.room > 7) {
    // Exactly at the limit of the section (or of the line).
    section.add('X-Fill', 'f'.repeat(section.room - 7), ['', '']);
  }
  const headerFields = section.fields.slice();
  let trailers = '';
  if (framing === 'chunked') {
    // Checked like header fields and counted with them, then dropped.
    for (let n = random.int(3); n > 0; n--) section.addRandom(random, NO_RESERVE, false);
    trailers = linesOf(section.fields.slice(headerFields.length)) + '\r\n';
  }
  const message = {
    method,
    target: target || randomTarget(random, method),
    version,
    headers: headersOf(headerFields),
    body: framing === 'chunked' || body.length && framing === 'length' ? body : null,
  };
  const expectsContinue = expect && (framing === 'chunked' || (framing === 'length' && body.length > 0 && version === 11));
  const head = `${method} ${message.target} HTTP/1.${version === 11 ? 1 : 0}\r\n` + linesOf(headerFields) + '\r\n';
  return { wire: head + wireBody + trailers, event: { message, expectsContinue } };
}

/**
 * One to four valid requests back to back, sometimes with empty lines before
 * one (allowed, ignored). Options as validRequest's; `close` goes on the last.
 */
export function validSequence(random, options = {}) {
  let input = '';
  const expected = [];
  for (let n = random.chance(0.6) ? 1 : random.between(2, 4); n > 0; n--) {
    const { wire, event } = validRequest(random, { targets: options.targets, close: options.close && n === 1 });
    input += (random.chance(0.1) ? '\r\n'.repeat(random.between(1, 2)) : '') + wire;
    expected.push(event);
  }
  return { input, expected };
}

// Pieces of requests, right and wrong, for inputs that look almost right.
const WORDS = {
  method: [['GET', 'POST', 'HEAD', 'PUT'], ['BREW', 'get', 'G@T', '']],
  space: [[' '], ['  ', '\t', '']],
  target: [['/', '/a/b?c=d', '/a%41', '*', 'http://h/x'], ['/%zz', '/%4', '/\x80', '/a b', '']],
  version: [['HTTP/1.1', 'HTTP/1.0'], ['HTTP/2.0', 'HTTP/1.', 'http/1.1', '']],
  lineEnd: [['\r\n'], ['\n', '\r', '\r\r\n', '']],
  field: [['Host: h', 'hOsT:h', 'Content-Length: 3', 'Content-Length: 0', 'Content-Length:  3 ', 'Transfer-Encoding: chunked',
    'Transfer-Encoding: ,chunked', 'Expect: 100-continue', 'X: y', 'Cookie: a=1', 'Connection: close', 'Connection: keep-alive'],
  ['Host:', 'Content-Length: -1', 'Content-Length: 3, 3', 'Content-Length: 99999999999999999999', 'Transfer-Encoding: gzip, chunked',
    'Transfer-Encoding: chunked, gzip', 'Transfer-Encoding: identity', 'Expect: x', '__proto__: x', ' folded', '\tfolded', 'Bad Name: x',
    'X:\x00', 'X: a\rb', ': empty name', 'NoColon']],
  body: [['', 'abc', '5\r\nhello\r\n0\r\n\r\n', '0\r\n\r\n', '3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n', '0000000000\r\n\r\n'],
    ['a', 'ff\r\n', 'g\r\n', '5\r\nhelloXX0\r\n\r\n', '0\r\nBad Name: x\r\n\r\n', 'fffffffff\r\n', '5 ;x\r\nhello\r\n0\r\n\r\n']],
};

/** A request put together from WORDS: mostly the right pieces in the right places. */
function wordsRequest(random) {
  const w = (kind) => random.pick(WORDS[kind][random.chance(0.9) ? 0 : 1]);
  let request = w('method') + w('space') + w('target') + w('space') + w('version') + w('lineEnd');
  for (let n = random.int(6); n > 0; n--) request += w('field') + w('lineEnd');
  return request + w('lineEnd') + w('body');
}

/**
 * A random case: a valid sequence (expected events known), one mutated,
 * requests put together from right and wrong pieces, or plain random bytes.
 */
export function requestCase(random, options) {
  const roll = random.next();
  if (roll < 0.25) {
    const { input, expected } = validSequence(random, options);
    return { kind: 'valid', input, expected, steps: [] };
  }
  if (roll < 0.8) {
    const { input, steps } = mutate(validSequence(random, options).input, random);
    return { kind: 'mutated', input, steps };
  }
  if (roll < 0.95) {
    let input = '';
    for (let n = random.between(1, 3); n > 0; n--) input += wordsRequest(random);
    return { kind: 'words', input, steps: [] };
  }
  return { kind: 'random bytes', input: random.bytes(random.size(2000)), steps: [] };
}
