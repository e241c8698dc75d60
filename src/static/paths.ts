// Request paths to file names, and Range headers. Every check here is about
// what the path could reach, so anything ambiguous is refused.
import { decodeComponent } from '../http/url';

/** Encoded separators and NUL: never part of a file name. */
const BAD_ESCAPE = /%2f|%5c|%00/i;
const BYTE_RANGE = /^bytes=([0-9]*)-([0-9]*)$/;

/**
 * The file a mounted path names, relative to the mount's root, or null to
 * refuse it (403): "..", "." and empty segments in any spelling, backslashes,
 * NUL, encoded separators. A directory path ("", "css/") names its index.html.
 */
export function staticPath(rest: string): string | null {
  if (BAD_ESCAPE.test(rest) || rest.indexOf('\\') >= 0) return null;
  let path;
  try {
    path = decodeComponent(rest, false);
  } catch (e) {
    return null;
  }
  if (path.indexOf('\\') >= 0 || path.indexOf('\x00') >= 0) return null;
  const segments = path.split('/');
  const last = segments.length - 1;
  for (let i = 0; i <= last; i++) {
    const segment = segments[i];
    if (segment === '.' || segment === '..' || (segment === '' && i < last)) return null;
  }
  return segments[last] === '' ? path + 'index.html' : path;
}

/** parseRange's answer when no range of the file can be served (416). */
export const UNSATISFIABLE = -1;

/**
 * One "bytes=a-b" range of a file of `size` bytes as [first, last]; null to
 * serve the whole file (no header, a malformed one, several ranges); or
 * UNSATISFIABLE.
 */
export function parseRange(header: string | undefined, size: number): number[] | null | typeof UNSATISFIABLE {
  if (header === undefined) return null;
  const match = BYTE_RANGE.exec(header.trim());
  if (!match || (!match[1] && !match[2])) return null;
  if (!match[1]) {
    const suffix = parseInt(match[2], 10);
    return suffix > 0 && size > 0 ? [Math.max(0, size - suffix), size - 1] : UNSATISFIABLE;
  }
  const first = parseInt(match[1], 10);
  const last = match[2] ? parseInt(match[2], 10) : size - 1;
  if (match[2] && last < first) return null;
  return first < size ? [first, Math.min(last, size - 1)] : UNSATISFIABLE;
}
