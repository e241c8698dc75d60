// Known Espruino traps: code that is valid ES5 but fails or silently misbehaves
// on Espruino 2v29. Each entry is data: an id, a severity ('error' fails the
// build, 'warning' is printed), what to do instead, and a matcher the gate
// (tools/gate.mjs) knows how to apply. test/build/traps.test.mjs has a test per trap.
import { readFileSync } from 'node:fs';

const missing = JSON.parse(readFileSync(new URL('./espruino-missing.json', import.meta.url), 'utf8'));

export const TRAPS = [
  // Regular expressions: Espruino has a tiny engine.
  { id: 'regex-slash-in-class', severity: 'error', kind: 'regex', pattern: /\[(?:[^\]\\]|\\.)*(?<!\\)\/(?:[^\]\\]|\\.)*\]/,
    message: 'an unescaped "/" inside a regex character class is a syntax error on Espruino: write \\/' },
  { id: 'regex-after-paren', severity: 'error', kind: 'regex-after-paren',
    message: 'a regex literal right after ")" (e.g. if(x)/re/.test(s)) is read as division on Espruino: wrap it or store the regex in a variable' },
  { id: 'regex-optional', severity: 'error', kind: 'regex', pattern: /(?:^|[^\\(])\?/, outsideClasses: true,
    message: 'the "?" quantifier (and lazy quantifiers) are silently wrong on Espruino\'s regex engine' },
  { id: 'regex-anchor-in-alternative', severity: 'error', kind: 'regex', pattern: /(?:^|[^\\])\^.*[^\\]\|/, outsideClasses: true,
    message: 'a "^" before a later "|" is wrong on Espruino: where the anchor fails, the alternatives after it are never tried (/^a|b/ does not find "b" in "xb")' },
  { id: 'regex-counted', severity: 'error', kind: 'regex', pattern: /(?:^|[^\\])\{\d*,?\d*\}/, outsideClasses: true,
    message: '{n,m} quantifiers are silently wrong on Espruino\'s regex engine' },
  { id: 'regex-group-syntax', severity: 'error', kind: 'regex', pattern: /(?:^|[^\\])\(\?/, outsideClasses: true,
    message: '(?:...), lookarounds and named groups are not supported by Espruino\'s regex engine' },
  { id: 'regex-quantified-group', severity: 'error', kind: 'regex', pattern: /(?:^|[^\\])\)[*+?{]/, outsideClasses: true,
    message: 'a quantified group ( (...)* ) is silently wrong on Espruino\'s regex engine' },
  { id: 'regex-word-boundary', severity: 'error', kind: 'regex', pattern: /(?:^|[^\\])(?:\\\\)*\\[bB]/, outsideClasses: true,
    message: '\\b and \\B are silently wrong on Espruino\'s regex engine' },
  { id: 'regex-range-across-ascii', severity: 'error', kind: 'regex-range', crosses: 0x80,
    message: 'a character class range from below \\x80 to \\x80 or above matches nothing on Espruino: split it ([\\x00-\\x7f\\x80-\\xff]) or negate an ASCII range ([^\\x21-\\x7e])' },
  { id: 'regex-flags', severity: 'error', kind: 'regex-flags', allowed: 'gi',
    message: 'only the regex flags g and i exist on Espruino' },

  // Checked on the lowered code before minifying: the minifier folds these into literals.
  { id: 'constant-high-char-code', severity: 'error', kind: 'constant-char-code', stage: 'before-minify',
    message: 'String.fromCharCode with constant codes >= 0x80 is folded into a literal by the minifier, which a byte-string device then reads as UTF-8 (two bytes a char): build the bytes at run time (atob, E.toString(new Uint8Array([...])))' },

  // Language features Espruino lacks even in ES5 syntax.
  { id: 'label', severity: 'error', kind: 'node', nodeType: 'LabeledStatement',
    message: 'labelled statements are not supported on Espruino' },
  { id: 'missing-global', severity: 'error', kind: 'global', names: missing.globals,
    message: 'Espruino has no global named this' },
  { id: 'missing-static', severity: 'error', kind: 'static', names: missing.statics,
    message: 'Espruino has no such built-in function' },
  { id: 'builtin-prototype-method', severity: 'error', kind: 'prototype-member',
    objects: ['Array', 'String', 'Object', 'Function', 'Number', 'Promise', 'Date', 'RegExp', 'Uint8Array', 'ArrayBuffer'],
    allowed: ['toString', 'hasOwnProperty'],
    message: 'built-in methods are undefined through X.prototype on Espruino: call them on an instance ([].slice.call(a))' },
  { id: 'object-create-descriptors', severity: 'error', kind: 'call-arity', callee: 'Object.create', minArgs: 2,
    message: 'Object.create(proto, descriptors) is not supported on Espruino ("propertiesObject is not supported yet")' },
  { id: 'clear-all-timers', severity: 'error', kind: 'call-arity', callee: ['clearTimeout', 'clearInterval'], maxArgs: 0,
    message: 'clearTimeout()/clearInterval() with no argument clears EVERY timer on Espruino' },

  // Works, but not as on Node: warnings.
  { id: 'missing-method', severity: 'warning', kind: 'method-call', names: missing.methods,
    message: 'Espruino has no such method on its built-in objects (fine if this is your own method)' },
  { id: 'split-limit', severity: 'warning', kind: 'method-arity', method: 'split', minArgs: 2,
    message: 'String.split ignores its limit argument on Espruino' },
  { id: 'math-pow', severity: 'warning', kind: 'static-call', names: ['Math.pow'],
    message: 'Math.pow is inexact for integer exponents >= 10 on Espruino' },
  { id: 'utc-string', severity: 'warning', kind: 'method-call', names: ['toUTCString'],
    message: 'Date.toUTCString is not an IMF-fixdate on Espruino (day not zero-padded)' },
  { id: 'uri-component', severity: 'warning', kind: 'global', names: ['encodeURIComponent', 'decodeURIComponent'],
    message: 'encode/decodeURIComponent are wrong or throw for non-ASCII text on Espruino' },
];
