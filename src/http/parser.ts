// Incremental HTTP/1.1 request parser (RFC 9112).
//
// A state machine over byte strings split anywhere: feed() appends what the
// socket delivered, next() consumes as much as it can and says NEED_MORE,
// MESSAGE (a request is in `message`) or ERROR (`errorStatus`, `errorMessage`).
// It never touches the socket. Lines are found with indexOf, never char by char.
// Every byte that proves a request malformed is refused when it arrives, not
// when its line ends: an unfinished line is judged by the same checks, in the
// order of its bytes, so the status never depends on where the input was split.
import { LIMITS } from '../settings';
import { indexOfWhole } from '../platform/text';
import { defaultsOnPrototype } from '../platform/memory';

export const NEED_MORE = 0;
export const MESSAGE = 1;
export const ERROR = 2;
/** A piece of a streamed body is in `chunk` (only after a route asked for its body streamed). */
export const BODY_CHUNK = 3;

const REQUEST_LINE = 0;
const HEADERS = 1;
const BODY = 2;
const CHUNK_SIZE = 3;
const CHUNK_DATA = 4;
const CHUNK_END = 5;
const TRAILERS = 6;

// RFC 9110 §5.6.2 token characters.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Control characters other than tab are not allowed in a field value (RFC 9110 §5.5).
const BAD_VALUE_CHAR = /[\x00-\x08\x0a-\x1f\x7f]/;
// A request target holds only visible ASCII (RFC 3986: controls, space, DEL
// and raw bytes above ASCII must be percent-encoded).
const BAD_TARGET_CHAR = /[^\x21-\x7e]/;
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const DIGITS = /^[0-9]+$/;
const HEX = /^[0-9A-Fa-f]+$/;
// The digits a malformed number starts with (a well-formed one passes the two above).
const LEADING_DIGITS = /^[0-9]*/;
const LEADING_HEX = /^[0-9A-Fa-f]*/;
const VERSION = /^HTTP\/[0-9]\.[0-9]$/;
const HEX_PAIR = /^[0-9A-Fa-f][0-9A-Fa-f]$/;
// The plain shapes the whole-head path takes in one regex each (the rest goes
// line by line). Every quantified part is followed by a character it excludes,
// so Espruino's backtracking matcher stays linear in the line's length.
const PLAIN_REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/1\.([01])$/;
// A field line written the usual way: one space after the colon, then a value that starts with no more.
const PLAIN_FIELD_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+): ([^\x00-\x20\x7f][^\x00-\x08\x0a-\x1f\x7f]*)$/;

export interface Headers {
  [name: string]: string;
}

/** What the parser hands over for each request. */
export interface ParsedMessage {
  method: string;
  target: string;
  /** 10 for HTTP/1.0, 11 for HTTP/1.1. */
  version: number;
  headers: Headers;
  body: string | null;
}

function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

function validPercentEncoding(target: string): boolean {
  let at = target.indexOf('%');
  while (at >= 0) {
    if (!HEX_PAIR.test(target.substr(at + 1, 2))) return false;
    at = target.indexOf('%', at + 3);
  }
  return true;
}

/** Digits without leading zeros: a length of "0005" is 5, not an overflow. */
function significantDigits(digits: string): number {
  let zeros = 0;
  while (zeros < digits.length - 1 && digits.charAt(zeros) === '0') zeros++;
  return digits.length - zeros;
}

/** Index just past the token starting at `from` (== from when there is none). */
function tokenEnd(text: string, from: number): number {
  while (from < text.length && TOKEN_CHAR.test(text.charAt(from))) from++;
  return from;
}

/**
 * RFC 9112 §7.1.1 chunk-ext: *( ";" token [ "=" ( token / quoted-string ) ] ), no whitespace.
 * `partial`: the line has not ended, so running out of text is no fault.
 */
