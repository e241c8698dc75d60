// The fuzzing toolkit shared by the HTTP and WebSocket fuzzers: a seeded
// random source, splitters, byte mutators, a minimizer, and the loop that runs
// cases and turns the first failure into a reproducer to paste into
// test/fuzz/regressions.mjs. Inputs are byte strings (one char per byte), as
// a socket delivers them.
import { prng } from '../unit/library.mjs';

/** A seeded random source: the same seed gives the same cases on every run. */
export function randomSource(seed) {
  const next = prng(seed);
  const random = {
    /** A float in [0, 1). */
    next,
    /** An integer in [0, n). */
    int: (n) => Math.floor(next() * n),
    /** An integer in [low, high]. */
    between: (low, high) => low + Math.floor(next() * (high - low + 1)),
    chance: (p) => next() < p,
    pick: (list) => list[Math.floor(next() * list.length)],
    /** `count` bytes, each 0-255. */
    bytes: (count) => {
      let out = '';
      for (let i = 0; i < count; i++) out += String.fromCharCode(Math.floor(next() * 256));
      return out;
    },
    /** `count` characters drawn from `alphabet`. */
    chars: (count, alphabet) => {
      let out = '';
      for (let i = 0; i < count; i++) out += alphabet.charAt(Math.floor(next() * alphabet.length));
      return out;
    },
    /** Sizes are mostly small, sometimes large: 0..max with a bias to the low end. */
    size: (max) => Math.floor(Math.pow(next(), 3) * (max + 1)),
  };
  return random;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** True when a byte string is well-formed UTF-8. */
export function isUtf8(bytes) {
  try {
    strictUtf8.decode(Buffer.from(bytes, 'latin1'));
    return true;
  } catch {
    return false;
  }
}

/** A 32-bit FNV-1a hash: seeds the splits of an input from the input itself, so a reproducer is the input alone. */
export function hashOf(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/** Random pieces of 1 to `largest` bytes. */
export function randomPieces(input, random, largest) {
  const pieces = [];
  for (let at = 0; at < input.length;) {
    const size = 1 + Math.floor(random() * Math.min(input.length, largest));
    pieces.push(input.slice(at, at + size));
    at += size;
  }
  return pieces;
}

/**
 * The ways to feed `input` that must all give what feeding it whole gives:
 * byte by byte (when short enough to be cheap), and `rounds` random splits
 * into pieces of up to 40 bytes or up to a socket's 536.
 */
export function splitsOf(input, rounds = 6) {
  const splits = [];
  if (input.length <= 2048) splits.push(input.split(''));
  const random = prng(hashOf(input));
  for (let round = 0; round < rounds; round++) splits.push(randomPieces(input, random, round & 1 ? 536 : 40));
  return splits;
}

// Bytes that change how a parser reads what is around them.
const SPECIAL = ['\r', '\n', '\r\n', '\r\n\r\n', '\x00', ' ', '\t', ':', ';', '=', '"', '\\', '%', ',', '/', '\x7f', '\x80', '\xff', '0', 'f', '9'];
const NUMBERS = ['0', '1', '-1', '00000000000000000000001', '4294967296', '99999999999999999999', 'ffffffff', '7fffffffffffffff', '1e3', ' 5', '0x10'];

function insertAt(input, at, text) {
  return input.slice(0, at) + text + input.slice(at);
}

/** The byte mutations: each takes (input, random) and returns [mutated, what it did]. */
const MUTATIONS = [
  function flipBit(input, random) {
    if (!input.length) return [input, 'nothing to flip'];
    const at = random.int(input.length);
    const bit = 1 << random.int(8);
    return [input.slice(0, at) + String.fromCharCode(input.charCodeAt(at) ^ bit) + input.slice(at + 1), `flip bit ${bit} at ${at}`];
  },
  function insertBytes(input, random) {
    const at = random.int(input.length + 1);
    const text = random.chance(0.7) ? random.pick(SPECIAL) : random.bytes(random.between(1, 8));
    return [insertAt(input, at, text), `insert ${JSON.stringify(text)} at ${at}`];
  },
  function deleteBytes(input, random) {
    const at = random.int(input.length + 1);
    const count = random.between(1, 8);
    return [input.slice(0, at) + input.slice(at + count), `delete ${count} at ${at}`];
  },
  function truncate(input, random) {
    const at = random.int(input.length + 1);
    return [input.slice(0, at), `truncate at ${at}`];
  },
  function breakLines(input, random) {
    // CR/LF injection: a lone CR or LF, or a CRLF that loses half of itself.
    const lineEnd = input.indexOf('\r\n', random.int(input.length + 1));
    if (lineEnd >= 0 && random.chance(0.5)) {
      const keep = random.chance(0.5) ? '\n' : '\r';
      return [input.slice(0, lineEnd) + keep + input.slice(lineEnd + 2), `CRLF at ${lineEnd} becomes ${JSON.stringify(keep)}`];
    }
    const at = random.int(input.length + 1);
    const text = random.pick(['\r', '\n', '\r\n', '\n\r', '\r\n ', '\r\n\r\n']);
    return [insertAt(input, at, text), `inject ${JSON.stringify(text)} at ${at}`];
  },
  function duplicateRange(input, random) {
    const from = random.int(input.length + 1);
    const to = Math.min(input.length, from + random.between(1, 64));
    const at = random.int(input.length + 1);
    return [insertAt(input, at, input.slice(from, to)), `copy ${from}..${to} to ${at}`];
  },
  function replaceNumber(input, random) {
    const digits = /[0-9A-Fa-f]+/g;
    const runs = [];
    for (let m = digits.exec(input); m; m = digits.exec(input)) runs.push(m);
    if (!runs.length) return [input, 'no number'];
    const run = random.pick(runs);
    const number = random.pick(NUMBERS);
    return [input.slice(0, run.index) + number + input.slice(run.index + run[0].length), `number at ${run.index} becomes ${number}`];
  },
];

/** `input` with 1 to `most` random mutations; returns { input, steps } (what was done, for the report). */
export function mutate(input, random, most = 4) {
  const steps = [];
  let text = input;
  for (let count = random.between(1, most); count > 0; count--) {
    const [mutated, step] = random.pick(MUTATIONS)(text, random);
    text = mutated;
    steps.push(step);
  }
  return { input: text, steps };
}

/**
 * The smallest input found for which `fails` still returns true: ranges of
 * whole lines are deleted first, then ranges of bytes, larger ranges before
 * smaller. Bounded by `budget` calls to `fails`.
 */
export function minimize(input, fails, budget = 3000) {
  let best = input;
  for (const unitsOf of [(text) => text.match(/[^\n]*\n|[^\n]+$/g) || [], (text) => text.split('')]) {
    let units = unitsOf(best);
    // Every start when there are few units (a range need not be aligned), else aligned ranges.
    const step = (size) => (units.length <= 256 ? 1 : size);
    for (let size = units.length >> 1; size >= 1 && budget > 0; size = size >> 1) {
      for (let at = 0; at + size <= units.length && budget > 0; at += step(size)) {
        const kept = units.slice(0, at).concat(units.slice(at + size));
        budget--;
        if (fails(kept.join(''))) {
          units = kept;
          at -= step(size);
        }
      }
    }
    best = units.join('');
  }
  return best;
}

/** A JavaScript string literal of a byte string, printable ASCII kept, the rest escaped. */
export function literal(bytes) {
  let out = "'";
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i);
    const ch = bytes.charAt(i);
    if (ch === '\r') out += '\\r';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === "'" || ch === '\\') out += '\\' + ch;
    else if (c < 0x20 || c >= 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + "'";
}

/** The message of whatever `check` throws for `input`, or null when it passes. */
export function failureOf(check, input) {
  try {
    check(input);
    return null;
  } catch (e) {
    return (e && e.message) || String(e);
  }
}

/**
 * Runs `iterations` cases from `seed`: makeCase(random) returns { input, kind,
 * steps } and check(input, fuzzCase) throws on a broken property. Returns null,
 * or the first failure as { seed, index, kind, steps, message, input, minimized,
 * reproducer }. Inputs that break the properties every input must keep
 * (`checkBytes`) are minimized against them.
 */
export function fuzz({ seed, iterations, makeCase, check, checkBytes }) {
  const random = randomSource(seed);
  for (let index = 0; index < iterations; index++) {
    const fuzzCase = makeCase(random);
    const message = failureOf((input) => check(input, fuzzCase), fuzzCase.input);
    if (message === null) continue;
    const bytesFail = failureOf(checkBytes, fuzzCase.input) !== null;
    const minimized = bytesFail ? minimize(fuzzCase.input, (candidate) => failureOf(checkBytes, candidate) !== null) : fuzzCase.input;
    const why = bytesFail ? failureOf(checkBytes, minimized) : message;
    const note = `seed ${seed}, case ${index} (${fuzzCase.kind}${fuzzCase.steps.length ? ': ' + fuzzCase.steps.join('; ') : ''})`;
    const expected = bytesFail ? '' : `, expected: ${JSON.stringify(fuzzCase.expected)}`;
    const reproducer = `  // ${note}\n  // ${why.split('\n')[0]}\n  { input: ${literal(minimized)}${expected} },`;
    const shortMessage = message.length > 2000 ? message.slice(0, 2000) + '...' : message;
    return { seed, index, kind: fuzzCase.kind, steps: fuzzCase.steps, message: shortMessage, input: fuzzCase.input, minimized, reproducer };
  }
  return null;
}
