// An emulated board with a REPL console over TCP, like the telnet console of Espruino's
// Linux build, so `npm run flash` can be tested end to end without the interpreter.
// What it reproduces: a line runs when its newline arrives, Ctrl-C (0x03) clears the line,
// 0x10 at its start turns echo off for it, an exception prints "Uncaught ..."; reset()
// starts a fresh interpreter that keeps Storage, load() and E.reboot() one that also runs
// ".bootcde", as a board boots. Storage persists in <dir>/storage.json.
//
// For faults: `tamper(line, n)` may change the n-th line before it runs, and `stopAnswering()`
// makes the board swallow every later line (a hung board).
import net from 'node:net';
import { join } from 'node:path';
import { createEspruino } from './espruino.mjs';

export async function startEmulatedBoard({ dir, mode = 'esp32', tamper = null } = {}) {
  const storageFile = join(dir, 'storage.json');
  const log = [];
  let client = null;
  let emulation = null;
  let lineCount = 0;
  let silent = false;

  const output = (text) => {
    log.push(text);
    if (client && !client.destroyed) client.write(Buffer.from(text, mode === 'linux' ? 'utf8' : 'latin1'));
  };

  function boot(runBootCode) {
    emulation = createEspruino({ mode, storageFile, stdout: (line) => output(line + '\r\n') });
    const g = emulation.context;
    const restartLater = (withBootCode) => () => { setImmediate(() => restart(withBootCode)); };
    g.reset = restartLater(false);
    g.load = restartLater(true);
    g.E.reboot = restartLater(true);
    if (runBootCode) {
      const code = emulation.storage.read('.bootcde');
      if (code !== undefined) emulation.run(code, '.bootcde');
    }
  }

  async function restart(runBootCode) {
    await emulation.stop();
    boot(runBootCode);
  }

  let line = '';
  function receive(text) {
    for (const ch of text) {
      if (ch === '\x03') {
        line = '';
      } else if (ch === '\n' || ch === '\r') {
        const code = line.replace(/^\x10+/, '');
        line = '';
        if (!code.trim()) continue;
        const n = ++lineCount;
        if (silent) continue;
        emulation.run(tamper ? tamper(code, n) : code, 'REPL');
      } else {
        line += ch;
      }
    }
  }

  boot(true);
  const server = net.createServer((socket) => {
    if (client && !client.destroyed) client.destroy(); // one console at a time, the newest wins
    client = socket;
    socket.on('data', (d) => receive(d.toString(mode === 'linux' ? 'utf8' : 'latin1')));
    socket.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: `tcp://127.0.0.1:${server.address().port}`,
    get emulation() { return emulation; },
    output: () => log.join(''),
    stopAnswering() { silent = true; },
    /** A power cycle: a fresh interpreter that runs the boot code (Storage kept). */
    restart: () => restart(true),
    async stop() {
      if (client) client.destroy();
      await new Promise((resolve) => server.close(resolve));
      await emulation.stop();
    },
  };
}
