// MQTT 3.1.1 packets (OASIS standard, §2-3), client side, with no socket in sight.
//
// The encoders build byte strings. PacketParser is a state machine over byte
// strings split anywhere, like websocket/frames: feed() appends what the socket
// delivered, next() says NEED_MORE, PACKET (type, flags and body of one whole
// packet) or ERROR (why). A packet longer than the parser's limit is refused as
// soon as its length is read, before its body is buffered, so a broker cannot
// grow the heap; a packet a broker never sends a client is an error too.
import { encodeUtf8 } from '../platform/text';

export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const SUBSCRIBE = 8;
export const SUBACK = 9;
export const PINGREQ = 12;
export const PINGRESP = 13;
export const DISCONNECT = 14;

export const NEED_MORE = 0;
export const PACKET = 1;
export const ERROR = 2;

const GET_HEADER = 0;
const GET_BODY = 1;

/** The PUBLISH flag that marks a retransmission (§3.3.1.1). */
export const DUP = 8;

/** CONNACK return codes 1-5 (§3.2.2.3). */
const REFUSALS = ['', 'unacceptable protocol version', 'client identifier rejected', 'server unavailable', 'bad user name or password', 'not authorized'];

const chr = String.fromCharCode;

/** A two-byte big-endian number. */
function uint16(n: number): string {
  return chr((n >> 8) & 255, n & 255);
}

/** A length-prefixed UTF-8 string (§1.5.3) of `text` (not bytes: on a Unicode build those would be encoded twice). */
function lengthPrefixed(text: string): string {
  const bytes = encodeUtf8(text);
  return uint16(bytes.length) + bytes;
}

/** A fixed header and its body: the remaining length in 7-bit groups, lowest first (§2.2.3). */
function packet(firstByte: number, body: string): string {
  let n = body.length;
  let head = chr(firstByte);
  do {
    const digit = n & 127;
    n = n >> 7;
    head += chr(n ? digit | 128 : digit);
  } while (n);
  return head + body;
}

export interface Will {
  topic: string;
  payload: string;
  qos?: 0 | 1;
  retain?: boolean;
}

export interface ConnectFields {
  clientId: string;
  keepAlive: number;
  clean: boolean;
  username?: string;
  password?: string;
  will?: Will;
}

export function encodeConnect(fields: ConnectFields): string {
  const will = fields.will;
  let flags = fields.clean ? 2 : 0;
  let payload = lengthPrefixed(fields.clientId);
  if (will) {
    flags |= 4 | ((will.qos || 0) << 3) | (will.retain ? 32 : 0);
    payload += lengthPrefixed(will.topic) + lengthPrefixed(will.payload);
  }
  if (fields.username !== undefined) {
    flags |= 128;
    payload += lengthPrefixed(fields.username);
  }
  if (fields.password !== undefined) {
    flags |= 64;
    payload += lengthPrefixed(fields.password);
  }
  return packet(CONNECT << 4, '\x00\x04MQTT\x04' + chr(flags) + uint16(fields.keepAlive) + payload);
}

/** A PUBLISH of `topic` (text) and `payload` (bytes). `id` only for QoS 1. */
export function encodePublish(topic: string, payload: string, qos: number, retain: boolean, id: number): string {
  return packet((PUBLISH << 4) | (qos << 1) | (retain ? 1 : 0), lengthPrefixed(topic) + (qos ? uint16(id) : '') + payload);
}

/** The same PUBLISH with the DUP flag set, for a retransmission. */
export function markDuplicate(publish: string): string {
  return chr(publish.charCodeAt(0) | DUP) + publish.substring(1);
}

export function encodePuback(id: number): string {
  return chr(PUBACK << 4, 2) + uint16(id);
}

/** One SUBSCRIBE for several topic filters, each at `qos`. */
export function encodeSubscribe(id: number, filters: string[], qos: number): string {
  let body = uint16(id);
  for (let i = 0; i < filters.length; i++) body += lengthPrefixed(filters[i]) + chr(qos);
  return packet((SUBSCRIBE << 4) | 2, body);
}

export const PINGREQ_PACKET = chr(PINGREQ << 4, 0);
export const DISCONNECT_PACKET = chr(DISCONNECT << 4, 0);

/** Why a CONNACK refused, or '' when it accepted. */
export function connackRefusal(body: string): string {
  const code = body.charCodeAt(1);
  if (!code) return '';
  return 'broker refused the connection: ' + (REFUSALS[code] || 'return code ' + code);
}

/** The packet identifier at `at` in a body. */
export function readUint16(body: string, at: number): number {
  return body.charCodeAt(at) * 256 + body.charCodeAt(at + 1);
}

