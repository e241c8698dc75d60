// UTF-8 text on both kinds of Espruino build.
//
// On an ESP32 strings are raw bytes: text already is UTF-8 bytes, but
// JSON.stringify escapes every byte >= 0x80 as \u00XX (mojibake for a client)
// and JSON.parse keeps only the low byte of a \uXXXX escape. The 64-bit Linux
// build has Unicode strings: a string is binary unless it holds a character
// above 0xFF, and text must be converted to and from UTF-8 bytes at the socket.
// Everything above this file deals in "text" (what the interpreter calls a
// string) and "bytes" (a byte string as sockets deliver and accept).

/** True on builds with Unicode strings (Espruino's Linux build), false on a byte-string device. */
export const UNICODE = typeof E.isUTF8 === 'function' && E.isUTF8('\u20ac');

const NON_ASCII = /[^\x00-\x7f]/;
const HEX_PAIR = /^[0-9A-Fa-f][0-9A-Fa-f]$/;
const HEX_QUAD = /^[0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f]$/;
// A Unicode-flagged empty string: binary text joined to it becomes Unicode, char by char.
const UTF8_EMPTY = UNICODE ? E.asUTF8('') : '';

/**
 * Where `needle` first occurs in `text` from `from` on, or -1. Espruino 2v29's
 * indexOf also reports a needle that runs off the end of the text
 * ("abc".indexOf("cd") is 2); such a partial match is always the last
 * candidate, so rejecting it loses no whole match. Use this for every needle
 * longer than one character.
 */
export function indexOfWhole(text: string, needle: string, from = 0): number {
  const at = text.indexOf(needle, from);
  return at >= 0 && at + needle.length <= text.length ? at : -1;
}

/** Text to the UTF-8 bytes a socket should carry. */
export function encodeUtf8(text: string): string {
  if (!UNICODE || !NON_ASCII.test(text)) return text;
  return E.fromUTF8(E.isUTF8(text) ? text : UTF8_EMPTY + text);
}

/** UTF-8 bytes from a socket to text. Invalid sequences pass through as bytes. */
export function decodeUtf8(bytes: string): string {
  return UNICODE && NON_ASCII.test(bytes) ? E.asUTF8(bytes) : bytes;
}

/** The UTF-8 bytes of one code point. */
function codePointBytes(cp: number): string {
  const chr = String.fromCharCode;
  if (cp < 0x80) return chr(cp);
  if (cp < 0x800) return chr(0xc0 | (cp >> 6)) + chr(0x80 | (cp & 63));
  if (cp < 0x10000) return chr(0xe0 | (cp >> 12)) + chr(0x80 | ((cp >> 6) & 63)) + chr(0x80 | (cp & 63));
  return chr(0xf0 | (cp >> 18)) + chr(0x80 | ((cp >> 12) & 63)) + chr(0x80 | ((cp >> 6) & 63)) + chr(0x80 | (cp & 63));
}

/** True when the backslash at `index` starts an escape (it is not itself escaped). */
function isEscapeStart(json: string, index: number): boolean {
  let count = 0;
  while (index - count - 1 >= 0 && json.charAt(index - count - 1) === '\\') count++;
  return count % 2 === 0;
}

/** Byte build: JSON.stringify wrote bytes >= 0x80 as \u00XX; put the raw bytes back. */
function unescapeHighBytes(json: string): string {
  let out = '';
  let from = 0;
  let at = indexOfWhole(json, '\\u00');
  while (at >= 0) {
    const hex = json.substr(at + 4, 2);
    const code = parseInt(hex, 16);
    if (code >= 0x80 && HEX_PAIR.test(hex) && isEscapeStart(json, at)) {
      out += json.substring(from, at) + String.fromCharCode(code);
      from = at + 6;
    }
    at = indexOfWhole(json, '\\u00', at + 4);
  }
  return from ? out + json.substring(from) : json;
}

