// WebSocket framing (RFC 6455 §5), server side, with no socket in sight.
//
// FrameParser is a state machine over byte strings split anywhere, in the
// style of the `ws` package's receiver: feed() appends what the socket
// delivered, next() consumes as much as it can and says NEED_MORE, MESSAGE (a
// whole data message, fragments joined), CONTROL (a ping, pong or close, which
// may arrive between fragments) or ERROR (the close code to fail with).
// Payloads stay bytes: turning a text message into a string is the caller's job
// (decodeUtf8 in platform/text).
//
// Unmasking is the one per-byte job. Espruino walks a string's blocks on every
// charCodeAt(i), so a loop over a long string is quadratic; E.toUint8Array
// copies 1 KB at a time into a flat buffer and an Int32Array view over it XORs
// four bytes per step (64 KB in ~80 ms on the Linux builds, ~5 s char by char).
import { encodeUtf8 } from '../platform/text';
import { defaultsOnPrototype } from '../platform/memory';

export const CONTINUATION = 0;
export const TEXT = 1;
export const BINARY = 2;
export const CLOSE = 8;
export const PING = 9;
export const PONG = 10;

export const NEED_MORE = 0;
export const MESSAGE = 1;
export const CONTROL = 2;
export const ERROR = 3;

/** Close code of a close frame that carried none (RFC 6455 §7.1.5); never sent. */
export const NO_STATUS = 1005;

const GET_INFO = 0;
const GET_LENGTH_16 = 1;
const GET_LENGTH_64 = 2;
const GET_MASK = 3;
const GET_DATA = 4;

// A byte above ASCII; exec() from lastIndex finds the next one natively.
// Never a range across 0x7F/0x80: Espruino's engine matches nothing then.
const HIGH_BYTE = /[\x80-\xff]/g;

// Plain Node has no E; there the slow paths below do the same work.
const TYPED = typeof E !== 'undefined' && typeof E.toUint8Array === 'function';

// Bytes unmasked or checked per Uint8Array. A Uint8Array wants one contiguous
// (flat) block of memory; a 64 KB one rarely fits in a fragmented heap, and
// Espruino then backs it with a chain of blocks where every index walks the
// chain (64 KB took 4 s instead of 70 ms). A multiple of 4, for the mask.
const WINDOW = 1024;

/** Puts `field` back to its default on the prototype: an own field set to the default would still hold a JsVar or two. */
export function unset(object: object, field: string): void {
  delete (object as { [field: string]: unknown })[field];
}

/** The bytes of a byte string in a Uint8Array. */
function toBytes(data: string): Uint8Array {
  if (TYPED) return E.toUint8Array(data);
  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i);
  return bytes;
}

/** XORs at most WINDOW bytes with the mask `key`, the first being `offset` bytes into the payload. */
function unmaskWindow(data: string, key: number[], offset: number): string {
  const n = data.length;
  if (!TYPED) {
    // Function.apply takes at most 256 arguments on Espruino.
    let out = '';
    for (let from = 0; from < n; from += 256) {
      const end = from + 256 < n ? from + 256 : n;
      const codes: number[] = [];
      for (let i = from; i < end; i++) codes[i - from] = data.charCodeAt(i) ^ key[(offset + i) & 3];
      out += String.fromCharCode.apply(null, codes);
    }
    return out;
  }
  const bytes = E.toUint8Array(data);
  let words = n >> 2;
  // A view of length 0 would cover the whole buffer on Espruino.
  if (words) {
    const k = key[offset & 3] | key[(offset + 1) & 3] << 8 | key[(offset + 2) & 3] << 16 | key[(offset + 3) & 3] << 24;
    const view = new Int32Array(bytes.buffer, bytes.byteOffset, words);
    while (words) view[--words] ^= k;
  }
  for (let i = n & ~3; i < n; i++) bytes[i] ^= key[(offset + i) & 3];
  return E.toString(bytes);
}

/** XORs `data` with the 4-byte mask `key`, starting `offset` bytes into the payload. */
function unmask(data: string, key: number[], offset: number): string {
  if (data.length <= WINDOW) return unmaskWindow(data, key, offset);
  let out = '';
  for (let at = 0; at < data.length; at += WINDOW) out += unmaskWindow(data.substring(at, at + WINDOW), key, offset + at);
  return out;
}

/**
 * True when `bytes` is well-formed UTF-8 (RFC 3629): no overlong forms, no
 * surrogates (ED A0-BF), nothing above U+10FFFF, no truncated sequence.
 * ASCII runs are skipped with a regex; the rest is checked a window of
 * WINDOW bytes at a time (plus 3, so that a sequence starting in the window
 * can finish), in this one function: no call nests deeper than a native one.
 */
