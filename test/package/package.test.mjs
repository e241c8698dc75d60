// The package as a user gets it: `npm pack`, the tarball installed into a fresh folder outside
// the repository, `microserver init DIR`, then that project's `npm test`, `npm run build` (type
// errors as file:line, --no-check), `npm run flash -- --dry-run` and `npm start` answering on
// http://127.0.0.1:8080/.
// npm installs with --prefer-offline: the package's dependencies (esbuild, typescript, acorn,
// @types/espruino) are the repository's own, already in npm's cache after `npm ci`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPortFree, freePort } from '../helpers/ports.mjs';
import { lane } from '../helpers/server.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
const DEFAULT_PORT = 8080;
// Without the variable node --test sets: the project's own `node --test` would take itself for a nested run.
const { NODE_TEST_CONTEXT, ...ENV } = process.env;

let dir;
let project;

/** Runs a command; resolves { code, out } (stdout and stderr together). */
function run(command, args, cwd, timeoutMs = 180000) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'microserver-package-'));
  const packed = await run('npm', ['pack', '--pack-destination', dir, '--loglevel=error'], ROOT);
  assert.equal(packed.code, 0, packed.out);
  const tarball = join(dir, packed.out.trim().split('\n').pop());
  project = join(dir, 'greenhouse');
  const installed = await run('npm', ['install', ...NPM_FLAGS, '--prefix', project, tarball], dir);
  assert.equal(installed.code, 0, installed.out);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('microserver init DIR scaffolds a project; its npm install and npm test pass', async () => {
  const init = await run(join(project, 'node_modules/.bin/microserver'), ['init', 'greenhouse'], dir);
  assert.equal(init.code, 0, init.out);
  for (const file of ['app.ts', 'www/index.html', 'test/app.test.mjs', 'tsconfig.json', 'espruino.json', '.gitignore']) {
    assert.ok(existsSync(join(project, file)), `${file} is missing`);
  }
  const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
  assert.deepEqual(Object.keys(pkg.scripts).sort(), ['build', 'flash', 'start', 'test']);
  const again = await run(join(project, 'node_modules/.bin/microserver'), ['init'], project);
  assert.equal(again.code, 2);
  assert.match(again.out, /already has app\.ts.*\(--force overwrites\)/);

  const installed = await run('npm', ['install', ...NPM_FLAGS], project);
  assert.equal(installed.code, 0, installed.out);
  const tested = await run('npm', ['test'], project);
  assert.equal(tested.code, 0, tested.out);
  assert.match(tested.out, /type check: \d+ files, no errors/);
  assert.match(tested.out, /pass 4/);
});

test('npm run build type-checks: a handler returning undefined or a plain object fails as file:line; --no-check skips; npm run flash plans the app and www/', async () => {
  const app = readFileSync(join(project, 'app.ts'), 'utf8');
  writeFileSync(join(project, 'broken.ts'), app.replace('app.run();', "app.get('/nothing', () => undefined);\napp.get('/object', () => ({ plain: true }));\napp.run();"));
  const lines = readFileSync(join(project, 'broken.ts'), 'utf8').split('\n');
  const lineOf = (text) => lines.findIndex((l) => l.includes(text)) + 1;
  const failed = await run('npm', ['run', 'build', '--', 'broken.ts'], project);
  assert.equal(failed.code, 1, failed.out);
  assert.match(failed.out, new RegExp(`broken\\.ts:${lineOf("'/nothing'")}:\\d+: error TS2322: Type 'undefined' is not assignable`));
  assert.match(failed.out, new RegExp(`broken\\.ts:${lineOf("'/object'")}:\\d+: error TS2322: Type '\\{ plain: boolean; \\}' is not assignable`));
  assert.ok(!existsSync(join(project, 'dist/broken.js')), 'a bundle was written despite the errors');
  const unchecked = await run('npm', ['run', 'build', '--', 'broken.ts', '--no-check'], project);
  assert.equal(unchecked.code, 0, unchecked.out);
  assert.ok(existsSync(join(project, 'dist/broken.js')));
  const built = await run('npm', ['run', 'build'], project);
  assert.equal(built.code, 0, built.out);
  assert.match(built.out, /dist\/app\.js: \d+ bytes/);
  const flash = await run('npm', ['run', 'flash', '--', '--dry-run'], project);
  assert.equal(flash.code, 0, flash.out);
  assert.match(flash.out, /flash app\.ts for board esp32 on \/dev\/ttyUSB0 at 115200 baud \(settings: espruino\.json\)/);
  assert.match(flash.out, /www\/index\.html -> Storage "www\/index\.html\.gz"/);
  assert.match(flash.out, /dry run: nothing was sent/);
  const help = await run('npm', ['start', '--', '--help'], project);
  assert.equal(help.code, 0, help.out);
  assert.match(help.out, /usage: microserver start/);
});

test(`npm start serves the project on http://127.0.0.1:${DEFAULT_PORT}/ (${lane()})`, async (t) => {
  // 8080 is the default the README promises; when something else holds it, a free port shows the same.
  const port = (await isPortFree(DEFAULT_PORT)) ? DEFAULT_PORT : await freePort();
  if (port !== DEFAULT_PORT) t.diagnostic(`port ${DEFAULT_PORT} is busy: --port ${port}`);
  const args = port === DEFAULT_PORT ? ['start'] : ['start', '--', '--port', String(port)];
  const child = spawn('npm', args, { cwd: project, env: ENV, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  try {
    const deadline = Date.now() + 60000;
    let page;
    while (!page) {
      assert.ok(Date.now() < deadline, `nothing answered on ${port}:\n${out}`);
      assert.equal(child.exitCode, null, `npm start exited:\n${out}`);
      page = await fetch(`http://127.0.0.1:${port}/`).catch(() => null);
      if (!page) await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Hello from MicroServer/);
    assert.deepEqual(await (await fetch(`http://127.0.0.1:${port}/api/hello/board`)).json(), { hello: 'board' });
    assert.match(out, new RegExp(`http://127\\.0\\.0\\.1:${port}/`));
  } finally {
    process.kill(-child.pid, 'SIGKILL');
  }
});
