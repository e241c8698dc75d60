// The smallest C stack that serves: an app is started on the ESP32-memory build
// under `ulimit -s K` and given a scenario of requests; bisection finds the
// smallest K (KB) at which it boots and answers every request correctly.
// The Linux build segfaults where a board would throw "Too much recursion" or
// reset, so a crash, a wrong answer or silence all count as "does not fit".
import http from 'node:http';
import net from 'node:net';
import { startServer } from '../test/helpers/server.mjs';

/** An answer to a request: status, headers and body (latin1). */
function fetchOnce(agent, port, { method = 'GET', path = '/', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * A client a scenario uses: `request(options)` over one keep-alive connection
 * (each answer must match `expect`: a status, and optionally a body test),
 * and `raw(bytes)`, which sends bytes on a connection of their own and
 * resolves with what came back until the server closed or went quiet.
 */
export function stackClient(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    async request(options, status = 200, test) {
      const res = await fetchOnce(agent, port, options);
      if (res.status !== status) throw new Error(`${options.method || 'GET'} ${options.path}: status ${res.status}, expected ${status}`);
      if (test && !test(res)) throw new Error(`${options.method || 'GET'} ${options.path}: unexpected answer ${res.body.slice(0, 80)}`);
      return res;
    },
    raw(bytes, idleMs = 300) {
      return new Promise((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        let text = '';
        let timer;
        const done = () => { clearTimeout(timer); socket.destroy(); resolve(text); };
        const quiet = () => { clearTimeout(timer); timer = setTimeout(done, idleMs); };
        socket.setEncoding('latin1');
        socket.on('connect', () => { socket.write(bytes); quiet(); });
        socket.on('data', (d) => { text += d; quiet(); });
        socket.on('end', done);
        socket.on('error', (e) => (text ? done() : reject(e)));
      });
    },
    close() { agent.destroy(); },
  };
}

/** Does the app serve the scenario with `kb` of C stack? */
async function fits(bundle, port, kb, scenario, timeoutMs, fromStorage) {
  let server;
  try {
    server = await startServer(bundle, { port, mode: 'esp32', cStackKb: kb, timeoutMs: 10000, fromStorage });
  } catch {
    return false; // it did not even boot
  }
  const client = stackClient(port);
  try {
    let timer;
    const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timed out')), timeoutMs); });
    await Promise.race([scenario(client, server), timeout]).finally(() => clearTimeout(timer));
    await new Promise((r) => setTimeout(r, 100));
    return !server.exitStatus() && !/Too much recursion|Uncaught/.test(server.output());
  } catch {
    return false;
  } finally {
    client.close();
    await server.stop();
  }
}

/**
 * The smallest `ulimit -s` (KB, between lo and hi) at which the bundle (built
 * for `port`) serves `scenario(client, server)`, or null if even `hi` does not; `fromStorage`:
 * the bundle runs from Storage, as on a flashed board.
 */
export async function smallestStack(bundle, port, scenario, { lo = 8, hi = 64, timeoutMs = 15000, fromStorage = false } = {}) {
  if (!(await fits(bundle, port, hi, scenario, timeoutMs, fromStorage))) return null;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (await fits(bundle, port, mid, scenario, timeoutMs, fromStorage)) hi = mid;
    else lo = mid;
  }
  return hi;
}