function validChunkExtensions(extensions: string, partial: boolean): boolean {
  const length = extensions.length;
  let at = 0;
  while (at < length) {
    if (extensions.charAt(at) !== ';') return false;
    const nameEnd = tokenEnd(extensions, at + 1);
    if (nameEnd === at + 1) return partial && nameEnd === length;
    at = nameEnd;
    if (extensions.charAt(at) !== '=') continue;
    at++;
    if (extensions.charAt(at) === '"') {
      at++;
      while (at < length && extensions.charAt(at) !== '"') at += extensions.charAt(at) === '\\' ? 2 : 1;
      if (at >= length) return partial;
      at++;
    } else {
      const valueEnd = tokenEnd(extensions, at);
      if (valueEnd === at) return partial && valueEnd === length;
      at = valueEnd;
    }
  }
  return true;
}

/**
 * The longest next field line: maxHeaderLine, or what is left of maxHeaderBytes
 * (its CRLF included) when that is less, so a header section too large fails
 * before the rest of its line arrives. 0 still lets the empty line through.
 */
function fieldLineLimit(headerBytes: number): number {
  const room = LIMITS.maxHeaderBytes - headerBytes - 2;
  return room >= LIMITS.maxHeaderLine ? LIMITS.maxHeaderLine : room > 0 ? room : 0;
}

/** Strips optional whitespace (spaces and tabs only) around a field value. */
function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charAt(start) === ' ' || value.charAt(start) === '\t')) start++;
  while (end > start && (value.charAt(end - 1) === ' ' || value.charAt(end - 1) === '\t')) end--;
  return start === 0 && end === value.length ? value : value.substring(start, end);
}

/** What a route says about its request bodies (see MicroServer.route). */
export interface BodyOptions {
  /** Hand the body to the handler in pieces as it arrives (req.receive), never whole. */
  streamBody?: boolean;
  /** This route's largest body in bytes (413 above it), instead of the app's maxBodySize. */
  maxBodySize?: number;
}

/** What the parser asks of the server. */
export interface ParserHost {
  maxBodySize: number;
  /** The largest maxBodySize a route sets (0: none): a Content-Length is refused early only above both. */
  largestRouteBody: number;
  /** True once a route has body options: only then is a request with a body looked up. */
  hasBodyOptions: boolean;
  /** The body options of the route a request goes to, or null. */
  bodyOptionsFor(method: string, target: string): BodyOptions | null;
  isKnownMethod(method: string): boolean;
}

export class RequestParser {
  // Every field starts on the prototype (set below): a new parser, made for
  // each request that arrives on an idle connection, holds only its host.
  /** Set by next() when it returns MESSAGE. */
  declare message: ParsedMessage | null;
  declare errorStatus: number;
  declare errorMessage: string;
  /** True once the headers asked for "Expect: 100-continue"; the connection answers and clears it. */
  declare expectsContinue: boolean;
  /**
   * True from a streamed request's MESSAGE (returned when its headers are in)
   * until its body ends: next() then gives BODY_CHUNK with the bytes in `chunk`,
   * and MESSAGE again once the body is complete.
   */
  declare streaming: boolean;
  declare chunk: string;

  declare private buffer: string;
  declare private state: number;
  declare private current: ParsedMessage | null;
  declare private headerCount: number;
  /** Bytes of the field lines so far, CRLFs included (trailers count too). */
  declare private headerBytes: number;
  declare private remaining: number;
  declare private bodySize: number;
  /** The current request's body limit: the app's, or its route's. */
  declare private bodyLimit: number;

  constructor(private host: ParserHost) {}

  feed(data: string): void {
    this.buffer += data;
  }

  /** Bytes received and not yet consumed. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Hands over the bytes received after the last request (a protocol switch takes them). */
  takeBuffered(): string {
    const rest = this.buffer;
    this.buffer = '';
    return rest;
  }

  /** True while part of a request has arrived (the request timer runs). */
  get inMessage(): boolean {
    return this.state !== REQUEST_LINE || this.buffer.length > 0;
  }

