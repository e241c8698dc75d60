// The captive DNS responder of the Wi-Fi set-up portal: every A question, for
// any name, is answered with the board's own address, so a phone that joins
// the set-up access point reaches the set-up page whatever it looks up. Other
// question types get an empty answer (the client falls back to A); responses,
// other opcodes and malformed packets get nothing.
//
// Packets are byte strings; bytes >= 0x80 are built at run time, never
// written as literals (the bundle's literals are UTF-8 on a byte-string device).
import { bindUdp, UdpSocket } from '../platform/udp';

/** The answer's TTL: 60 seconds, since the board leaves set-up mode once it is online. */
const TTL = '\x00\x00\x00\x3c';
const TYPE_A = 1;
const TYPE_ANY = 255;
const CLASS_IN = 1;
/** Header (12 bytes) plus the shortest question: the root name (1) and type and class (4). */
const MIN_QUERY = 17;
const MAX_NAME = 255;

/** "192.168.4.1" as its four bytes. */
export function ipv4Bytes(address: string): string {
  const parts = address.split('.');
  if (parts.length !== 4) throw new Error('Not an IPv4 address: ' + address);
  return String.fromCharCode(parseInt(parts[0], 10), parseInt(parts[1], 10), parseInt(parts[2], 10), parseInt(parts[3], 10));
}

/** The reply to a DNS query (a byte string) answering with `ip` (four bytes), or null when it gets none. Never throws. */
export function dnsReply(query: string, ip: string): string | null {
  if (query.length < MIN_QUERY) return null;
  const flags = query.charCodeAt(2);
  // QR (0x80) set: a response, not a question; opcode bits (0x78): not a standard query.
  if (flags & 0xf8) return null;
  if (query.charCodeAt(4) !== 0 || query.charCodeAt(5) === 0) return null;
  // The first question's name: length-prefixed labels up to the empty root label.
  let at = 12;
  let length = query.charCodeAt(at);
  while (length > 0 && length < 64 && at < 12 + MAX_NAME) {
    at += length + 1;
    length = query.charCodeAt(at); // NaN past the end
  }
  // Not 0: a compression pointer (no place in a question), a reserved label type, too long, or cut short.
  if (length !== 0 || at + 5 > query.length) return null;
  const type = query.charCodeAt(at + 1) * 256 + query.charCodeAt(at + 2);
  const klass = query.charCodeAt(at + 3) * 256 + query.charCodeAt(at + 4);
  const answers = klass === CLASS_IN && (type === TYPE_A || type === TYPE_ANY) ? 1 : 0;
  const name = query.substring(12, at + 1);
  // ID; QR and AA set, RD echoed; RCODE 0; one question, `answers` answers, no other records.
  let reply = query.substring(0, 2) + String.fromCharCode(0x84 | (flags & 1), 0, 0, 1, 0, answers, 0, 0, 0, 0) +
    query.substring(12, at + 5);
  // The answer repeats the name rather than pointing to it: a pointer's first byte is >= 0xC0.
  if (answers) reply += name + '\x00\x01\x00\x01' + TTL + '\x00\x04' + ip;
  return reply;
}

export interface DnsResponder {
  close(): void;
}

/** Answers DNS queries on UDP `port` (53 on the board) with `address`; close() stops it. */
export function startDnsResponder(address: string, port: number): DnsResponder {
  const ip = ipv4Bytes(address);
  const responder = { socket: null as UdpSocket | null };
  const open = () => {
    const socket = bindUdp(port, (query, from) => {
      const reply = dnsReply(query, ip);
      if (reply) socket.send(reply, from.port, from.address);
    }, () => {
      // Closed by the firmware (an empty datagram does it), not by close(): answer on a new socket.
      if (responder.socket === socket) open();
    });
    responder.socket = socket;
  };
  open();
  return {
    close() {
      const socket = responder.socket;
      responder.socket = null;
      if (socket) socket.close();
    },
  };
}