/** Byte build: turn \uXXXX escapes above 0x7F into UTF-8 bytes before JSON.parse drops their high byte. */
function escapesToUtf8(json: string): string {
  let out = '';
  let from = 0;
  // Espruino's own indexOf reports a backslash at the very end, whatever the
  // start index: a body ending in one looped here forever.
  let at = indexOfWhole(json, '\\u');
  while (at >= 0) {
    const hex = json.substr(at + 2, 4);
    let cp = HEX_QUAD.test(hex) ? parseInt(hex, 16) : 0;
    let end = at + 6;
    if (cp >= 0x80 && isEscapeStart(json, at)) {
      if (cp >= 0xd800 && cp < 0xdc00) {
        const low = json.substr(at + 8, 4);
        const lowCp = json.substr(at + 6, 2) === '\\u' && HEX_QUAD.test(low) ? parseInt(low, 16) : 0;
        if (lowCp >= 0xdc00 && lowCp < 0xe000) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lowCp - 0xdc00);
          end = at + 12;
        } else cp = 0xfffd;
      } else if (cp >= 0xdc00 && cp < 0xe000) cp = 0xfffd;
      out += json.substring(from, at) + codePointBytes(cp);
      from = end;
    }
    at = indexOfWhole(json, '\\u', Math.max(from, at + 2));
  }
  return from ? out + json.substring(from) : json;
}

/** True for an object or an array: the values that nest. */
function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

/** True for binary data (an ArrayBuffer or a typed array): JSON.stringify writes it as a flat list. */
function isBinary(value: any): boolean {
  return value instanceof ArrayBuffer || (typeof value.BYTES_PER_ELEMENT === 'number' && value.buffer instanceof ArrayBuffer);
}

/**
 * True for the common case that needs no walk: an object or array with no
 * toJSON whose members are all primitives (binary data counts as flat).
 * One native for-in, no arrays allocated: every Response.json pays for this.
 */
function flatJson(value: any): boolean {
  if (typeof value.toJSON === 'function') return false;
  // An object literal holds no bytes: only other kinds need that check.
  if (Object.getPrototypeOf(value) !== Object.prototype && isBinary(value)) return true;
  for (const key in value) {
    const member = value[key];
    if (typeof member === 'object' && member !== null) return false;
  }
  return true;
}

/**
 * True when `value` nests arrays and objects no deeper than `limit`, as
 * jsonNestingWithin is for JSON text; a cycle nests without end. Espruino's
 * JSON.stringify recurses in C: it writes " ... " (invalid JSON) for a cycle,
 * and where the stack runs low on a device, while the Linux build does not
 * check its stack at all. The walk keeps its own stack (a level of JavaScript
 * recursion costs the interpreter more C stack than a level of JSON) and runs
 * as little JavaScript per value as it can: every Response.json pays for it.
 */
export function jsonValueWithin(value: unknown, limit: number): boolean {
  // One function calling only natives (and toJSON): a handler's JSON is checked on top of the
  // handler's own stack, where each nested JavaScript call would take C stack.
  let root: any = value;
  if (isObject(root) && typeof root.toJSON === 'function') root = root.toJSON('');
  // Containers still to look into, and the depth of each (the root's is 1).
  const pending: any[] = isObject(root) ? [root] : [];
  const depths: number[] = [1];
  while (pending.length) {
    const container: any = pending.pop();
    const depth = depths.pop() as number;
    // Only objects nest: filter skips an array's other values natively (indexing would search the array each time).
    const isArray = Array.isArray(container);
    const members: any[] = isArray ? container.filter(isObject) : Object.keys(container);
    for (let i = 0; i < members.length; i++) {
      let item = isArray ? members[i] : container[members[i]];
      if (typeof item !== 'object' || item === null) continue;
      if (typeof item.toJSON === 'function') {
        item = item.toJSON(isArray ? String(container.indexOf(item)) : members[i]);
        if (typeof item !== 'object' || item === null) continue;
      }
      // Binary data is written as a flat list of numbers.
      if (item instanceof ArrayBuffer || (typeof item.BYTES_PER_ELEMENT === 'number' && item.buffer instanceof ArrayBuffer)) continue;
      if (depth >= limit) return false;
      pending.push(item);
      depths.push(depth + 1);
    }
  }
  return true;
}

/**
 * JSON text of a value, as UTF-8 bytes ready for a socket. Throws an Error
 * when the value nests deeper than `maxDepth` or is circular (see jsonValueWithin).
 */
export function jsonStringify(value: unknown, maxDepth: number): string {
  // The common flat object is checked here, a call less deep (and less C stack) than the walk.
  const flat = typeof value !== 'object' || value === null || flatJson(value);
  if (!flat && !jsonValueWithin(value, maxDepth)) throw new Error('JSON data nested deeper than ' + maxDepth + ' levels, or circular');
  const json = JSON.stringify(value);
  if (json === undefined) return 'null';
  if (UNICODE) return encodeUtf8(json);
  return indexOfWhole(json, '\\u00') < 0 ? json : unescapeHighBytes(json);
}