  next(): number {
    if (this.state === REQUEST_LINE) {
      const result = this.wholeHead();
      if (result !== -1) return result;
    }
    for (;;) {
      let result: number;
      switch (this.state) {
        case REQUEST_LINE: result = this.requestLine(); break;
        case HEADERS: result = this.headerLine(); break;
        case BODY: result = this.fixedBody(); break;
        case CHUNK_SIZE: result = this.chunkSize(); break;
        case CHUNK_DATA: result = this.chunkData(); break;
        case CHUNK_END: result = this.chunkEnd(); break;
        default: result = this.trailerLine();
      }
      if (result !== -1) return result;
    }
  }

  /**
   * The common case in one pass: a whole head of plain lines (each field named
   * once and written "Name: value", nothing to refuse), split at once and
   * checked a regex per line. A head still arriving, too large or unusual in
   * any way (an empty value, a tab after the colon) is left to the
   * line-by-line states, which also word the errors. -1 when not taken.
   */
  private wholeHead(): number {
    const buffer = this.buffer;
    const end = indexOfWhole(buffer, '\r\n\r\n');
    if (end <= 0 || end > LIMITS.maxHeaderLine) return -1;
    const lines = buffer.substring(0, end).split('\r\n');
    if (lines.length > LIMITS.maxHeaders + 1) return -1;
    const start = PLAIN_REQUEST_LINE.exec(lines[0]);
    if (!start) return -1;
    const target = start[2];
    if (target.indexOf('%') >= 0 && !validPercentEncoding(target)) return -1;
    if (!this.host.isKnownMethod(start[1])) return this.fail(501, 'Method ' + start[1] + ' not implemented');
    const headers: Headers = {};
    for (let i = 1; i < lines.length; i++) {
      const field = PLAIN_FIELD_LINE.exec(lines[i]);
      if (!field) return -1;
      const name = field[1].toLowerCase();
      // Also true for names Object.prototype has ("__proto__", "constructor"): the careful path takes those.
      if (headers[name] !== undefined) return -1;
      const value = field[2];
      // Only a space or a tab can end it at or below 32 (the regex let no other control character through).
      headers[name] = value.charCodeAt(value.length - 1) <= 32 ? trimOws(value) : value;
    }
    this.buffer = buffer.length === end + 4 ? '' : buffer.substring(end + 4);
    const message = { method: start[1], target: target, version: start[3] === '1' ? 11 : 10, headers: headers, body: null };
    if (this.expectsContinue) this.expectsContinue = false;
    // No body and nothing to check: done. Otherwise headersDone decides, as for the line-by-line path.
    if (headers.host !== undefined && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined && headers.expect === undefined) {
      this.message = message;
      return MESSAGE;
    }
    this.current = message;
    this.headerCount = lines.length - 1;
    this.headerBytes = end - lines[0].length;
    return this.headersDone(message);
  }

  private fail(status: number, message: string): number {
    this.errorStatus = status;
    this.errorMessage = message;
    // Nothing is in progress after an error, however far the request had come.
    this.buffer = '';
    this.state = REQUEST_LINE;
    this.streaming = false;
    return ERROR;
  }

  private complete(): number {
    this.message = this.current;
    this.current = null;
    this.state = REQUEST_LINE;
    if (this.streaming) this.streaming = false;
    return MESSAGE;
  }

