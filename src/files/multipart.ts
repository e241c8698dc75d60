// multipart/form-data (RFC 7578) read as it streams in: a state machine over
// byte strings split anywhere, boundaries included. It is a BodySink (give it
// to req.receive) and hands each part's bytes on as they come, so no part is
// ever held whole; only the headers of a part and the few bytes that may be
// the start of a boundary wait in its buffer. Delimiters are found with
// indexOf, never char by char.
import { BodySink } from '../http/body';
import { httpError } from '../http/errors';
import { indexOfWhole } from '../platform/text';

/** One part, as its headers describe it. */
export interface PartInfo {
  /** The form field's name. */
  name: string;
  /** The file's name for a file part, else null (a plain field). */
  filename: string | null;
  /** Its Content-Type ("text/plain" when it has none). */
  contentType: string;
}

/** Where the parts go, in order: begin, its data (zero or more pieces), end; abort if the body fails. */
export interface PartReceiver {
  partBegins(part: PartInfo): void;
  partData(bytes: string): void;
  partEnds(): void;
  /** The body ended (the closing boundary arrived and end() was called). */
  bodyEnds(): void;
  abort(reason: string): void;
}

export interface MultipartLimits {
  /** Largest part in bytes (413 above it). */
  maxPartSize: number;
  /** Most parts in one body (413 above it). Default 16. */
  maxParts?: number;
}

const PREAMBLE = 0;
const AFTER_DELIMITER = 1;
const PART_HEADERS = 2;
const PART_DATA = 3;
const EPILOGUE = 4;

