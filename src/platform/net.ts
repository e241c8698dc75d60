// The listening socket. Espruino's net module: sockets deliver and accept byte
// strings; write() always returns false and buffers, 'drain' fires when the
// buffer empties; no remoteAddress, no destroy, no setTimeout.

export type Socket = EspruinoSocket;
export type NetServer = EspruinoNetServer;

export function listen(port: number, onConnection: (socket: Socket) => void): NetServer {
  return require('net').createServer(onConnection).listen(port);
}

/**
 * Writes to a socket the peer may have left. Once Espruino has seen the peer
 * close (or after end()) write() throws "This socket is closed" while the
 * 'close' event is still queued; that event cleans up, so the bytes are dropped.
 */
export function writeSocket(socket: { write(bytes: string): void }, bytes: string): void {
  try {
    socket.write(bytes);
  } catch (e) {
    // the queued 'close' follows
  }
}

/**
 * False for a socket Espruino closed before the server saw it: a peer that
 * leaves at once is dropped while its 'connect' event is queued, and its
 * 'close' is queued to the listeners it had then (none), so it never comes.
 * An empty write is the probe: it throws on a closed socket and sends nothing.
 */
export function socketOpen(socket: { write(bytes: string): void }): boolean {
  try {
    socket.write('');
    return true;
  } catch (e) {
    return false;
  }
}

/**
 * Opens a client connection; `onConnect` runs once it is established. Where the
 * connection cannot even start (the Linux build, refused at once) Espruino
 * throws "Unable to create socket": that comes back as null. A later failure
 * shows as the socket's 'close'.
 */
export function connect(host: string, port: number, onConnect: () => void): Socket | null {
  try {
    return require('net').connect({ host: host, port: port }, onConnect);
  } catch (e) {
    return null;
  }
}
