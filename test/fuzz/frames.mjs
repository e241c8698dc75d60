// Fuzzing the WebSocket frame parser (src/websocket/frames.ts): generators of
// valid client frame sequences (masked, fragmented, with control frames in
// between, 7/16/64-bit lengths) with the events they must parse to, random
// frames, mutated frames and random bytes, and the properties every input
// keeps:
//
// - next() never throws and returns NEED_MORE, MESSAGE, CONTROL or ERROR;
// - an ERROR carries a close code for a protocol error (1002), bad UTF-8
//   (1007) or a message too big (1009), and the parser stays failed;
// - messages are TEXT (valid UTF-8) or BINARY within the size limit; control
//   frames carry at most 125 bytes, a close frame a valid code and UTF-8 reason;
// - split anywhere, the input gives the same events as fed whole;
// - valid sequences parse to exactly the events they were made from.
import assert from 'node:assert/strict';
import { isUtf8, mutate, splitsOf } from './fuzz.mjs';

export const MAX_MESSAGE = 4096;
/** The close codes a server fails a connection with. */
export const ERROR_CODES = [1002, 1007, 1009];
// RFC 6455 §7.4: what a peer may send in a close frame.
const CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
const TEXT = 1;
const BINARY = 2;
const CONTINUATION = 0;
const CLOSE = 8;
const PING = 9;
const PONG = 10;

/** A byte string from byte values (arrays are flattened). */
export function bytes(...codes) {
  return Buffer.from(codes.flat()).toString('latin1');
}

/** `payload` XORed with the 4-byte mask `key`. */
export function xor(payload, key) {
  const out = Buffer.from(payload, 'latin1');
  for (let i = 0; i < out.length; i++) out[i] ^= key[i & 3];
  return out.toString('latin1');
}

const KEY = [0x37, 0xfa, 0x21, 0x3d]; // RFC 6455 §5.7

/**
 * A client frame: FIN, RSV bits, opcode, length (7, 16 or 64 bits: the
 * smallest unless `lengthBits` says), mask key, masked payload.
 */
export function frame(opcode, payload = '', { fin = true, rsv = 0, masked = true, key = KEY, lengthBits } = {}) {
  const n = payload.length;
  const bits = lengthBits || (n < 126 ? 7 : n < 65536 ? 16 : 64);
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const maskBit = masked ? 0x80 : 0;
  if (bits === 7) head.push(maskBit | n);
  else if (bits === 16) head.push(maskBit | 126, n >> 8, n & 255);
  else head.push(maskBit | 127, 0, 0, 0, 0, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255);
  if (!masked) return bytes(head) + payload;
  return bytes(head, key) + xor(payload, key);
}

/**
 * Feeds the pieces one at a time, calling next() after each until it needs
 * more, checking the properties on the way. Returns the events: [type, bytes]
 * for a message ('text' or 'binary'), ['ping' or 'pong', bytes],
 * ['close', bytes, code, reason], ['error', code] (the last).
 */
export function parseFrames(F, pieces, max = MAX_MESSAGE) {
  const p = new F.FrameParser(max);
  const events = [];
  for (const piece of pieces) {
    p.feed(piece);
    for (;;) {
      const result = p.next();
      if (result === F.NEED_MORE) break;
      if (result === F.MESSAGE) {
        assert.ok(p.messageType === TEXT || p.messageType === BINARY, `message type ${p.messageType}`);
        assert.ok(p.message.length <= max, `a message of ${p.message.length} bytes`);
        if (p.messageType === TEXT) assert.ok(isUtf8(p.message), 'a text message is valid UTF-8');
        events.push([p.messageType === TEXT ? 'text' : 'binary', p.message]);
      } else if (result === F.CONTROL) {
        assert.ok(p.controlData.length <= 125, `a control payload of ${p.controlData.length} bytes`);
        if (p.controlType === CLOSE) {
          if (p.closeCode === 1005) assert.equal(p.controlData, '', 'code 1005 only for a close frame without one');
          else assert.ok(CLOSE_CODES.includes(p.closeCode) || (p.closeCode >= 3000 && p.closeCode <= 4999), `close code ${p.closeCode}`);
          assert.ok(isUtf8(p.closeReason), 'a close reason is valid UTF-8');
          events.push(['close', p.controlData, p.closeCode, p.closeReason]);
        } else {
          assert.ok(p.controlType === PING || p.controlType === PONG, `control type ${p.controlType}`);
          events.push([p.controlType === PING ? 'ping' : 'pong', p.controlData]);
        }
      } else {
        assert.equal(result, F.ERROR, `next() returned ${result}`);
        const code = p.errorCode;
        assert.ok(ERROR_CODES.includes(code), `error close code ${code}`);
        assert.ok(typeof p.errorReason === 'string' && p.errorReason.length > 0, 'an error has a reason');
        // It stays failed, whatever comes next.
        p.feed(frame(TEXT, 'more'));
        assert.equal(p.next(), F.ERROR, 'next() after ERROR');
        assert.equal(p.errorCode, code, 'the error code stays');
        events.push(['error', code]);
        return events;
      }
    }
  }
  return events;
}

