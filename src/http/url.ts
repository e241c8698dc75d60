// Percent-decoding and query strings. Espruino's decodeURIComponent throws or
// garbles anything outside ASCII, so decoding is done here: %XX to bytes,
// then bytes to text as UTF-8.
import { decodeUtf8 } from '../platform/text';
import { httpError } from './errors';
import { LIMITS } from '../settings';

const HEX_PAIR = /^[0-9A-Fa-f][0-9A-Fa-f]/;

/** Decodes %XX sequences (and '+' as a space when asked). Throws a 400 HttpError on a bad sequence. */
export function decodeComponent(raw: string, plusAsSpace: boolean): string {
  if (plusAsSpace && raw.indexOf('+') >= 0) raw = raw.split('+').join(' ');
  if (raw.indexOf('%') < 0) return decodeUtf8(raw);
  const parts = raw.split('%');
  let bytes = parts[0];
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i];
    if (!HEX_PAIR.test(part)) throw httpError(400, 'Bad percent-encoding in URL');
    bytes += String.fromCharCode(parseInt(part.substr(0, 2), 16)) + part.substring(2);
  }
  return decodeUtf8(bytes);
}

export interface QueryParams {
  [key: string]: string | string[];
}

/**
 * Parses "a=1&b=x+y&a=2": '+' is a space, repeated keys become arrays in order.
 * More than LIMITS.maxQueryParams parameters throw a 400 HttpError. Pairs are
 * cut out with indexOf rather than split, so a run of empty pairs ("&&&...")
 * allocates nothing.
 */
export function parseQuery(query: string): QueryParams {
  const params: QueryParams = {};
  let count = 0;
  for (let from = 0; from < query.length; ) {
    let end = query.indexOf('&', from);
    if (end < 0) end = query.length;
    if (end > from) {
      if (++count > LIMITS.maxQueryParams) throw httpError(400, 'More than ' + LIMITS.maxQueryParams + ' query parameters');
      addPair(params, query.substring(from, end));
    }
    from = end + 1;
  }
  return params;
}

/** Adds one "key=value" pair; a key seen before makes an array. */
function addPair(params: QueryParams, pair: string): void {
  const eq = pair.indexOf('=');
  const key = decodeComponent(eq < 0 ? pair : pair.substring(0, eq), true);
  // Assigning "__proto__" would replace the object's prototype instead of adding a key.
  if (key === '__proto__') throw httpError(400, 'Query parameter name __proto__ is not allowed');
  const value = eq < 0 ? '' : decodeComponent(pair.substring(eq + 1), true);
  const existing = params[key];
  if (!Object.prototype.hasOwnProperty.call(params, key)) params[key] = value;
  else if (typeof existing === 'string') params[key] = [existing, value];
  else existing.push(value);
}