export function isValidUtf8(bytes: string): boolean {
  HIGH_BYTE.lastIndex = 0;
  let high = HIGH_BYTE.exec(bytes);
  while (high) {
    const start = high.index;
    const b = toBytes(bytes.substring(start, start + WINDOW + 3));
    const end = b.length < WINDOW ? b.length : WINDOW;
    // Shares b's flat buffer on Espruino, where the regex starts at any index at once.
    const flat = TYPED ? E.toString(b) : '';
    let i = 0;
    // Reading past the end gives undefined, and (undefined & 0xc0) is no continuation byte.
    while (i < end) {
      const c = b[i];
      if (c < 0x80) {
        // Skip the ASCII run in C rather than byte by byte.
        if (!TYPED) {
          i++;
          continue;
        }
        HIGH_BYTE.lastIndex = i;
        const next = HIGH_BYTE.exec(flat);
        i = next ? next.index : end;
      } else if (c < 0xc2) {
        return false; // a stray continuation byte, or C0/C1 (overlong)
      } else if (c < 0xe0) {
        if ((b[i + 1] & 0xc0) !== 0x80) return false;
        i += 2;
      } else if (c < 0xf0) {
        const c1 = b[i + 1];
        if ((c1 & 0xc0) !== 0x80 || (b[i + 2] & 0xc0) !== 0x80) return false;
        if (c === 0xe0 ? c1 < 0xa0 : c === 0xed && c1 > 0x9f) return false; // overlong; surrogate
        i += 3;
      } else if (c < 0xf5) {
        const c1 = b[i + 1];
        if ((c1 & 0xc0) !== 0x80 || (b[i + 2] & 0xc0) !== 0x80 || (b[i + 3] & 0xc0) !== 0x80) return false;
        if (c === 0xf0 ? c1 < 0x90 : c === 0xf4 && c1 > 0x8f) return false; // overlong; above U+10FFFF
        i += 4;
      } else {
        return false;
      }
    }
    HIGH_BYTE.lastIndex = start + (i > end ? i : end);
    high = HIGH_BYTE.exec(bytes);
  }
  return true;
}

export interface CloseInfo {
  code: number;
  /** UTF-8 bytes. */
  reason: string;
}

export interface CloseError {
  errorCode: number;
  errorReason: string;
}

/** RFC 6455 §7.4: the codes a peer may send. */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
}

/** Reads a close frame's payload: 2-byte code and UTF-8 reason, or nothing (code 1005). */
export function parseClose(payload: string): CloseInfo | CloseError {
  if (!payload.length) return { code: NO_STATUS, reason: '' };
  if (payload.length === 1) return { errorCode: 1002, errorReason: 'Close frame with a 1-byte payload' };
  const code = payload.charCodeAt(0) * 256 + payload.charCodeAt(1);
  if (!validCloseCode(code)) return { errorCode: 1002, errorReason: 'Invalid close code ' + code };
  const reason = payload.substring(2);
  if (!isValidUtf8(reason)) return { errorCode: 1007, errorReason: 'Invalid UTF-8 in close reason' };
  return { code: code, reason: reason };
}

/**
 * A server frame (never masked) as a byte string. `payload` must be bytes:
 * on a Unicode build, text goes through encodeUtf8 first.
 */
export function encodeFrame(opcode: number, payload: string, fin = true): string {
  const n = payload.length;
  const chr = String.fromCharCode;
  let head = chr((fin ? 0x80 : 0) | opcode);
  if (n < 126) head += chr(n);
  else if (n < 65536) head += chr(126, n >> 8, n & 255);
  // 64-bit length: a string never reaches 4 GB, so the high 32 bits are 0.
  else head += chr(127, 0, 0, 0, 0, Math.floor(n / 16777216) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255);
  return head + payload;
}

/**
 * The payload of a close frame: the code, then `reason` (text) as UTF-8 cut to
 * 123 bytes on a character boundary (a control payload holds at most 125).
 * 1005 means "no status" and must not be sent: its payload is empty.
 */
export function encodeClose(code: number, reason = ''): string {
  if (code === NO_STATUS) return '';
  let bytes = encodeUtf8(reason);
  if (bytes.length > 123) {
    let end = 123;
    while (end > 0 && (bytes.charCodeAt(end) & 0xc0) === 0x80) end--;
    bytes = bytes.substring(0, end);
  }
  return String.fromCharCode((code >> 8) & 255, code & 255) + bytes;
}