/** The properties every byte string keeps; returns the events it parses to, fed whole. */
export function checkFrameBytes(F, input, max = MAX_MESSAGE) {
  const whole = parseFrames(F, [input], max);
  for (const pieces of splitsOf(input)) {
    assert.deepEqual(parseFrames(F, pieces, max), whole, `split into ${pieces.length} pieces (${pieces.slice(0, 12).map((x) => x.length)}...)`);
  }
  return whole;
}

/** A case's check: the byte properties, and the expected events when the case was made valid. */
export function checkFrameCase(F, input, fuzzCase) {
  const whole = checkFrameBytes(F, input);
  if (fuzzCase.expected) assert.deepEqual(whole, fuzzCase.expected, 'parsed as generated');
}

// ---------------------------------------------------------------------------
// Valid frames

/** Random well-formed UTF-8 of about `length` bytes: ASCII, and 2, 3 and 4-byte characters. */
function utf8Text(random, length) {
  let text = '';
  while (text.length < length) {
    const roll = random.next();
    let cp;
    if (roll < 0.6) cp = random.int(0x80);
    else if (roll < 0.75) cp = random.between(0x80, 0x7ff);
    else if (roll < 0.9) {
      cp = random.between(0x800, 0xfffd);
      if (cp >= 0xd800 && cp <= 0xdfff) cp -= 0x800; // no surrogates
    } else cp = random.between(0x10000, 0x10ffff);
    text += Buffer.from(String.fromCodePoint(cp), 'utf8').toString('latin1');
  }
  return text;
}

function randomKey(random) {
  const roll = random.next();
  if (roll < 0.1) return [0, 0, 0, 0];
  if (roll < 0.2) return [0x9c, 0x80, 0xff, 0xa5]; // every byte >= 0x80: the sign bit of a 32-bit word
  return [random.int(256), random.int(256), random.int(256), random.int(256)];
}

/** The smallest length encoding, or now and then a longer one (which the parser accepts too). */
function lengthBits(random, n) {
  const smallest = n < 126 ? 7 : 16;
  if (random.chance(0.85)) return smallest;
  return random.pick([16, 64].filter((bits) => bits >= smallest));
}

/** A masked frame; a control frame's length is always the 7-bit form (RFC 6455 §5.5: 125 bytes at most). */
function masked(random, opcode, payload, fin = true) {
  return frame(opcode, payload, { fin, key: randomKey(random), lengthBits: opcode >= CLOSE ? 7 : lengthBits(random, payload.length) });
}

/** A ping or pong with up to 125 bytes, and its event. */
function pingOrPong(random) {
  const opcode = random.chance(0.5) ? PING : PONG;
  const data = random.bytes(random.size(125));
  return { wire: masked(random, opcode, data), event: [opcode === PING ? 'ping' : 'pong', data] };
}

