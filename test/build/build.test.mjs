// build.mjs: TypeScript in, one ES5 bundle out that runs on Espruino the way
// the same TypeScript runs on Node. Bundles run on the real interpreter when
// ESPRUINO names its binary, else in the emulation (see run-bundle.mjs).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as acorn from 'acorn';
import { buildBundle, BuildError } from '../../build.mjs';
import { checkBundle } from '../../tools/gate.mjs';
import { runBundle, LANE } from './run-bundle.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixture = (name) => path.join(FIXTURES, name + '.ts');
const readJSON = (file) => JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8'));

// Builds are shared between tests: each one is made once, on first use.
const builds = new Map();
function build(name, options = {}) {
  const key = name + JSON.stringify(options);
  if (!builds.has(key)) builds.set(key, buildBundle(fixture(name), { write: false, ...options }));
  return builds.get(key);
}

/** The BuildError a build fails with (fails the test if it builds). */
async function buildError(entry, options = {}) {
  const error = await buildBundle(entry, { write: false, ...options }).then(() => null, (e) => e);
  assert.ok(error, `${entry} built, but should have failed`);
  assert.ok(error instanceof BuildError, `not a BuildError: ${error && error.stack}`);
  return error;
}

// What Node prints for test/build/fixtures/language.ts (run with esbuild's own
// bundle and print = console.log), in order.
const LANGUAGE_OUTPUT = [
  'hoisted 42',
  'rex says woof!',
  'dog:rex:3',
  'super-getter animal:rex',
  'tricks 2',
  'Dog(rex) cat says ...',
  'count 2 instanceof true true',
  'proto true ctor true',
  'forof 10 a.b.c.',
  'range closed',
  'gen forof 0,1,2',
  'range closed',
  'gen next 5,false,6,false,end,true,,true',
  'range closed',
  'yield* x,1,end',
  'sent first|got a|got b|stopped',
  'destructure 1 20 3,4 n dflt {"extra":1,"more":2}',
  'nested 5 7',
  'rest 1 3 spread 9 19',
  'array spread 0,2,3,4,h,i,5',
  'object spread {"a":1,"b":3,"c":4} {"a":1,"b":2}',
  'swap 2,1',
  'template world 3 2+4 / second line',
  'sync done',
  'async one,caught boom,in catch,finally,a,b',
  'async throw rejected',
  'all p1,p2',
  'method 15',
  'module shape with 4 sides, area 9 +1 shape with 4 sides, area 4 3,2,1',
  'END',
];

// The helpers build.mjs can inject (tools/espruino-helpers.js), and those the language fixture needs.
const HELPERS = [...fs.readFileSync(path.join(ROOT, 'tools/espruino-helpers.js'), 'utf8').matchAll(/^\/\/ @helper (\w+)/gm)].map((m) => m[1]);
const LANGUAGE_HELPERS = ['__extends', '__assign', '__rest', '__values', '__read', '__spreadArray', '__generator', '__awaiter'];

