// The listening socket. Espruino's net module: sockets deliver and accept byte
// strings; write() always returns false and buffers, 'drain' fires when the
// buffer empties; no remoteAddress, no destroy, no setTimeout.

export type Socket = EspruinoSocket;
export type NetServer = EspruinoNetServer;

export function listen(port: number, onConnection: (socket: Socket) => void): NetServer {
  return require('net').createServer(onConnection).listen(port);
}