  /**
   * Takes one CRLF-terminated line off the buffer, or returns null when it has
   * not all arrived. Returns undefined after failing: what has come of the line
   * is judged first by its state's checks (requestLineFails, addField,
   * chunkSizeFails), in the order of its bytes, then a bare CR or LF, then the
   * length. So a line is refused as soon as its bytes prove it malformed, with
   * the status it gets whole, however the input was split.
   */
  private takeLine(limit: number, tooLongStatus: number, what: string): string | null | undefined {
    const buffer = this.buffer;
    const lf = buffer.indexOf('\n');
    if (lf > 0 && lf <= limit + 1 && buffer.charAt(lf - 1) === '\r') {
      const line = buffer.substring(0, lf - 1);
      if (line.indexOf('\r') < 0) {
        this.buffer = buffer.substring(lf + 1);
        return line;
      }
    }
    // Unfinished, too long or badly ended. A line longer than the limit is
    // judged by the bytes a split input would have been judged by before its 414/431.
    const tooLong = lf < 0 ? buffer.length > limit + 1 : lf > limit + 1;
    const end = tooLong ? limit + 1 : lf < 0 ? buffer.length : lf;
    const cr = buffer.indexOf('\r');
    const seen = cr >= 0 && cr < end ? buffer.substring(0, cr) : buffer.substring(0, end);
    // Dispatched here rather than by one more method: seven nested method calls on one object leak it on Espruino (see connection.ts).
    const state = this.state;
    if (state === REQUEST_LINE ? this.requestLineFails(seen, true) : state === CHUNK_SIZE ? this.chunkSizeFails(seen, true) : this.addField(null, seen)) return undefined;
    // A CR as the last byte so far may still be followed by its LF.
    if (cr >= 0 && cr < end - 1) {
      this.fail(400, 'Bare CR (not followed by LF) in ' + what.toLowerCase());
      return undefined;
    }
    if (tooLong) {
      this.fail(tooLongStatus, what + ' too long');
      return undefined;
    }
    if (lf < 0) return null;
    this.fail(400, 'Line not terminated by CRLF');
    return undefined;
  }

  /**
   * The request line's checks, in the order of its bytes: method, target,
   * version. ERROR after failing, else 0. Partial, it passes what may still
   * become valid ("GET / HT"); whole, it needs all three parts.
   */
  private requestLineFails(line: string, partial: boolean): number {
    const firstSpace = line.indexOf(' ');
    if (firstSpace === 0) return this.fail(400, 'Malformed request line: whitespace before the method');
    if (line && !TOKEN.test(firstSpace < 0 ? line : line.substring(0, firstSpace))) return this.fail(400, 'Malformed method');
    if (firstSpace < 0) return partial ? 0 : this.fail(400, 'Malformed request line');
    const secondSpace = line.indexOf(' ', firstSpace + 1);
    const target = secondSpace < 0 ? line.substring(firstSpace + 1) : line.substring(firstSpace + 1, secondSpace);
    if (BAD_TARGET_CHAR.test(target)) return this.fail(400, 'Malformed request target');
    if (secondSpace < 0) return partial ? 0 : this.fail(400, 'Malformed request line');
    if (!target) return this.fail(400, 'Malformed request target');
    if (!validPercentEncoding(target)) return this.fail(400, 'Bad percent-encoding in URL');
    const version = line.substring(secondSpace + 1);
    const length = version.length;
    // A version cut short is completed with "HTTP/0.0"'s last characters, so
    // one regex tells whether it can still become HTTP/d.d.
    const shape = length >= 8 ? version.substring(0, 8) : version + 'HTTP/0.0'.substring(length);
    if (!VERSION.test(shape)) return this.fail(400, version.indexOf(' ') >= 0 ? 'Malformed request line' : 'Malformed HTTP version');
    if (length < 8) return partial ? 0 : this.fail(400, 'Malformed HTTP version');
    // A whole HTTP/d.d is judged as it stands, whatever follows it.
    if (shape !== 'HTTP/1.1' && shape !== 'HTTP/1.0') return this.fail(505, 'Only HTTP/1.0 and HTTP/1.1 are supported');
    if (length > 8) return this.fail(400, 'Malformed request line: ' + (version.charCodeAt(8) <= 32 ? 'whitespace' : 'text') + ' after the HTTP version');
    return 0;
  }

