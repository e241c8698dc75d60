// The gate (tools/gate.mjs): every trap in tools/traps.mjs flags code that
// has it and leaves alone similar code that does not; non-ES5 input is
// refused; fixForEspruino hoists function declarations and fills array holes
// without changing what the code does.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import * as acorn from 'acorn';
import { checkBundle, fixForEspruino } from '../../tools/gate.mjs';
import { TRAPS } from '../../tools/traps.mjs';
import { runBundle, LANE } from './run-bundle.mjs';

// One case per trap id: `bad` must be reported with that id, `good` (the way
// to write it for Espruino, or a look-alike that is fine) must not be.
const CASES = [
  { id: 'regex-slash-in-class', bad: 'var r = /[^/]+/;', good: 'var r = /[^\\/]+/, s = /a\\/b/;' },
  { id: 'regex-after-paren', bad: 'if (x) /a/.test(s);', good: 'if (x) { /a/.test(s); } var y = (a) / b / c;' },
  { id: 'regex-optional', bad: 'var r = /colou?r/;', good: 'var r = /a\\?[?]b*/;' },
  { id: 'regex-anchor-in-alternative', bad: 'var r = /^[ \\t]|[ \\t]$/;', good: 'var r = /[ \\t]$|^[ \\t]/, s = /^a\\|b[|^]/;' },
  { id: 'regex-counted', bad: 'var r = /a{2,3}/;', good: 'var r = /a\\{2\\}[{1}]/;' },
  { id: 'regex-group-syntax', bad: 'var r = /(?:ab)c/;', good: 'var r = /(ab)c\\(\\?/;' },
  { id: 'regex-quantified-group', bad: 'var r = /(ab)+/;', good: 'var r = /(ab)c+\\)+/;' },
  { id: 'regex-word-boundary', bad: 'var r = /\\bword/;', good: 'var r = /\\\\bword[\\b]/;' },
  // Found by the llhttp conformance cases on the real interpreter: /[\x00-\x20\x7f-\xff]/ let raw UTF-8 through.
  { id: 'regex-range-across-ascii', bad: 'var r = /[\\x00-\\x20\\x7f-\\xff]/;', good: 'var r = /[^\\x21-\\x7e][\\x80-\\xff][\\x00-\\x7f]/;' },
  { id: 'regex-flags', bad: 'var r = /a/m;', good: 'var r = /a/gi;' },
  // Found by the static-files fixture: esbuild folded String.fromCharCode(0xc3, 0xa9) into "Ã©".
  { id: 'constant-high-char-code', bad: 'var s = String.fromCharCode(0xc3, 0xa9);', good: 'var s = String.fromCharCode(65, 66) + String.fromCharCode(n);' },
  { id: 'label', bad: 'outer: for (;;) { break outer; }', good: 'for (;;) { break; }' },
  { id: 'missing-global', bad: 'var m = new Map();', good: 'var o = { Map: 1 }; var m = o.Map; var Set = function () {}; new Set();' },
  { id: 'missing-static', bad: 'Object.freeze(o);', good: 'Object.keys(o); var Number = { isInteger: 1 }; Number.isInteger;' },
  { id: 'builtin-prototype-method', bad: 'var a = Array.prototype.slice.call(arguments);',
    good: 'var a = [].slice.call(arguments); var h = Object.prototype.hasOwnProperty.call(o, "k"); function F() {} F.prototype.slice = 1;' },
  { id: 'object-create-descriptors', bad: 'var o = Object.create(p, { a: { value: 1 } });', good: 'var o = Object.create(p);' },
  { id: 'clear-all-timers', bad: 'clearTimeout();', good: 'clearTimeout(t); clearInterval(i);' },
  { id: 'missing-method', bad: 'var i = s.lastIndexOf("a");', good: 'var i = s.indexOf("a");' },
  { id: 'split-limit', bad: 'var p = s.split(":", 2);', good: 'var p = s.split(":");' },
  { id: 'math-pow', bad: 'var n = Math.pow(2, 16);', good: 'var n = Math.sqrt(16) * Math.abs(-2);' },
  { id: 'utc-string', bad: 'var d = new Date(0).toUTCString();', good: 'var d = new Date(0).toISOString();' },
  { id: 'uri-component', bad: 'var e = encodeURIComponent(s);', good: 'var encodeURIComponent = function (s) { return s; }; var e = encodeURIComponent(s);' },
];

const ids = (findings) => findings.map((f) => f.id);

