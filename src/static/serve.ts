// Serving one file: variant (gzip or not), validators (ETag, Last-Modified),
// conditional requests, ranges, and a body streamed a piece per socket drain.
// Plain functions: a request's steps must not nest method calls on one object.
import { Request } from '../http/request';
import { Response } from '../http/response';
import { Puller } from '../http/stream';
import { imfFixdate } from '../platform/clock';
import { FileBackend, FileReader, FileStat, FS_BACKEND, STORAGE_BACKEND } from '../platform/storage';
import { contentTypeFor } from './mime';
import { CRC32_START, crc32Update, crc32Finish } from './crc32';
import { parseRange, UNSATISFIABLE } from './paths';
import { hasHeaderToken } from '../http/tokens';

/** Options of sendFile and mountStatic. */
export interface FileOptions {
  /** Read from require('fs') (the name is a path) instead of Storage. */
  fs?: boolean;
  /** Seconds for Cache-Control: max-age (default 3600). */
  maxAge?: number;
  /** Instead of the type from the file's extension. */
  contentType?: string;
}

/** Bytes read per piece: a body is never held whole in RAM. */
export const FILE_CHUNK = 512;
export const DEFAULT_MAX_AGE = 3600;
const ETAG_CACHE_SIZE = 16;

/** ETags by name, size and time: computing one reads the whole file. The oldest entry goes first. */
let etagCache: string[] = [];

function etagFor(backend: FileBackend, name: string, stat: FileStat): string {
  const key = name + '\x00' + stat.size + '\x00' + stat.mtime + '\x00';
  for (let i = 0; i < etagCache.length; i++) if (etagCache[i].indexOf(key) === 0) return etagCache[i].substring(key.length);
  let crc = backend.crc32(name);
  if (crc === undefined) {
    let sum = CRC32_START;
    const reader = backend.open(name, 0);
    for (let at = 0; at < stat.size; at += FILE_CHUNK) sum = crc32Update(sum, reader.read(FILE_CHUNK) || '');
    reader.close();
    crc = crc32Finish(sum);
  }
  const etag = '"' + crc.toString(16) + '-' + stat.size.toString(16) + '"';
  etagCache.push(key + etag);
  if (etagCache.length > ETAG_CACHE_SIZE) etagCache = etagCache.slice(1);
  return etag;
}

/** If-None-Match: "*" or any listed tag (weak comparison); else If-Modified-Since naming the same second. */
function notModified(req: Request, etag: string, lastModified: string): boolean {
  const tags = req.headers['if-none-match'];
  if (tags !== undefined) {
    const list = tags.split(',');
    for (let i = 0; i < list.length; i++) {
      const tag = list[i].trim();
      if (tag === '*' || tag === etag || tag === 'W/' + etag) return true;
    }
    return false;
  }
  return !!lastModified && req.headers['if-modified-since'] === lastModified;
}

/** Pulls `length` bytes from `offset`, opening the file on the first pull (a HEAD never opens it). */
function filePuller(backend: FileBackend, name: string, offset: number, length: number): Puller {
  let reader: FileReader | null = null;
  let left = length;
  const stop = () => {
    left = 0;
    if (reader) reader.close();
    reader = null;
  };
  return {
    next: () => {
      if (left <= 0) {
        stop();
        return undefined;
      }
      if (!reader) reader = backend.open(name, offset);
      const piece = reader.read(Math.min(FILE_CHUNK, left));
      if (!piece) stop();
      else left -= piece.length;
      return piece || undefined;
    },
    cancel: stop,
  };
}

/**
 * The response for file `name` (a Storage name, or a path with options.fs) to
 * `req`: 200, 206, 304, 404, 406 or 416. Streamed in small pieces with
 * Content-Length, ETag, Cache-Control, ranges, conditional requests and a
 * pre-compressed `name.gz` when the client takes gzip.
 */
export function sendFile(req: Request, name: string, options: FileOptions = {}): Response {
  const backend = options.fs ? FS_BACKEND : STORAGE_BACKEND;
  const plain = backend.stat(name);
  const gzip = backend.stat(name + '.gz');
  // No Accept-Encoding at all means any coding will do (RFC 9110 §12.5.3): a
  // file stored only gzipped (as npm run flash stores most) is still sent.
  const acceptEncoding = req.headers['accept-encoding'];
  const acceptsGzip = acceptEncoding === undefined ? !plain : hasHeaderToken(acceptEncoding, 'gzip') || hasHeaderToken(acceptEncoding, '*');
  if (!plain && !gzip) return Response.error('Not Found', 404);
  if (!plain && !acceptsGzip) return Response.error('Only a gzip-compressed version of this file exists, and Accept-Encoding refuses gzip', 406);
  const served = gzip && acceptsGzip ? name + '.gz' : name;
  const stat = (served === name ? plain : gzip) as FileStat;
  const etag = etagFor(backend, served, stat);
  const lastModified = stat.mtime ? imfFixdate(stat.mtime) : '';
  const res = new Response(null, 200, options.contentType || contentTypeFor(name));
  res.head = 'ETag: ' + etag + '\r\nCache-Control: max-age=' + (options.maxAge === undefined ? DEFAULT_MAX_AGE : options.maxAge) + '\r\n';
  if (lastModified) res.head += 'Last-Modified: ' + lastModified + '\r\n';
  if (gzip) res.head += 'Vary: Accept-Encoding\r\n';
  if (notModified(req, etag, lastModified)) {
    res.status = 304;
    return res;
  }
  if (served !== name) res.head += 'Content-Encoding: gzip\r\n';
  res.head += 'Accept-Ranges: bytes\r\n';
  const range = parseRange(req.headers.range, stat.size);
  if (range === UNSATISFIABLE) return Response.error('Range Not Satisfiable', 416).addHeader('Content-Range', 'bytes */' + stat.size);
  let offset = 0;
  let length = stat.size;
  if (range) {
    const bounds = range as number[];
    offset = bounds[0];
    length = bounds[1] - bounds[0] + 1;
    res.status = 206;
    res.head += 'Content-Range: bytes ' + bounds[0] + '-' + bounds[1] + '/' + stat.size + '\r\n';
  }
  res.stream = filePuller(backend, served, offset, length);
  res.length = length;
  return res;
}
