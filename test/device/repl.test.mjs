// Live route edits: the running app is the global `app` on the interpreter, so
// a route typed into the REPL (here over the Linux build's telnet console)
// serves at once, and can be removed, while a client keeps requesting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle } from '../../build.mjs';
import { freePort } from '../helpers/ports.mjs';
import { startInterpreter, waitFor, canConnect, telnetEval, TELNET_PORT } from '../helpers/telnet.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('a route added from the REPL serves at once and can be removed; a busy client sees no error', {
  skip: process.env.ESPRUINO ? false : 'the REPL is the real interpreter\'s: set ESPRUINO', timeout: 60000,
}, async () => {
  assert.equal(await canConnect(TELNET_PORT), false, `something already listens on ${TELNET_PORT}: stop it first`);
  const dir = mkdtempSync(join(tmpdir(), 'microserver-repl-'));
  const port = await freePort();
  const { outFile } = await buildBundle(join(ROOT, 'examples/basic.ts'), { port, out: join(dir, 'app.js') });
  const espruino = startInterpreter(dir, outFile);
  try {
    await waitFor('the app', () => canConnect(port));
    await waitFor('the telnet console', () => canConnect(TELNET_PORT));
    const url = `http://127.0.0.1:${port}`;
    let requests = 0;
    let failures = 0;
    let busy = true;
    const client = (async () => {
      while (busy) {
        const res = await fetch(url + '/').catch(() => null);
        requests++;
        if (!res || res.status !== 200) failures++;
        else await res.text();
      }
    })();
    assert.equal((await fetch(url + '/hello')).status, 404);
    assert.equal(await telnetEval(`app.get('/hello', function (req) { return Response.plain('hi from the REPL'); }).routes().length`), '4');
    assert.equal(await (await fetch(url + '/hello')).text(), 'hi from the REPL');
    assert.match(await telnetEval('JSON.stringify(app.routes())'), /\{"method":"GET","path":"\/hello"\}/);
    assert.equal(await telnetEval(`app.removeRoute('/hello')`), '1');
    assert.equal((await fetch(url + '/hello')).status, 404);
    busy = false;
    await client;
    assert.ok(requests > 5, `the client made ${requests} requests`);
    assert.equal(failures, 0);
  } finally {
    await espruino.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