describe('traps', () => {
  test('every trap has a case, and every case a trap', () => {
    const caseIds = new Set(CASES.map((c) => c.id));
    const trapIds = new Set(TRAPS.map((t) => t.id));
    assert.equal(trapIds.size, TRAPS.length, 'trap ids are unique');
    assert.equal(caseIds.size, CASES.length, 'case ids are unique');
    assert.deepEqual([...trapIds].filter((id) => !caseIds.has(id)), [], 'traps without a case in CASES');
    assert.deepEqual([...caseIds].filter((id) => !trapIds.has(id)), [], 'cases for traps that do not exist');
  });

  for (const trap of TRAPS) {
    test(trap.id, () => {
      const c = CASES.find((x) => x.id === trap.id);
      assert.ok(c, `no case for trap ${trap.id}: add {id, bad, good} to CASES`);
      assert.ok(['error', 'warning'].includes(trap.severity), 'severity is error or warning');
      assert.ok(trap.message, 'has a message');
      for (const code of [c.bad, c.good]) acorn.parse(code, { ecmaVersion: 5 }); // the cases themselves are ES5

      const bad = checkBundle(c.bad);
      const hit = bad.find((f) => f.id === trap.id);
      assert.ok(hit, `${trap.id} not flagged in: ${c.bad} (got ${JSON.stringify(ids(bad))})`);
      assert.equal(hit.severity, trap.severity);
      assert.equal(hit.message, trap.message);
      assert.equal(hit.line, 1);
      assert.ok(hit.column >= 0 && hit.column < c.bad.length);

      const good = checkBundle(c.good);
      assert.deepEqual(ids(good), [], `flagged in the good case: ${c.good}`);
    });
  }

  test('non-ES5 input is reported as not-es5', () => {
    for (const code of ['let x = 1;', 'const f = (a) => a;', 'var s = `t`;', 'class A {}', 'var { a } = o;',
      'function f(...r) {}', 'for (var x of y) {}', 'var o = { [k]: 1 };', 'async function f() {}']) {
      const findings = checkBundle(code);
      assert.deepEqual(ids(findings), ['not-es5'], code);
      assert.equal(findings[0].severity, 'error');
      assert.match(findings[0].message, /^not ES5: /);
    }
    assert.throws(() => fixForEspruino('let x = 1;'), /not ES5/);
  });

  test('only the regex flags g and i pass; several traps in one regex are all reported', () => {
    for (const flags of ['m', 'gm', 'im']) assert.deepEqual(ids(checkBundle(`var r = /a/${flags};`)), ['regex-flags'], flags);
    for (const flags of ['', 'g', 'i', 'gi']) assert.deepEqual(ids(checkBundle(`var r = /a/${flags};`)), [], flags);
    for (const flags of ['s', 'u', 'y']) assert.deepEqual(ids(checkBundle(`var r = /a/${flags};`)), ['not-es5'], flags); // ES2015+ flags
    assert.deepEqual(ids(checkBundle('var r = /(?:a)?b{2}/;')).sort(), ['regex-counted', 'regex-group-syntax', 'regex-optional', 'regex-quantified-group']);
  });
});

// ---------------------------------------------------------------------------

/** Runs ES5 code in a fresh V8 context and returns the value of `result`. */
function evaluate(code) {
  const context = vm.createContext({});
  vm.runInContext(code, context);
  return JSON.stringify(context.result);
}

/** The top-level statement types, in order (ExpressionStatement as "expr"). */
function topLevel(code) {
  return acorn.parse(code, { ecmaVersion: 5 }).body.map((s) => (s.type === 'FunctionDeclaration' ? 'function ' + s.id.name : s.directive ? 'directive' : s.type));
}