export class FrameParser {
  // Every field but the limit starts on the prototype (set below): an idle
  // socket's parser holds only what its frames changed.
  /** Set by next() when it returns MESSAGE: TEXT or BINARY, and the payload bytes. */
  declare messageType: number;
  declare message: string;
  /** Set by next() when it returns CONTROL: PING, PONG or CLOSE, and the payload bytes. */
  declare controlType: number;
  declare controlData: string;
  /** For a CLOSE: its code (1005 when it had none) and reason (UTF-8 bytes), already validated. */
  declare closeCode: number;
  declare closeReason: string;
  /** Set when next() returns ERROR: the close code to send, and why. */
  declare errorCode: number;
  declare errorReason: string;

  declare private buffer: string;
  declare private state: number;
  declare private failed: boolean;
  // The frame being read.
  declare private fin: boolean;
  declare private opcode: number;
  declare private payloadLength: number;
  /** Replaced for each frame, never changed in place: the default can be shared. */
  declare private key: number[];
  declare private unmasked: number;
  // The data message being read, over one or more frames (0: none).
  declare private dataType: number;
  declare private fragments: string;
  declare private messageLength: number;

  constructor(private maxMessageSize: number) {}

  feed(bytes: string): void {
    if (!this.failed) this.buffer = this.buffer ? this.buffer + bytes : bytes;
  }

  /**
   * The next event: NEED_MORE, MESSAGE, CONTROL or ERROR.
   *
   * The common case is taken here in one pass: a whole masked text or binary
   * frame with FIN, no RSV bits and a 7-bit length, while no fragmented
   * message is open. Anything else (or a frame still arriving) goes through
   * the states, which also word the errors.
   */
  next(): number {
    if (this.failed) return ERROR;
    const buffer = this.buffer;
    if (this.state === GET_INFO && !this.dataType) {
      const b0 = buffer.charCodeAt(0);
      const b1 = buffer.charCodeAt(1);
      const length = b1 & 0x7f;
      if ((b0 === 0x80 + TEXT || b0 === 0x80 + BINARY) && b1 & 0x80 && length && length < 126 && buffer.length >= 6 + length && length <= this.maxMessageSize) {
        const key = [buffer.charCodeAt(2), buffer.charCodeAt(3), buffer.charCodeAt(4), buffer.charCodeAt(5)];
        // At most 125 bytes: one window.
        const message = unmaskWindow(buffer.substring(6, 6 + length), key, 0);
        if (buffer.length === 6 + length) unset(this, 'buffer');
        else this.buffer = buffer.substring(6 + length);
        const type = b0 & 0x0f;
        if (type === TEXT && !isValidUtf8(message)) return this.fail(1007, 'Invalid UTF-8 in text message');
        this.messageType = type;
        this.message = message;
        return MESSAGE;
      }
    }
    for (;;) {
      let result: number;
      switch (this.state) {
        case GET_INFO: result = this.getInfo(); break;
        case GET_LENGTH_16: result = this.getLength16(); break;
        case GET_LENGTH_64: result = this.getLength64(); break;
        case GET_MASK: result = this.getMask(); break;
        default: result = this.getData();
      }
      if (result !== -1) return result;
    }
  }

  /**
   * True between frames with nothing buffered and no fragmented message open:
   * the parser holds nothing a new one would not (its owner may drop it).
   */
  idle(): boolean {
    return this.state === GET_INFO && !this.buffer && !this.dataType && !this.failed;
  }

  /** Forgets the last message once it is handed on (its field goes back to the prototype's ""). */
  clearMessage(): void {
    unset(this, 'message');
    unset(this, 'messageType');
  }

  /** Takes the first `n` buffered bytes. */
  private consume(n: number): string {
    const buffer = this.buffer;
    if (n >= buffer.length) {
      this.buffer = '';
      return buffer;
    }
    this.buffer = buffer.substring(n);
    return buffer.substring(0, n);
  }

  private fail(code: number, reason: string): number {
    this.failed = true;
    this.errorCode = code;
    this.errorReason = reason;
    this.buffer = '';
    this.fragments = '';
    return ERROR;
  }