  private requestLine(): number {
    // RFC 9112 §2.2: ignore empty lines before a request line.
    while (this.buffer.charAt(0) === '\r' && this.buffer.charAt(1) === '\n') this.buffer = this.buffer.substring(2);
    if (!this.buffer.length) return NEED_MORE;
    const line = this.takeLine(LIMITS.maxRequestLine, 414, 'Request line');
    if (line === null) return NEED_MORE;
    if (line === undefined || this.requestLineFails(line, false)) return ERROR;
    const firstSpace = line.indexOf(' ');
    const secondSpace = line.indexOf(' ', firstSpace + 1);
    const method = line.substring(0, firstSpace);
    if (!this.host.isKnownMethod(method)) return this.fail(501, 'Method ' + method + ' not implemented');
    this.current = { method: method, target: line.substring(firstSpace + 1, secondSpace), version: line.charAt(secondSpace + 8) === '1' ? 11 : 10, headers: {}, body: null };
    this.headerCount = 0;
    this.headerBytes = 0;
    this.expectsContinue = false;
    this.state = HEADERS;
    return -1;
  }

  /**
   * Checks a field line in the order of its bytes, then adds it to `headers`;
   * with `headers` null, checks what has come of an unfinished line and passes
   * what may still become valid. A Content-Length value is judged here, at its
   * line (not in trailers, which are dropped). ERROR after failing, else 0.
   */
  private addField(headers: Headers | null, line: string): number {
    const partial = !headers;
    if (!line) return 0; // partial: nothing yet (a whole empty line ends the section before this)
    const first = line.charAt(0);
    if (first === ' ' || first === '\t') {
      return this.fail(400, this.state === HEADERS && !this.headerCount ? 'Unexpected whitespace after the request line' : 'Obsolete line folding is not allowed');
    }
    if (this.headerCount >= LIMITS.maxHeaders) return this.fail(431, 'Too many header fields');
    const colon = line.indexOf(':');
    if (colon === 0) return this.fail(400, 'Malformed header field');
    const name = colon < 0 ? line : line.substring(0, colon);
    if (!TOKEN.test(name)) return this.fail(400, 'Malformed header field name');
    if (colon < 0) return partial ? 0 : this.fail(400, 'Malformed header field');
    const value = trimOws(line.substring(colon + 1));
    if (BAD_VALUE_CHAR.test(value)) return this.fail(400, 'Invalid character in header field value');
    const lowerName = name.toLowerCase();
    if (lowerName === 'content-length' && this.state === HEADERS && this.contentLengthFails(value, partial, largestBodyLimit(this.host))) return ERROR;
    if (!headers) return 0;
    this.headerCount++;
    this.headerBytes += line.length + 2;
    if (lowerName === '__proto__') return this.fail(400, 'Header field name __proto__ is not allowed');
    if (!hasOwn(headers, lowerName)) {
      headers[lowerName] = value;
    } else if (lowerName === 'host') {
      return this.fail(400, 'Duplicate Host header');
    } else if (lowerName === 'content-length') {
      if (headers[lowerName] !== value) return this.fail(400, 'Conflicting Content-Length headers');
    } else if (value) {
      // RFC 9110 §5.3: repeated fields combine into one comma-separated list (Cookie uses "; ").
      // Empty ones add nothing (§5.6.1: empty list elements are ignored), so no value ends in ", ".
      headers[lowerName] = headers[lowerName] ? headers[lowerName] + (lowerName === 'cookie' ? '; ' : ', ') + value : value;
    }
    return 0;
  }

  /**
   * A Content-Length value (OWS trimmed), digit by digit: 413 as soon as its
   * digits pass maxBodySize, 400 at the first that is not one.
   */
  private contentLengthFails(value: string, partial: boolean, limit: number): number {
    const digits = DIGITS.test(value) ? value : (LEADING_DIGITS.exec(value) as RegExpExecArray)[0];
    if (digits && (significantDigits(digits) > 15 || parseInt(digits, 10) > limit)) {
      return this.fail(413, 'Request body larger than ' + limit + ' bytes');
    }
    if (digits.length < value.length || (!digits && !partial)) return this.fail(400, 'Malformed Content-Length');
    return 0;
  }