/** The statement types of the body of the function named `name`. */
function bodyOf(code, name) {
  let found;
  const visit = (node) => {
    if (!node || typeof node.type !== 'string' || found) return;
    if ((node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression') && node.id && node.id.name === name) {
      found = node.body.body.map((s) => (s.type === 'FunctionDeclaration' ? 'function ' + s.id.name : s.directive ? 'directive' : s.type));
      return;
    }
    for (const value of Object.values(node)) {
      if (Array.isArray(value)) value.forEach(visit);
      else if (value && typeof value === 'object') visit(value);
    }
  };
  visit(acorn.parse(code, { ecmaVersion: 5 }));
  return found;
}

describe('fixForEspruino', () => {
  test('moves program-level function declarations before other statements', () => {
    const code = 'var a = first();\nfunction first() { return second() + 1; }\nvar b = a * 2;\nfunction second() { return 10; }\nvar result = [a, b];';
    const fixed = fixForEspruino(code);
    assert.deepEqual(topLevel(fixed), ['function first', 'function second', 'VariableDeclaration', 'VariableDeclaration', 'VariableDeclaration']);
    assert.equal(evaluate(fixed), evaluate(code));
    assert.equal(evaluate(fixed), '[11,22]');
  });

  // Declarations nested two deep, one inside a function that is itself moved.
  const NESTED_FUNCTIONS = [
    'function outer(n) {',
    '  var r = inner(n) + moved(n);',
    '  return r;',
    '  function inner(v) { return v * 10; }',
    '  function moved(v) { var w = deep(v); return w; function deep(x) { return x + 1; } }',
    '}',
  ];

  test('moves nested declarations, including one inside a function that is itself moved', () => {
    const code = [
      'var result = outer(2);',
      ...NESTED_FUNCTIONS,
    ].join('\n');
    const fixed = fixForEspruino(code);
    assert.deepEqual(topLevel(fixed), ['function outer', 'VariableDeclaration']);
    assert.deepEqual(bodyOf(fixed, 'outer'), ['function inner', 'function moved', 'VariableDeclaration', 'ReturnStatement']);
    assert.deepEqual(bodyOf(fixed, 'moved'), ['function deep', 'VariableDeclaration', 'ReturnStatement']);
    assert.equal(evaluate(fixed), evaluate(code));
    assert.equal(evaluate(fixed), '23');
  });

  test('moves declarations in function expressions and keeps directives first', () => {
    const code = '"use strict";\nvar result = (function () { "use strict"\n var v = f(); return v; function f() { return 7; } })() + g();\nfunction g() { return 1; }';
    const fixed = fixForEspruino(code);
    assert.deepEqual(topLevel(fixed), ['directive', 'function g', 'VariableDeclaration']);
    assert.match(fixed, /^"use strict";/);
    assert.match(fixed, /\{ "use strict";?\s*;?function f\(\)/);
    assert.equal(evaluate(fixed), '8');
  });

  test('code without semicolons keeps its meaning when a declaration moves out from between statements', () => {
    const code = 'var result = 1\nfunction f() { return 2 }\n(function () { result = result + f() })()\n';
    const fixed = fixForEspruino(code);
    assert.deepEqual(topLevel(fixed).slice(0, 2), ['function f', 'VariableDeclaration']);
    assert.equal(evaluate(fixed), evaluate(code));
    assert.equal(evaluate(fixed), '3');
  });

  test('leaves code that needs no change untouched', () => {
    const code = 'function f() { return 1; }\nvar result = [f(), [1, 2]];';
    assert.equal(fixForEspruino(code), code);
  });

  test('turns array holes into void 0, including [,,] and trailing holes', () => {
    const cases = [
      ['[1, , 2]', 3],
      ['[,,]', 2],
      ['[,]', 1],
      ['[1, 2, ,]', 3],
      ['[1, , ,]', 3],
      ['[, 1]', 2],
      ['[[, 1], , [2, ,]]', 3],
      ['[f(1, 2), , "a,b", /,/ , , (3, 4)]', 6],
    ];
    for (const [literal, length] of cases) {
      const code = `function f(a, b) { return a + b; }\nvar a = ${literal};\nvar result = { length: a.length, values: a.map ? JSON.stringify(a) : 0 };`;
      const fixed = fixForEspruino(code);
      const arrays = [];
      const ast = acorn.parse(fixed, { ecmaVersion: 5 });
      JSON.stringify(ast, (key, value) => {
        if (value && value.type === 'ArrayExpression') arrays.push(value);
        return value;
      });
      for (const array of arrays) assert.ok(!array.elements.includes(null), `a hole is left in ${fixed}`);
      assert.match(fixed, /void 0/, literal);
      assert.equal(vm.runInNewContext(fixed + ';a.length'), length, literal);
      // Same values (JSON writes a hole and undefined both as null).
      assert.equal(evaluate(fixed), evaluate(code), literal);
    }
  });

  test('fills holes in the generator state machines TypeScript writes', () => {
    const code = 'var result = []; switch (2) { case 1: result.push([0, 2, , 3]); break; case 2: result.push([1, , , 4].length); }';
    const fixed = fixForEspruino(code);
    assert.doesNotMatch(fixed, /,\s*,/);
    assert.match(fixed, /\[0, 2,\s*void 0\s*, 3\]/);
    assert.equal(evaluate(fixed), '[4]');
  });

  test(`fixed code runs on the ${LANE}`, async () => {
    const code = [
      'print(outer(2));',
      ...NESTED_FUNCTIONS,
      'function lengths(k) {',
      '  switch (k) {',
      '    case 1: return 0;',
      '    case 2: return [[1, , 2].length, [,,].length, [1, 2, ,].length, [, 1][1]].join(",");',
      '  }',
      '}',
      'print(lengths(1) + " " + lengths(2));',
    ].join('\n');
    assert.deepEqual(await runBundle(fixForEspruino(code)), ['23', '0 3,2,3,1']);
  });
});
