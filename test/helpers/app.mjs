// Builds a fixture app for a free port and starts it (real interpreter or
// emulation, see server.mjs), plus raw-socket helpers for the tests.
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildBundle } from '../../build.mjs';
import { webFolderPreamble } from '../../tools/web-assets.mjs';
import { freePort } from './ports.mjs';
import { startServer } from './server.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Builds `entry` (relative to the repo) with --port set to a free port and starts it
 * (with the entry's www folder in Storage, as `npm start` runs it).
 * Returns the server handle from startServer plus { port, url }.
 */
export async function startApp(entry, { mode = 'esp32', board, workDir, cStackKb, fromStorage } = {}) {
  const port = await freePort();
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'microserver-')), path.basename(entry, '.ts') + '.js');
  // In the emulation, count nested method calls per object (a leak on the device, see tools/gate.mjs).
  const { code } = await buildBundle(path.resolve(ROOT, entry), { out, port, board, countMethodDepth: !process.env.ESPRUINO });
  // The entry's web folder goes into Storage first, as npm start does.
  const web = webFolderPreamble(path.resolve(ROOT, entry), code);
  if (web.count) fs.writeFileSync(out, web.code + code);
  const server = await startServer(out, { port, mode, workDir, cStackKb, fromStorage });
  return Object.assign(server, { port, url: `http://127.0.0.1:${port}` });
}

/**
 * Sends raw bytes and collects everything until the server closes or `idleMs`
 * pass with nothing new. Returns { data: Buffer (latin1 text in .text), closed }.
 */
export function rawExchange(port, payload, { idleMs = 400, timeoutMs = 10000, chunks } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const received = [];
    let idle;
    let closed = false;
    const finish = () => {
      clearTimeout(idle);
      clearTimeout(overall);
      socket.destroy();
      const data = Buffer.concat(received);
      resolve({ data, text: data.toString('latin1'), closed });
    };
    const overall = setTimeout(finish, timeoutMs);
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(finish, idleMs);
    };
    socket.on('data', (d) => {
      received.push(d);
      armIdle();
    });
    socket.on('end', () => { closed = true; finish(); });
    socket.on('error', (e) => (e.code === 'ECONNRESET' ? (closed = true, finish()) : reject(e)));
    socket.on('connect', async () => {
      const parts = chunks || [payload];
      for (const part of parts) {
        socket.write(typeof part === 'string' ? Buffer.from(part, 'latin1') : part);
        if (chunks) await new Promise((r) => setTimeout(r, 5));
      }
      armIdle();
    });
  });
}

/**
 * Splits a byte stream of HTTP responses (Content-Length framed) into { status, headers, body }
 * objects. isHead[i] true says the i-th answers a HEAD request (no body follows).
 */
export function parseResponses(text, isHead = []) {
  const responses = [];
  let rest = text;
  while (rest.length) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const lines = rest.slice(0, end).split('\r\n');
    const status = parseInt(lines[0].split(' ')[1], 10);
    const headers = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : headers[name] + ', ' + value;
    }
    const noBody = isHead[responses.length] || status === 100 || status === 204 || status === 304;
    const length = noBody ? 0 : parseInt(headers['content-length'] || '0', 10);
    responses.push({ statusLine: lines[0], status, headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return responses;
}

/** A request string with CRLF line ends: request('GET / HTTP/1.1', 'Host: x') + optional body. */
export function request(...lines) {
  return lines.join('\r\n') + '\r\n\r\n';
}