  private headerLine(): number {
    const limit = fieldLineLimit(this.headerBytes);
    const line = this.takeLine(limit, 431, limit < LIMITS.maxHeaderLine ? 'Header section' : 'Header line');
    if (line === null) return NEED_MORE;
    if (line === undefined) return ERROR;
    const message = this.current as ParsedMessage;
    if (line.length) return this.addField(message.headers, line) ? ERROR : -1;
    return this.headersDone(message);
  }

  /** Decides how the body is framed (RFC 9112 §6.3) once all header fields are in. */
  private headersDone(message: ParsedMessage): number {
    const headers = message.headers;
    // None of these names is on Object.prototype, so a plain read is an own-property test.
    const contentLength = headers['content-length'];
    // Judged first, as the line-by-line path judges it at its line (the whole-head path gets here
    // unchecked); a usual value costs one regex test, anything else fails with the line's wording.
    const length = contentLength === undefined ? 0 : DIGITS.test(contentLength) && significantDigits(contentLength) <= 15 ? parseInt(contentLength, 10) : -1;
    const transferEncoding = headers['transfer-encoding'];
    let limit = this.host.maxBodySize;
    // Only a request with a body, and only once some route has options, looks its route up here.
    const options = this.host.hasBodyOptions && (length || transferEncoding !== undefined) ? this.host.bodyOptionsFor(message.method, message.target) : null;
    if (options && options.maxBodySize !== undefined) limit = options.maxBodySize;
    if (length < 0 || length > limit) {
      this.contentLengthFails(contentLength as string, false, limit);
      return ERROR;
    }
    this.bodyLimit = limit;
    if (message.version === 11 && headers.host === undefined) return this.fail(400, 'HTTP/1.1 requests need a Host header');
    const expect = headers.expect === undefined ? undefined : headers.expect.toLowerCase();
    if (expect !== undefined && expect !== '100-continue') return this.fail(417, 'Only "Expect: 100-continue" is supported');
    this.bodySize = 0;
    if (transferEncoding !== undefined) {
      if (contentLength !== undefined) return this.fail(400, 'Both Content-Length and Transfer-Encoding');
      if (message.version !== 11) return this.fail(400, 'Transfer-Encoding in an HTTP/1.0 request');
      // RFC 9112 §6.1 and §7: chunked must come last and only once; empty list elements do not count.
      const listed = transferEncoding.toLowerCase().split(',');
      const codings: string[] = [];
      for (let i = 0; i < listed.length; i++) if (trimOws(listed[i])) codings.push(trimOws(listed[i]));
      const chunkedAt = codings.indexOf('chunked');
      if (chunkedAt < 0 || chunkedAt !== codings.length - 1) return this.fail(400, 'Transfer-Encoding must end with chunked, once');
      if (codings.length > 1) return this.fail(501, 'Only the chunked transfer coding is supported');
      this.expectsContinue = expect !== undefined;
      this.state = CHUNK_SIZE;
      return this.bodyStarts(message, options);
    }
    if (length > 0) {
      this.remaining = length;
      this.expectsContinue = expect !== undefined && message.version === 11;
      this.state = BODY;
      return this.bodyStarts(message, options);
    }
    return this.complete();
  }

  /** A buffered body starts empty; a streamed one is announced now, with the headers, and comes as BODY_CHUNKs. */
  private bodyStarts(message: ParsedMessage, options: BodyOptions | null): number {
    if (!options || !options.streamBody) {
      message.body = '';
      return -1;
    }
    this.streaming = true;
    this.message = message;
    return MESSAGE;
  }

