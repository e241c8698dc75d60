// bin/microserver.mjs in the repository: --help for every command (also through npm start),
// the type check of build and start, and `start --board esp32c3` running the app from Storage
// (on ESPRUINO_C3's 4095-JsVar heap on the real interpreter: loaded into RAM it runs out of memory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/ports.mjs';
import { c3Unavailable, lane } from '../helpers/server.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'bin/microserver.mjs');

const cli = (args, cwd = ROOT) => spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 60000 });

function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'microserver-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('every command has --help; no command or an unknown one prints the commands', () => {
  for (const command of ['init', 'start', 'build', 'flash', 'test']) {
    const run = cli([command, '--help']);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^usage: microserver ${command} `), command);
  }
  const bare = cli([]);
  assert.equal(bare.status, 2);
  assert.match(bare.stdout, /init \[dir\][\s\S]*start \[entry\][\s\S]*build \[entry\][\s\S]*flash \[entry\][\s\S]*test \[files\]/);
  const unknown = cli(['deploy']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "deploy"/);
});

test('npm start -- --help prints the usage and starts nothing', () => {
  const run = spawnSync('npm', ['start', '--', '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /usage: microserver start \[entry\.ts\][\s\S]*--no-check/);
  assert.doesNotMatch(run.stdout, /Ctrl-C stops\)$/m);
});

test('build, start and flash refuse a handler returning undefined or a plain object, as file:line:column; --no-check builds it', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'app.ts'), `import { MicroServer, Response } from '${join(ROOT, 'src/index')}';
const app = new MicroServer({ port: 80 });
app.get('/ok', () => Response.plain('ok'));
app.get('/forgot', () => { Response.plain('lost'); });
app.get('/object', () => ({ plain: true }));
app.run();
`);
  for (const args of [['build'], ['start'], ['flash', '--dry-run']]) {
    const run = cli(args, dir);
    assert.equal(run.status, 1, run.stdout);
    assert.match(run.stderr, new RegExp(`^${args[0]} failed: type check failed \\(--no-check skips it\\):\\napp\\.ts:4:\\d+: error TS2345: .*'\\(\\) => void'`, 'm'));
    assert.match(run.stderr, /^app\.ts:5:\d+: error TS2322: Type '\{ plain: boolean; \}' is not assignable/m);
  }
  const unchecked = cli(['build', '--no-check'], dir);
  assert.equal(unchecked.status, 0, unchecked.stderr);
  assert.match(unchecked.stdout, /dist\/app\.js: \d+ bytes/);
});

test(`start --board esp32c3 runs the app from Storage and serves (${lane()})`, { skip: c3Unavailable() }, async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'start', join(ROOT, 'examples/basic.ts'), '--board', 'esp32c3', '--port', String(port), '--no-check'],
    { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  t.after(() => process.kill(-child.pid, 'SIGKILL'));
  const deadline = Date.now() + 30000;
  let res;
  while (!res) {
    assert.ok(Date.now() < deadline, `nothing answered:\n${out}`);
    assert.equal(child.exitCode, null, `start exited:\n${out}`);
    res = await fetch(`http://127.0.0.1:${port}/`).catch(() => null);
    if (!res) await new Promise((r) => setTimeout(r, 200));
  }
  assert.deepEqual(await res.json(), { message: 'Hello from MicroServer' });
  assert.match(out, /board esp32c3, run from Storage/);
  if (lane() === 'espruino') assert.match(out, new RegExp(`on Espruino \\(${process.env.ESPRUINO_C3.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
  assert.doesNotMatch(out, /OUT OF MEMORY|LOW_MEMORY/);
});