/** A close frame: no payload (1005), or a code and a UTF-8 reason of up to 123 bytes. */
function closeFrame(random) {
  if (random.chance(0.2)) return { wire: masked(random, CLOSE, ''), event: ['close', '', 1005, ''] };
  const code = random.chance(0.7) ? random.pick(CLOSE_CODES) : random.between(3000, 4999);
  let reason = utf8Text(random, random.size(123));
  while (reason.length > 123) reason = utf8Text(random, random.size(60));
  const payload = bytes(code >> 8, code & 255) + reason;
  return { wire: masked(random, CLOSE, payload), event: ['close', payload, code, reason] };
}

/**
 * One to five messages and control frames: data messages in one or more
 * fragments (cut anywhere, inside a UTF-8 character too) with pings and pongs
 * between the fragments, maybe a close; now and then a frame whose length
 * takes the message past the limit, which must end it all with 1009.
 */
export function validFrames(random, max = MAX_MESSAGE) {
  let wire = '';
  const expected = [];
  for (let n = random.between(1, 5); n > 0; n--) {
    if (random.chance(0.2)) {
      const control = random.chance(0.7) ? pingOrPong(random) : closeFrame(random);
      wire += control.wire;
      expected.push(control.event);
      continue;
    }
    const type = random.chance(0.5) ? TEXT : BINARY;
    const length = random.chance(0.1) ? random.between(126, max) : random.size(300);
    let payload = type === TEXT ? utf8Text(random, length).slice(0, max) : random.bytes(length);
    // Cut at `max` inside a character: back to the character's start.
    while (type === TEXT && !isUtf8(payload)) payload = payload.slice(0, -1);
    const cuts = [];
    for (let k = random.chance(0.6) ? 0 : random.between(1, 4); k > 0; k--) cuts.push(random.int(payload.length + 1));
    cuts.sort((a, b) => a - b);
    cuts.push(payload.length);
    let from = 0;
    for (let i = 0; i < cuts.length; i++) {
      const last = i === cuts.length - 1;
      wire += masked(random, i === 0 ? type : CONTINUATION, payload.slice(from, cuts[i]), last);
      from = cuts[i];
      if (!last && random.chance(0.3)) {
        const control = pingOrPong(random);
        wire += control.wire;
        expected.push(control.event);
      }
    }
    expected.push([type === TEXT ? 'text' : 'binary', payload]);
  }
  if (random.chance(0.05)) {
    // A frame announcing more than the limit allows: refused before its payload arrives.
    const claimed = random.chance(0.5) ? max + 1 : random.between(max + 1, 0x7fffffff);
    const length = claimed < 65536 ? [0x80 | 126, claimed >> 8, claimed & 255]
      : [0x80 | 127, 0, 0, 0, 0, (claimed >>> 24) & 255, (claimed >> 16) & 255, (claimed >> 8) & 255, claimed & 255];
    wire += bytes(0x80 | (random.chance(0.5) ? TEXT : BINARY), length, randomKey(random)) + random.bytes(random.size(50));
    expected.push(['error', 1009]);
  }
  return { input: wire, expected };
}

/** A frame with random bits: FIN, RSV, opcode (reserved ones too), mask bit, length form and payload. */
function randomFrame(random) {
  const opcode = random.chance(0.8) ? random.pick([CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG]) : random.int(16);
  const payload = random.chance(0.3) ? utf8Text(random, random.size(200)) : random.bytes(random.size(200));
  return frame(opcode, payload, {
    fin: random.chance(0.7),
    rsv: random.chance(0.9) ? 0 : random.int(8),
    masked: random.chance(0.95),
    key: randomKey(random),
    lengthBits: lengthBits(random, payload.length),
  });
}

/** A random case: a valid sequence (events known), one mutated, random frames, or random bytes. */
export function frameCase(random) {
  const roll = random.next();
  if (roll < 0.25) {
    const { input, expected } = validFrames(random);
    return { kind: 'valid', input, expected, steps: [] };
  }
  if (roll < 0.8) {
    const { input, steps } = mutate(validFrames(random).input, random);
    return { kind: 'mutated', input, steps };
  }
  if (roll < 0.95) {
    let input = '';
    for (let n = random.between(1, 6); n > 0; n--) input += randomFrame(random);
    return { kind: 'random frames', input, steps: [] };
  }
  return { kind: 'random bytes', input: random.bytes(random.size(1000)), steps: [] };
}
