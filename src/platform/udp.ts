// UDP through Espruino's dgram module (on the ESP32 and the Linux build alike):
// a datagram arrives as a byte string with its sender's { address, port }, and
// send() takes a byte string. Espruino 2v29 closes a UDP socket that receives
// an empty datagram (its network layer reads 0 bytes as "closed"), so anyone
// can close it: onClose hears of it.

export interface UdpSocket {
  send(data: string, port: number, address: string): void;
  close(): void;
}

/** A UDP socket bound to `port` on every interface; `onMessage` gets each datagram, `onClose` its closing (maybe twice). */
export function bindUdp(port: number, onMessage: (message: string, from: { address: string; port: number }) => void, onClose: () => void): UdpSocket {
  const socket = require('dgram').createSocket('udp4');
  socket.on('message', onMessage);
  socket.on('close', onClose);
  socket.bind(port);
  return socket;
}