/**
 * True when `topic` matches the subscription `filter` (§4.7): `+` stands for
 * one level, a final `#` for any number (with the parent level itself).
 * Filters are short: split and compare.
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === topic || filter === '#') return true;
  const want = filter.split('/');
  const have = topic.split('/');
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '#') return i === want.length - 1;
    if (i >= have.length) return false;
    if (want[i] !== '+' && want[i] !== have[i]) return false;
  }
  return want.length === have.length;
}

/** Why a PUBLISH cannot go to `topic` (§4.7.3: not empty, no wildcards), or ''. A broker would disconnect the client for it. */
export function topicNameProblem(topic: string): string {
  if (typeof topic !== 'string' || !topic) return 'the topic must be a non-empty string';
  if (topic.indexOf('+') >= 0 || topic.indexOf('#') >= 0) return 'the topic to publish to must have no wildcard (+ or #): ' + topic;
  return '';
}

/** Why `filter` is not a topic filter (§4.7.1: + and # are whole levels, # the last), or ''. A broker would disconnect the client for it. */
export function topicFilterProblem(filter: string): string {
  if (typeof filter !== 'string' || !filter) return 'the topic filter must be a non-empty string';
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.length > 1 && (level.indexOf('+') >= 0 || level.indexOf('#') >= 0)) return 'a wildcard (+ or #) must be a whole level: ' + filter;
    if (level === '#' && i !== levels.length - 1) return '# must be the last level: ' + filter;
  }
  return '';
}

export class PacketParser {
  /** Set by next() when it returns PACKET. */
  type = 0;
  flags = 0;
  body = '';
  /** Set when next() returns ERROR. */
  error = '';

  private buffer = '';
  private state = GET_HEADER;
  private length = 0;

  constructor(private maxPacket: number) {}

  feed(bytes: string): void {
    if (this.state !== ERROR) this.buffer = this.buffer ? this.buffer + bytes : bytes;
  }

  /** The next event: NEED_MORE, PACKET or ERROR (then every later call too). */
  next(): number {
    if (this.state === ERROR) return ERROR;
    const buffer = this.buffer;
    if (this.state === GET_HEADER) {
      // The first byte and up to four length bytes (§2.2.3).
      let length = 0;
      let at = 1;
      let scale = 1;
      for (;;) {
        if (at >= buffer.length) return NEED_MORE;
        const digit = buffer.charCodeAt(at++);
        length += (digit & 127) * scale;
        if (!(digit & 128)) break;
        if (at === 5) return fail(this, 'malformed remaining length');
        scale *= 128;
      }
      const first = buffer.charCodeAt(0);
      const problem = headerProblem(first >> 4, first & 15, length, this.maxPacket);
      if (problem) return fail(this, problem);
      this.type = first >> 4;
      this.flags = first & 15;
      this.length = length;
      this.buffer = buffer.substring(at);
      this.state = GET_BODY;
    }
    if (this.buffer.length < this.length) return NEED_MORE;
    this.body = this.buffer.substring(0, this.length);
    this.buffer = this.buffer.substring(this.length);
    this.state = GET_HEADER;
    if (this.type === PUBLISH) {
      const problem = publishProblem(this.flags, this.body);
      if (problem) return fail(this, problem);
    }
    return PACKET;
  }
}

function fail(parser: PacketParser, reason: string): number {
  (parser as unknown as { state: number }).state = ERROR;
  (parser as unknown as { buffer: string }).buffer = '';
  parser.body = '';
  parser.error = reason;
  return ERROR;
}

/** Why a fixed header cannot start a packet a broker sends a client, or ''. */
function headerProblem(type: number, flags: number, length: number, maxPacket: number): string {
  if (length > maxPacket) return 'packet of ' + length + ' bytes, over the limit of ' + maxPacket;
  if (type === PUBLISH) return (flags & 6) === 6 ? 'PUBLISH with QoS 3' : '';
  // §2.2.2: the other packets' flags are fixed at 0 here.
  if (flags) return 'packet type ' + type + ' with flags ' + flags;
  if (type === CONNACK || type === PUBACK) return length === 2 ? '' : 'packet type ' + type + ' of ' + length + ' bytes, not 2';
  if (type === SUBACK) return length >= 3 ? '' : 'SUBACK of ' + length + ' bytes';
  if (type === PINGRESP) return length === 0 ? '' : 'PINGRESP with a body';
  return 'packet type ' + type + ' is not one a broker sends a client here';
}

/** Why a PUBLISH body is malformed, or ''. QoS 2 is never subscribed to, so never sent. */
function publishProblem(flags: number, body: string): string {
  const qos = (flags >> 1) & 3;
  if (qos === 2) return 'PUBLISH with QoS 2, never subscribed to';
  if (body.length < 2) return 'PUBLISH with no topic';
  const topicLength = readUint16(body, 0);
  if (body.length < 2 + topicLength + (qos ? 2 : 0)) return 'PUBLISH shorter than its topic';
  if (!topicLength) return 'PUBLISH with an empty topic';
  return '';
}

/** The topic of a PUBLISH body (bytes). */
export function publishTopic(body: string): string {
  return body.substring(2, 2 + readUint16(body, 0));
}

/** Where the payload of a PUBLISH body starts. */
export function payloadStart(body: string, qos: number): number {
  return 2 + readUint16(body, 0) + (qos ? 2 : 0);
}