/** A part's header section is small; anything longer is refused. */
const MAX_PART_HEADER_BYTES = 1024;
const BOUNDARY = /^[0-9A-Za-z'()+_,.\/:=? -]+$/;

/** The boundary of a multipart/form-data Content-Type, or null when there is none or it is malformed. */
export function multipartBoundary(contentType: string | undefined): string | null {
  if (!contentType || contentType.toLowerCase().indexOf('multipart/form-data') !== 0) return null;
  const at = contentType.toLowerCase().indexOf('boundary=');
  if (at < 0) return null;
  let boundary = contentType.substring(at + 9);
  const semicolon = boundary.indexOf(';');
  if (semicolon >= 0) boundary = boundary.substring(0, semicolon);
  boundary = boundary.trim();
  if (boundary.charAt(0) === '"' && boundary.charAt(boundary.length - 1) === '"') boundary = boundary.substring(1, boundary.length - 1);
  // RFC 2046 §5.1.1: 1 to 70 characters, not ending in a space.
  return boundary.length <= 70 && BOUNDARY.test(boundary) && boundary.charAt(boundary.length - 1) !== ' ' ? boundary : null;
}

/** A parameter of a Content-Disposition value (name="x", filename="y"), or null. */
function dispositionParameter(value: string, parameter: string): string | null {
  const lower = value.toLowerCase();
  let at = lower.indexOf(';');
  while (at >= 0) {
    let start = at + 1;
    while (value.charAt(start) === ' ' || value.charAt(start) === '\t') start++;
    if (lower.substr(start, parameter.length + 1) === parameter + '=') {
      start += parameter.length + 1;
      if (value.charAt(start) !== '"') {
        const end = value.indexOf(';', start);
        return (end < 0 ? value.substring(start) : value.substring(start, end)).trim();
      }
      // A quoted-string: browsers write a '"' in a name as %22 and keep backslashes, so none is unescaped here.
      const close = value.indexOf('"', start + 1);
      return close < 0 ? null : value.substring(start + 1, close);
    }
    at = lower.indexOf(';', start);
  }
  return null;
}

/** The part a header section describes; throws a 400 for a section that does not name its field. */
function partInfo(section: string): PartInfo {
  const lines = section.split('\r\n');
  let disposition: string | null = null;
  let contentType = 'text/plain';
  for (let i = 0; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    if (colon <= 0) throw httpError(400, 'Malformed multipart header line');
    const name = lines[i].substring(0, colon).trim().toLowerCase();
    const value = lines[i].substring(colon + 1).trim();
    if (name === 'content-disposition') disposition = value;
    else if (name === 'content-type') contentType = value;
  }
  if (disposition === null || disposition.toLowerCase().indexOf('form-data') !== 0) throw httpError(400, 'A multipart part without Content-Disposition: form-data');
  const field = dispositionParameter(disposition, 'name');
  if (field === null) throw httpError(400, 'A multipart part without a name');
  return { name: field, filename: dispositionParameter(disposition, 'filename'), contentType: contentType };
}

export class MultipartParser implements BodySink {
  private buffer = '\r\n';
  private state = PREAMBLE;
  private delimiter: string;
  private partSize = 0;
  private parts = 0;
  private maxParts: number;
  private received = 0;

  /** `boundary`: from multipartBoundary(req.headers['content-type']). */
  constructor(boundary: string, private receiver: PartReceiver, private limits: MultipartLimits) {
    // The body's first delimiter has no CRLF before it: the buffer starts with one, so every delimiter looks alike.
    this.delimiter = '\r\n--' + boundary;
    this.maxParts = limits.maxParts === undefined ? 16 : limits.maxParts;
  }

  /** Body bytes taken so far (what waits in the buffer is not). */
  get consumed(): number {
    return this.received - this.buffer.length;
  }

  write(chunk: string): void {
    this.received += chunk.length;
    this.buffer += chunk;
    // One loop over the states; each turn consumes from the buffer or returns for more.
    for (;;) {
      const buffer = this.buffer;
      const state = this.state;
      if (state === PART_DATA) {
        const at = indexOfWhole(buffer, this.delimiter);
        // Without a whole delimiter, everything but a tail that may start one is data.
        const end = at >= 0 ? at : this.safeLength(buffer);
        if (end > 0) this.data(buffer.substring(0, end));
        if (at < 0) {
          this.buffer = end ? buffer.substring(end) : buffer;
          return;
        }
        this.receiver.partEnds();
        this.buffer = buffer.substring(at + this.delimiter.length);
        this.state = AFTER_DELIMITER;
      } else if (state === PREAMBLE) {
        const at = indexOfWhole(buffer, this.delimiter);
        if (at < 0) {
          // The preamble is ignored; keep only what may start the delimiter.
          this.buffer = buffer.substring(this.safeLength(buffer));
          return;
        }
        this.buffer = buffer.substring(at + this.delimiter.length);
        this.state = AFTER_DELIMITER;
      } else if (state === AFTER_DELIMITER) {
        if (buffer.length < 2) return;
        const next = buffer.substring(0, 2);
        if (next === '--') {
          this.state = EPILOGUE;
          this.buffer = '';
          return;
        }
        if (next !== '\r\n') throw httpError(400, 'Malformed multipart boundary line');
        this.buffer = buffer.substring(2);
        this.state = PART_HEADERS;
      } else if (state === PART_HEADERS) {
        const end = indexOfWhole(buffer, '\r\n\r\n');
        if (end < 0 ? buffer.length > MAX_PART_HEADER_BYTES : end > MAX_PART_HEADER_BYTES) throw httpError(400, 'Multipart part headers too long');
        if (end < 0) return;
        if (++this.parts > this.maxParts) throw httpError(413, 'More than ' + this.maxParts + ' parts');
        const info = partInfo(buffer.substring(0, end));
        this.buffer = buffer.substring(end + 4);
        this.partSize = 0;
        this.state = PART_DATA;
        this.receiver.partBegins(info);
      } else {
        // After the closing delimiter: the epilogue is ignored.
        this.buffer = '';
        return;
      }
    }
  }

  end(): void {
    if (this.state !== EPILOGUE) throw httpError(400, 'The multipart body ended before its closing boundary');
    this.receiver.bodyEnds();
  }

  abort(reason: string): void {
    this.buffer = '';
    this.receiver.abort(reason);
  }

  /** How much of `buffer` cannot be the start of a delimiter: up to the first CR among its last bytes whose rest begins the delimiter. */
  private safeLength(buffer: string): number {
    const tail = buffer.length - this.delimiter.length + 1;
    let at = buffer.indexOf('\r', tail > 0 ? tail : 0);
    while (at >= 0 && this.delimiter.substring(0, buffer.length - at) !== buffer.substring(at)) at = buffer.indexOf('\r', at + 1);
    return at < 0 ? buffer.length : at;
  }

  private data(bytes: string): void {
    this.partSize += bytes.length;
    if (this.partSize > this.limits.maxPartSize) throw httpError(413, 'A part larger than ' + this.limits.maxPartSize + ' bytes');
    this.receiver.partData(bytes);
  }
}
