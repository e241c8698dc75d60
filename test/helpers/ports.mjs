// TCP ports for test servers.
//
// Espruino's Linux build sets SO_REUSEPORT on its listening socket, so two
// interpreters told to use the same port both start "fine" and silently share
// the connections. Every test server therefore needs a port of its own. Each
// test process (node --test runs test files in parallel, one process each)
// starts at a block of ports derived from its pid and walks forward, checking
// each port by briefly binding it.

import net from 'node:net';

// Below Linux's default ephemeral range (32768-60999), so outgoing
// connections do not take our ports.
const RANGE_START = 20000;
const RANGE_END = 32000;
const BLOCK = 50;

const blocks = Math.floor((RANGE_END - RANGE_START) / BLOCK);
let cursor = RANGE_START + (process.pid % blocks) * BLOCK;
const handedOut = new Set();

/** True when nothing listens on the port (checked on 0.0.0.0, which also covers 127.0.0.1). */
export function isPortFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port that is free now and that this process has not handed out before. */
export async function freePort() {
  for (let tries = 0; tries < RANGE_END - RANGE_START; tries++) {
    const port = cursor;
    cursor = cursor + 1 >= RANGE_END ? RANGE_START : cursor + 1;
    if (handedOut.has(port)) continue;
    if (await isPortFree(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free TCP port in ${RANGE_START}-${RANGE_END - 1}`);
}