  /**
   * Moves up to `remaining` buffered bytes into the body, or for a streamed
   * body into `chunk` (BODY_CHUNK when there were any). -1 otherwise.
   */
  private takeBody(): number {
    const buffer = this.buffer;
    let piece = buffer;
    if (buffer.length <= this.remaining) {
      this.buffer = '';
    } else {
      piece = buffer.substring(0, this.remaining);
      this.buffer = buffer.substring(this.remaining);
    }
    this.remaining -= piece.length;
    if (!this.streaming) {
      (this.current as ParsedMessage).body += piece;
      return -1;
    }
    this.chunk = piece;
    return piece.length ? BODY_CHUNK : -1;
  }

  private fixedBody(): number {
    if (this.takeBody() === BODY_CHUNK) return BODY_CHUNK;
    return this.remaining ? NEED_MORE : this.complete();
  }

  /**
   * A chunk size line's checks, in the order of its bytes: 413 as soon as its
   * digits take the body past maxBodySize, then the size's form, then the
   * extensions. ERROR after failing, else 0.
   */
  private chunkSizeFails(line: string, partial: boolean): number {
    const digits = HEX.test(line) ? line : (LEADING_HEX.exec(line) as RegExpExecArray)[0];
    if (digits && this.bodySize + (significantDigits(digits) > 8 ? Infinity : parseInt(digits, 16)) > this.bodyLimit) {
      return this.fail(413, 'Request body larger than ' + this.bodyLimit + ' bytes');
    }
    const next = line.charAt(digits.length);
    if (next ? !digits || next !== ';' : !digits && !partial) return this.fail(400, 'Malformed chunk size');
    if (next && (BAD_VALUE_CHAR.test(line) || !validChunkExtensions(line.substring(digits.length), partial))) {
      return this.fail(400, 'Malformed chunk extension');
    }
    return 0;
  }

  private chunkSize(): number {
    const line = this.takeLine(LIMITS.maxHeaderLine, 400, 'Chunk size line');
    if (line === null) return NEED_MORE;
    if (line === undefined || this.chunkSizeFails(line, false)) return ERROR;
    const size = parseInt(line, 16);
    this.bodySize += size;
    if (size === 0) {
      this.state = TRAILERS;
      return -1;
    }
    this.remaining = size;
    this.state = CHUNK_DATA;
    return -1;
  }

  private chunkData(): number {
    const taken = this.takeBody();
    if (this.remaining) return taken === BODY_CHUNK ? BODY_CHUNK : NEED_MORE;
    this.state = CHUNK_END;
    return taken;
  }

  private chunkEnd(): number {
    // A first byte other than CR is refused at once, without waiting for a second.
    if (this.buffer.length < 2 && (!this.buffer.length || this.buffer.charAt(0) === '\r')) return NEED_MORE;
    if (this.buffer.charAt(0) !== '\r' || this.buffer.charAt(1) !== '\n') return this.fail(400, 'Chunk data not followed by CRLF');
    this.buffer = this.buffer.substring(2);
    this.state = CHUNK_SIZE;
    return -1;
  }

  /** Trailer fields are checked like headers, then dropped: none of them changes how a request is handled. */
  private trailerLine(): number {
    const limit = fieldLineLimit(this.headerBytes);
    const line = this.takeLine(limit, 431, limit < LIMITS.maxHeaderLine ? 'Header section' : 'Trailer line');
    if (line === null) return NEED_MORE;
    if (line === undefined) return ERROR;
    if (!line.length) return this.complete();
    return this.addField({}, line) ? ERROR : -1;
  }
}

defaultsOnPrototype(RequestParser, {
  message: null,
  errorStatus: 0,
  errorMessage: '',
  expectsContinue: false,
  streaming: false,
  chunk: '',
  buffer: '',
  state: REQUEST_LINE,
  current: null,
  headerCount: 0,
  headerBytes: 0,
  remaining: 0,
  bodySize: 0,
  bodyLimit: 0,
});

/** The largest body any request may have: a Content-Length above it is refused at its line. */
function largestBodyLimit(host: ParserHost): number {
  return host.largestRouteBody > host.maxBodySize ? host.largestRouteBody : host.maxBodySize;
}
