#!/usr/bin/env node
// npm run soak: the long soak (10,000 mixed HTTP requests, 200 WebSocket
// sessions, 50 SSE clients) on the real interpreter when ESPRUINO is set,
// else in the emulation. Prints a progress line as it goes and a final table;
// exits 1 on any failure.
//
//   npm run soak -- [--requests N] [--websockets N] [--sse N] [--seed N]
import { soak, table } from './soak.mjs';

const options = { requests: 10000, webSockets: 200, sseClients: 50, seed: 1 };
const names = { '--requests': 'requests', '--websockets': 'webSockets', '--sse': 'sseClients', '--seed': 'seed' };
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const name = names[args[i]];
  const value = Number(args[i + 1]);
  if (!name || !Number.isInteger(value) || value < 0) {
    console.error(`usage: npm run soak -- [--requests N] [--websockets N] [--sse N] [--seed N] (at ${args[i]})`);
    process.exit(2);
  }
  options[name] = value;
  i++;
}

console.log(`soak: ${options.requests} requests, ${options.webSockets} WebSocket sessions, ${options.sseClients} SSE clients, seed ${options.seed}, ` +
  `on ${process.env.ESPRUINO ? process.env.ESPRUINO_ESP32 || process.env.ESPRUINO : 'the emulation'}`);
const stats = await soak({
  ...options,
  onProgress: (s, ms) => console.log(`soak: ${s.requests}/${options.requests} requests, ${s.webSockets.sessions}/${options.webSockets} WebSocket sessions, ` +
    `${s.sseClients.sessions}/${options.sseClients} SSE clients, ${s.failures.length} failures, ${(ms / 1000).toFixed(1)} s`),
});
console.log('\n' + table(stats));
process.exit(stats.failures.length ? 1 : 0);
