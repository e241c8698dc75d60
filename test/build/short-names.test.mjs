// tools/short-names.mjs: the library's internal top-level names get short
// ones; the entry's names, the public API, property names and anything an
// inner scope declares keep theirs.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as acorn from 'acorn';
import * as acornWalk from 'acorn-walk';
import { shortenNames, libraryNames, publicNames, aliasGlobals, SHORT_NAME } from '../../tools/short-names.mjs';
import { USAGE_HELPER } from '../../bench/interpreter.mjs';
import { buildBundle, PUBLIC_ENTRIES } from '../../build.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function topLevelNames(code) {
  const names = [];
  for (const node of acorn.parse(code, { ecmaVersion: 5 }).body) {
    if (node.type === 'FunctionDeclaration') names.push(node.id.name);
    else if (node.type === 'VariableDeclaration') for (const d of node.declarations) names.push(d.id.name);
  }
  return names;
}

describe('short names for internal top-level bindings', () => {
  test('references are renamed with the declaration; property names and other bindings are not', () => {
    const code = 'function helperName(e){return{helperName:e,x:e.helperName}}var tableOfThings={a:1};' +
      'var app=helperName(tableOfThings.a);var out=[app.helperName,app.x,tableOfThings["a"]];';
    const short = shortenNames(code, new Set(['helperName', 'tableOfThings']));
    // The most used name gets the first short name.
    assert.deepEqual(topLevelNames(short), ['$b', '$a', 'app', 'out']);
    const context = {};
    vm.runInNewContext(short + ";this.result=JSON.stringify(out);", context);
    assert.equal(context.result, "[1,null,1]");
    assert.match(short, /\{helperName:e,x:e\.helperName\}/);
  });

  test('a name an inner scope declares too is left alone; so is everything when the code uses eval', () => {
    const shadowed = 'var counter=1;function bump(counter){return counter+1}';
    assert.equal(shortenNames(shadowed, new Set(['counter', 'bump'])), 'var counter=1;function $a(counter){return counter+1}');
    const withEval = 'var longName=1;eval("longName")';
    assert.equal(shortenNames(withEval, new Set(['longName'])), withEval);
  });

  test('the bench\'s console helper is no name a bundle\'s globals can have (it once replaced a library function)', () => {
    assert.ok(SHORT_NAME.test('$a') && SHORT_NAME.test('$bu') && SHORT_NAME.test('$Z_') && SHORT_NAME.test('$_12'));
    assert.ok(!SHORT_NAME.test(USAGE_HELPER), USAGE_HELPER);
    const names = shortenNames(Array.from({ length: 4000 }, (_, i) => `var name${i}=${i};`).join('') + 'var out=[' + Array.from({ length: 4000 }, (_, i) => `name${i}`).join(',') + '];',
      new Set(Array.from({ length: 4000 }, (_, i) => `name${i}`)));
    for (const name of topLevelNames(names).filter((n) => n !== 'out')) assert.ok(SHORT_NAME.test(name), name);
  });

  test('a new name never collides with one the code already uses', () => {
    const code = 'var $a=1;function helperName(){return $a}';
    assert.equal(shortenNames(code, new Set(['helperName'])), 'var $a=1;function $b(){return $a}');
  });

  test('library names come from the src/ modules of the bundle; the public API is what src/index.ts and the plug-ins\' index.ts export as values', () => {
    const bundle = '// src/a.ts\nfunction inLibrary() {}\nvar libraryConst = 1;\n// examples/app.ts\nvar app = 2;\n';
    assert.deepEqual([...libraryNames(bundle)], ['inLibrary', 'libraryConst']);
    const api = publicNames(PUBLIC_ENTRIES);
    for (const name of ['MicroServer', 'Response', 'Request', 'SSEHub', 'sse', 'WebSocketHub', 'webSocket', 'mountStatic', 'sendFile', 'CORSMiddleware', 'startWifi']) assert.ok(api.has(name), name);
    assert.ok(!api.has('ServerOptions'), 'type exports are not values');
  });

  test('a built example keeps `app`, `Response` and `MicroServer` global and shortens the rest', async () => {
    const { code } = await buildBundle(ROOT + 'examples/basic.ts', { board: 'esp32', write: false });
    const names = topLevelNames(code);
    for (const kept of ['app', 'Response', 'MicroServer']) assert.ok(names.includes(kept), kept);
    assert.ok(!names.includes('indexOfWhole') && !names.includes('RequestParser'), 'internal names are shortened');
    assert.ok(names.filter((name) => name.startsWith('$')).length > 100);
  });

  test('the same bundle whatever the current directory (a user builds from their own project)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'build-cwd-'));
    try {
      // A process of its own: esbuild's service keeps the directory it started in.
      for (const cwd of [ROOT, dir]) {
        const run = spawnSync(process.execPath, [ROOT + 'build.mjs', ROOT + 'examples/basic.ts', '--board', 'esp32', '--out', join(dir, 'from-' + (cwd === dir ? 'elsewhere' : 'root') + '.js')], { cwd, encoding: 'utf8' });
        assert.equal(run.status, 0, run.stderr);
      }
      assert.equal(readFileSync(join(dir, 'from-elsewhere.js'), 'utf8'), readFileSync(join(dir, 'from-root.js'), 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('aliases for the interpreter\'s globals', () => {
  test('a bundle reaches JSON, Object, E... through aliases declared before anything else, and a local of the same name is left alone', async () => {
    const code = await aliasGlobals('function f(E){return E+JSON.stringify(Object.keys(E))}var n=parseInt("7",10);');
    const ast = acorn.parse(code, { ecmaVersion: 5 });
    const first = ast.body[0];
    assert.equal(first.type, 'VariableDeclaration');
    assert.deepEqual(first.declarations.map((d) => [d.id.name, d.init.name]), [['$$a', 'JSON'], ['$$d', 'Object'], ['$$q', 'parseInt']]);
    assert.match(code, /function f\(E\)\{return E\+\$\$a\.stringify\(\$\$d\.keys\(E\)\)\}/);
    const context = {};
    vm.runInNewContext(code + ';this.result=f({k:1})+n;', context);
    assert.equal(context.result, '[object Object]["k"]7');
    assert.equal(await aliasGlobals('var plain=1;'), 'var plain=1;', 'no global used: no alias');
  });

  test('a built example names each global it uses once, in the first statement', async () => {
    const { code } = await buildBundle(ROOT + 'examples/basic.ts', { board: 'esp32', write: false });
    const [first, ...rest] = acorn.parse(code, { ecmaVersion: 5 }).body;
    const aliased = new Set(first.declarations.map((d) => d.init.name));
    for (const name of ['JSON', 'Object', 'E', 'setTimeout']) assert.ok(aliased.has(name), name);
    const bare = [];
    for (const node of rest) acornWalk.full(node, (n) => { if (n.type === 'Identifier' && aliased.has(n.name)) bare.push(n.name); });
    // What is left is a parameter or local of that name (minified code names its locals freely).
    for (const name of new Set(bare)) assert.ok(!['JSON', 'Object', 'setTimeout'].includes(name), `${name} is looked up past the aliases`);
  });
});
