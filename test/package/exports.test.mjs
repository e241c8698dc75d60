// package.json's exports map: the core and one subpath per plug-in (build.mjs PLUGINS), each
// with its types, and the TestClient; the files list ships what they name. A plug-in added
// to PLUGINS (files, ota, mqtt...) fails here until it has its subpath.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PLUGINS } from '../../build.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

test('the core and every plug-in have a subpath whose types and code are the entry in src/', () => {
  const subpaths = { '.': './src/index.ts', ...Object.fromEntries(PLUGINS.map((p) => [`./${p}`, `./src/${p}/index.ts`])) };
  for (const [subpath, file] of Object.entries(subpaths)) {
    assert.deepEqual(pkg.exports[subpath], { types: file, default: file }, subpath);
    assert.ok(existsSync(join(ROOT, file)), file);
  }
  assert.deepEqual(pkg.exports['./testing'], { types: './tools/test-client.d.ts', default: './tools/test-client.mjs' });
});

test('the package is public, ships what its exports and bin name, and its commands get their tools', () => {
  assert.equal(pkg.private, undefined);
  assert.deepEqual(pkg.bin, { microserver: 'bin/microserver.mjs' });
  const shipped = (file) => pkg.files.some((entry) => (entry.endsWith('/') ? file.startsWith(entry) : file === entry));
  for (const target of Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e)))) {
    assert.ok(target === './package.json' || shipped(target.slice(2)), `${target} is not in "files"`);
  }
  for (const file of ['bin/microserver.mjs', 'build.mjs', 'tsconfig.json', 'test/emulation/espruino.mjs', 'test/emulation/run.mjs', 'templates/init/app.ts']) {
    assert.ok(shipped(file), `${file} is not in "files"`);
  }
  for (const name of ['esbuild', 'typescript', '@types/espruino', 'acorn', 'acorn-walk']) assert.ok(pkg.dependencies[name], `${name} is not a dependency`);
  for (const script of ['start', 'build', 'flash', 'test']) assert.equal(pkg.scripts[script], `node bin/microserver.mjs ${script}`);
  assert.match(pkg.scripts['build:module'], /^node bin\/microserver\.mjs build --modules /);
});