  private getInfo(): number {
    if (this.buffer.length < 2) return NEED_MORE;
    const head = this.consume(2);
    const b0 = head.charCodeAt(0);
    const b1 = head.charCodeAt(1);
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    const length = b1 & 0x7f;
    // No extension is ever negotiated, so no RSV bit may be set.
    if (b0 & 0x70) return this.fail(1002, 'RSV bits set');
    if (opcode === CONTINUATION) {
      if (!this.dataType) return this.fail(1002, 'Continuation frame with no message to continue');
    } else if (opcode === TEXT || opcode === BINARY) {
      if (this.dataType) return this.fail(1002, 'New message before the fragmented one ended');
      this.dataType = opcode;
    } else if (opcode === CLOSE || opcode === PING || opcode === PONG) {
      if (!fin) return this.fail(1002, 'Fragmented control frame');
      if (length > 125) return this.fail(1002, 'Control frame payload over 125 bytes');
    } else {
      return this.fail(1002, 'Unknown opcode ' + opcode);
    }
    // RFC 6455 §5.1: a client masks every frame.
    if (!(b1 & 0x80)) return this.fail(1002, 'Unmasked client frame');
    this.fin = fin;
    this.opcode = opcode;
    if (length === 126) this.state = GET_LENGTH_16;
    else if (length === 127) this.state = GET_LENGTH_64;
    else return this.haveLength(length);
    return -1;
  }

  private getLength16(): number {
    if (this.buffer.length < 2) return NEED_MORE;
    const bytes = this.consume(2);
    return this.haveLength(bytes.charCodeAt(0) * 256 + bytes.charCodeAt(1));
  }

  private getLength64(): number {
    if (this.buffer.length < 8) return NEED_MORE;
    const b = this.consume(8);
    // Arithmetic, not shifts: bitwise operators stop at 32 bits. Only the
    // comparison with the limit needs the value, so inexact huge ones do.
    const high = ((b.charCodeAt(0) * 256 + b.charCodeAt(1)) * 256 + b.charCodeAt(2)) * 256 + b.charCodeAt(3);
    const low = ((b.charCodeAt(4) * 256 + b.charCodeAt(5)) * 256 + b.charCodeAt(6)) * 256 + b.charCodeAt(7);
    return this.haveLength(high * 4294967296 + low);
  }

  private haveLength(length: number): number {
    // Checked before any payload arrives, so a huge length is refused at once.
    if (this.opcode < CLOSE) {
      if (this.messageLength + length > this.maxMessageSize) {
        return this.fail(1009, 'Message larger than ' + this.maxMessageSize + ' bytes');
      }
      this.messageLength += length;
    }
    this.payloadLength = length;
    this.state = GET_MASK;
    return -1;
  }

  private getMask(): number {
    if (this.buffer.length < 4) return NEED_MORE;
    const mask = this.consume(4);
    this.key = [mask.charCodeAt(0), mask.charCodeAt(1), mask.charCodeAt(2), mask.charCodeAt(3)];
    this.unmasked = 0;
    this.state = GET_DATA;
    return -1;
  }

  private getData(): number {
    if (this.opcode >= CLOSE) {
      // At most 125 bytes: wait for all of it.
      if (this.buffer.length < this.payloadLength) return NEED_MORE;
      return this.control(unmask(this.consume(this.payloadLength), this.key, 0));
    }
    // Data is unmasked as it arrives, so a large frame is never held twice.
    if (this.unmasked < this.payloadLength) {
      if (!this.buffer.length) return NEED_MORE;
      const piece = this.consume(this.payloadLength - this.unmasked);
      this.fragments += unmask(piece, this.key, this.unmasked);
      this.unmasked += piece.length;
      return -1;
    }
    this.state = GET_INFO;
    if (!this.fin) return -1;
    const type = this.dataType;
    const message = this.fragments;
    this.dataType = 0;
    this.fragments = '';
    this.messageLength = 0;
    // The whole message: a character may straddle two fragments.
    if (type === TEXT && !isValidUtf8(message)) return this.fail(1007, 'Invalid UTF-8 in text message');
    this.messageType = type;
    this.message = message;
    return MESSAGE;
  }

  private control(payload: string): number {
    this.state = GET_INFO;
    if (this.opcode === CLOSE) {
      const close = parseClose(payload);
      if ('errorCode' in close) return this.fail(close.errorCode, close.errorReason);
      this.closeCode = close.code;
      this.closeReason = close.reason;
    }
    this.controlType = this.opcode;
    this.controlData = payload;
    return CONTROL;
  }
}

defaultsOnPrototype(FrameParser, {
  messageType: 0,
  message: '',
  controlType: 0,
  controlData: '',
  closeCode: 0,
  closeReason: '',
  errorCode: 0,
  errorReason: '',
  buffer: '',
  state: GET_INFO,
  failed: false,
  fin: false,
  opcode: 0,
  payloadLength: 0,
  key: [0, 0, 0, 0],
  unmasked: 0,
  dataType: 0,
  fragments: '',
  messageLength: 0,
});
