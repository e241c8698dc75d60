// DNS over real UDP from Node, for the captive DNS responder's tests.
import dgram from 'node:dgram';
import dns from 'node:dns';

/** A DNS query packet: id, one question for `name` of `type` (1 = A), class IN, RD set. */
export function dnsQuery(id, name, type = 1) {
  const labels = name.split('.').filter(Boolean).map((label) => {
    const bytes = Buffer.from(label, 'utf8');
    return Buffer.concat([Buffer.from([bytes.length]), bytes]);
  });
  const header = Buffer.from([id >> 8, id & 255, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, ...labels, Buffer.from([0, type >> 8, type & 255, 0, 1])]);
}

/**
 * Sends each packet in order from one socket to 127.0.0.1:port and resolves
 * with the first reply (rejects after timeoutMs with none).
 */
export function firstReply(port, packets, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no DNS reply from port ${port} in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('message', (message) => {
      clearTimeout(timer);
      socket.close();
      resolve(message);
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    for (const packet of packets) socket.send(packet, port, '127.0.0.1');
  });
}

/** Node's own resolver (c-ares) asking the responder at 127.0.0.1:port. */
export function resolverFor(port) {
  const resolver = new dns.promises.Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`127.0.0.1:${port}`]);
  return resolver;
}