describe(`build.mjs, bundles run on the ${LANE}`, () => {
  test('TypeScript features run as on Node: classes, generators, async, destructuring, spread, hoisting', async () => {
    const { code } = await build('language');
    const lines = await runBundle(code, { until: 'END' });
    // TypeScript's ES5 output reads `super.label` as `_super.prototype.label`, so a
    // getter reached through super runs with the prototype as `this` (the same
    // in Node on that output). A known limitation, stated in docs/contributing.md.
    const withoutSuperGetter = (list) => list.filter((line) => !line.startsWith('super-getter '));
    assert.deepEqual(withoutSuperGetter(lines), withoutSuperGetter(LANGUAGE_OUTPUT));
  });

  test('each helper is defined once, only when used, and none is duplicated under another name', async () => {
    const { code } = await build('language');
    // After minification a helper is still a top-level `var __name=function(...)`,
    // perhaps merged into one var statement (`,__name=function`).
    const definitions = (name) => (code.match(new RegExp('(?:^|[\\s,;])(?:var )?' + name + '=function', 'g')) || []).length;
    for (const name of HELPERS) {
      const used = new RegExp('\\b' + name + '\\b').test(code);
      assert.equal(definitions(name), used ? 1 : 0, `${name}: ${definitions(name)} definitions`);
    }
    for (const name of LANGUAGE_HELPERS) assert.equal(definitions(name), 1, `${name} should be in the bundle`);
    // esbuild renames a second copy of a helper from another module (__extends2).
    assert.deepEqual(code.match(/\b__[a-zA-Z]+\d+\b/g), null);
    // None of TypeScript's own helpers slipped through (they start `var __x = (this && this.__x) || ...`).
    assert.doesNotMatch(code, /this&&this\.__/);
  });

  test('the output is ES5 with no Symbol, no Object.setPrototypeOf and no traps', async () => {
    for (const { code } of [await build('language'), await build('utf8'), await build('settings', { board: 'linux' })]) {
      assert.doesNotThrow(() => acorn.parse(code, { ecmaVersion: 5, sourceType: 'script' }));
      assert.doesNotMatch(code, /\bSymbol\b/);
      assert.doesNotMatch(code, /setPrototypeOf/);
      assert.deepEqual(checkBundle(code), []);
    }
  });

  test('non-ASCII string literals are raw UTF-8 bytes, not escapes', async () => {
    const { code, size } = await build('utf8');
    const bytes = Buffer.from(code, 'utf8');
    assert.equal(size, bytes.length);
    assert.ok(bytes.includes(Buffer.from('héllo €', 'utf8')), 'the UTF-8 bytes of "héllo €" are in the bundle');
    assert.ok(bytes.includes(Buffer.from([0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f, 0x20, 0xe2, 0x82, 0xac])));
    assert.doesNotMatch(code, /\\u00e9|\\u20ac|\\xe9|\\u\{/i);
    assert.deepEqual(await runBundle(code), ['héllo €', 'héllo €!', '6 jürgen,zoë,josé']);
  });

  describe('boards and settings', () => {
    const printed = async (options) => runBundle((await build('settings', options)).code);
    const expected = (board, forced) => [
      'maxConns ' + board.maxConns, 'maxBodySize ' + board.maxBodySize, 'port ' + board.port,
      'code maxConns 3', 'forced ' + forced,
    ];

    test('--board linux bakes in boards/linux.json', async () => {
      assert.deepEqual(await printed({ board: 'linux' }), expected(readJSON('boards/linux.json'), undefined));
    });

    test('another board bakes in its own values', async () => {
      const c3 = readJSON('boards/esp32c3.json');
      const linux = readJSON('boards/linux.json');
      assert.notEqual(c3.maxConns, linux.maxConns, 'the boards differ, so the test shows which one was used');
      assert.deepEqual(await printed({ board: 'esp32c3' }), expected(c3, undefined));
    });

    test('without a board the code defaults apply; code settings win over everything', async () => {
      const lines = await printed({});
      const linux = readJSON('boards/linux.json');
      assert.equal(lines.length, 5, lines.join('\n'));
      assert.match(lines[0], /^maxConns \d+$/);
      assert.notEqual(lines[0], 'maxConns ' + linux.maxConns);
      assert.deepEqual(lines.slice(3), ['code maxConns 3', 'forced undefined']);
    });

    test('the port option bakes in FORCED_PORT', async () => {
      const linux = readJSON('boards/linux.json');
      assert.deepEqual(await printed({ board: 'linux', port: 1234 }), expected(linux, 1234));
      assert.deepEqual((await printed({ port: '8081' })).slice(3), ['code maxConns 3', 'forced 8081']);
    });

    test('a bad port or an unknown board is a BuildError', async () => {
      for (const port of [0, 65536, 'http', 1.5]) {
        assert.match((await buildError(fixture('settings'), { port })).message, /--port must be 1-65535/);
      }
      const boards = fs.readdirSync(path.join(ROOT, 'boards')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
      assert.ok(boards.length >= 3);
      for (const board of ['esp8266', '../package']) {
        const { message } = await buildError(fixture('settings'), { board });
        assert.ok(message.includes(`unknown board "${board}"`), message);
        for (const name of boards) assert.ok(message.includes(name), `${message} should name board ${name}`);
      }
    });
  });

  describe('what cannot be built', () => {
    test('async generators are refused with a reason', async () => {
      const { message } = await buildError(fixture('async-generator'));
      assert.match(message, /async generator functions \(async function\*\) are not supported/);
    });

    test('#private fields are refused with a reason', async () => {
      const { message } = await buildError(fixture('private-field'));
      assert.match(message, /#private class members are not supported/);
    });

    test('a regex trap in user code fails the build with the trap id', async () => {
      const { message } = await buildError(fixture('regex-trap'));
      assert.match(message, /regex-trap\.ts: the bundle would fail on Espruino/);
      assert.match(message, /\[regex-slash-in-class\]/);
      assert.ok(message.includes('/[^/]+/'), message);
    });

    test('a missing entry or import is a clear error', async () => {
      const missing = path.join(FIXTURES, 'no-such-file.ts');
      const entryError = await buildError(missing);
      assert.match(entryError.message, /^entry not found: /);
      assert.ok(entryError.message.includes('no-such-file.ts'));
      const importError = await buildError(fixture('missing-import'));
      assert.match(importError.message, /^esbuild failed:/);
      assert.match(importError.message, /missing-import\.ts:\d+:\d+: .*Could not resolve "\.\/does-not-exist"/);
    });

    test('warnings do not fail the build', async () => {
      const { code, warnings } = await build('warning');
      assert.deepEqual(warnings.map((w) => w.id), ['math-pow']);
      assert.deepEqual(await runBundle(code), ['pow 8']);
    });
  });

  describe('the command line', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'build-cli-'));
    // Run in an empty folder: no espruino.json or app.ts to name a default entry.
    const cli = (...args) => new Promise((resolve) => {
      execFile(process.execPath, [path.join(ROOT, 'build.mjs'), ...args], { cwd: tmp }, (error, stdout, stderr) => {
        resolve({ code: error ? error.code : 0, stdout, stderr });
      });
    });

    test('builds to --out and prints the size', async () => {
      const out = path.join(tmp, 'sub', 'utf8.js');
      const run = await cli(fixture('utf8'), '--out', out, '--board', 'linux');
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, `${out}: ${fs.statSync(out).size} bytes\n`);
      assert.equal(run.stderr, '');
      assert.equal(fs.readFileSync(out, 'utf8'), (await build('utf8')).code);
    });

    test('--out=file works too, and warnings go to stderr', async () => {
      const out = path.join(tmp, 'warning.js');
      const run = await cli(fixture('warning'), `--out=${out}`);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /warning\.js: \d+ bytes\n$/);
      assert.match(run.stderr, /warning \[math-pow\]/);
    });

    test('a trap exits 1 with "build failed:" on stderr and writes nothing', async () => {
      const out = path.join(tmp, 'regex-trap.js');
      const run = await cli(fixture('regex-trap'), '--out', out);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^build failed: .*\n[\s\S]*\[regex-slash-in-class\]/);
      assert.equal(run.stdout, '');
      assert.equal(fs.existsSync(out), false);
    });

    test('no entry named and none to default to: says how to name one, exit 1; --help: the usage', async () => {
      const run = await cli();
      assert.equal(run.code, 1);
      assert.equal(run.stderr, 'build failed: no app.ts here and no "entry" in espruino.json: name the app\'s entry file\n');
      const help = await cli('--help');
      assert.equal(help.code, 0);
      assert.match(help.stdout, /^usage: microserver build \[entry\.ts\]/);
    });
  });
});