// For the nesting depth of JSON text: escapes, then strings, go first (they may
// hold brackets); then each pass takes out the innermost brackets, native all through.
const JSON_ESCAPE = /\\./g;
const JSON_STRING = /"[^"]*"/g;
const INNERMOST_BRACKETS = /\{[^{}\[\]]*\}|\[[^{}\[\]]*\]/g;
const OPENING_BRACKET = /[\[{]/;

/** At most `limit + 1` opening brackets counted with indexOf: few means shallow, whatever the order. */
function fewOpeners(text: string, limit: number): boolean {
  let count = 0;
  let at = text.indexOf('[');
  while (at >= 0 && count <= limit) {
    count++;
    at = text.indexOf('[', at + 1);
  }
  at = text.indexOf('{');
  while (at >= 0 && count <= limit) {
    count++;
    at = text.indexOf('{', at + 1);
  }
  return count <= limit;
}

/**
 * True when JSON text nests no deeper than `limit`. Espruino's JSON.parse and
 * the freeing of its result recurse in C with no stack check: on an ESP32's
 * 25 KB stack about 60 levels crash the interpreter, so depth is checked first.
 * Pass n removes the brackets n levels from the innermost, so brackets left
 * after `limit` passes nest deeper; brackets no pass can remove do not pair
 * up (not JSON either). A regex replace per pass costs far less on Espruino
 * than JavaScript per bracket (1 KB: about 1 ms instead of 10).
 */
export function jsonNestingWithin(text: string, limit: number): boolean {
  if (fewOpeners(text, limit)) return true;
  let structure = (text.indexOf('\\') < 0 ? text : text.replace(JSON_ESCAPE, '')).replace(JSON_STRING, '');
  for (let level = 0; OPENING_BRACKET.test(structure); level++) {
    if (level === limit) return false;
    const inner = structure.replace(INNERMOST_BRACKETS, '');
    if (inner.length === structure.length) return false;
    structure = inner;
  }
  return true;
}

const QUOTE_OR_BACKSLASH = /["\\]/g;

/**
 * True when every character above ASCII is inside a JSON string. Outside its
 * strings, Espruino's JSON.parse reads them as its pretokenised tokens (0xB4
 * is true, 0xD2 a string whose length follows): 0xD2 and then any byte above
 * ASCII failed an assert and the interpreter exited. Valid JSON has none there.
 */
function nonAsciiOnlyInStrings(text: string): boolean {
  if (!NON_ASCII.test(text)) return true;
  let inString = false;
  let from = 0;
  QUOTE_OR_BACKSLASH.lastIndex = 0;
  for (let match = QUOTE_OR_BACKSLASH.exec(text); match; match = QUOTE_OR_BACKSLASH.exec(text)) {
    if (match[0] === '\\') {
      if (inString) QUOTE_OR_BACKSLASH.lastIndex = match.index + 2; // an escaped quote does not end the string
      continue;
    }
    if (!inString && NON_ASCII.test(text.substring(from, match.index))) return false;
    inString = !inString;
    from = match.index + 1;
  }
  return inString || !NON_ASCII.test(text.substring(from));
}

/**
 * JSON.parse that refuses input nested deeper than `maxDepth` (see
 * jsonNestingWithin) or with characters above ASCII outside its strings (see
 * nonAsciiOnlyInStrings), with the same error type.
 */
export function safeJsonParse(text: string, maxDepth: number): unknown {
  if (!nonAsciiOnlyInStrings(text)) throw new SyntaxError('A character above ASCII outside a JSON string');
  if (!jsonNestingWithin(text, maxDepth)) throw new SyntaxError('JSON nested deeper than ' + maxDepth + ' levels');
  return JSON.parse(text);
}

/** Parses UTF-8 JSON bytes (nesting at most `maxDepth`); throws on invalid JSON like JSON.parse. */
export function jsonParse(bytes: string, maxDepth: number): unknown {
  if (UNICODE) return safeJsonParse(decodeUtf8(bytes), maxDepth);
  return safeJsonParse(indexOfWhole(bytes, '\\u') < 0 ? bytes : escapesToUtf8(bytes), maxDepth);
}
