// Short names for the library's internal top-level bindings. A bundle runs as
// a script, so the minifier keeps its top-level names whole: on Espruino each
// is a global whose name takes one more JsVar past 4 characters (8 on 64-bit
// builds), and every use of it costs bytes of flash and lexing time. The
// entry's own names and the public API keep theirs: the REPL still sees `app`
// and `Response`.
import * as acorn from 'acorn';
import * as walk from 'acorn-walk';
import ts from 'typescript';
import * as esbuild from 'esbuild';
import { readFileSync } from 'node:fs';

const FIRST = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const REST = FIRST + '0123456789_';

/** Every name shortNames() gives: other code that sets globals next to a bundle must not use one. */
export const SHORT_NAME = /^\$([A-Za-z][A-Za-z0-9_]?|_[0-9]+)$/;

/** "$a", "$b", ... "$aa", ...: `$` keeps them apart from the minifier's own names and from Espruino's globals. */
function* shortNames() {
  for (const first of FIRST) yield '$' + first;
  for (const first of FIRST) for (const second of REST) yield '$' + first + second;
  for (let i = 0; ; i++) yield '$_' + i;
}

/**
 * Top-level names that esbuild's (unminified) bundle declares inside modules
 * under `src/`, found from its "// src/..." module comments.
 */
export function libraryNames(bundle) {
  const marks = [];
  const ast = acorn.parse(bundle, {
    ecmaVersion: 'latest',
    sourceType: 'script',
    allowReturnOutsideFunction: true,
    onComment: (block, text, start) => { if (!block) marks.push({ start, module: text.trim() }); },
  });
  const names = new Set();
  for (const node of ast.body) {
    let module = '';
    for (const mark of marks) if (mark.start < node.start) module = mark.module;
    if (!module.startsWith('src/')) continue;
    if ((node.type === 'FunctionDeclaration' || node.type === 'ClassDeclaration') && node.id) names.add(node.id.name);
    else if (node.type === 'VariableDeclaration') for (const d of node.declarations) if (d.id.type === 'Identifier') names.add(d.id.name);
  }
  return names;
}

/** The names the entry files (src/index.ts and the plug-ins' index.ts) export as values: the public API. */
export function publicNames(indexFiles) {
  const names = new Set();
  for (const indexFile of [].concat(indexFiles)) {
    const source = ts.createSourceFile(indexFile, readFileSync(indexFile, 'utf8'), ts.ScriptTarget.Latest);
    for (const statement of source.statements) {
      if (ts.isFunctionDeclaration(statement) && statement.name && statement.modifiers && statement.modifiers.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
        names.add(statement.name.text);
        continue;
      }
      if (!ts.isExportDeclaration(statement) || statement.isTypeOnly || !statement.exportClause || !ts.isNamedExports(statement.exportClause)) continue;
      for (const element of statement.exportClause.elements) if (!element.isTypeOnly) names.add((element.propertyName || element.name).text);
    }
  }
  return names;
}

/**
 * Renames the top-level bindings among `candidates` in ES5 `code`. A name an
 * inner scope also declares is left alone, and so is everything when the code
 * uses eval or with (names could be reached by text).
 */
export function shortenNames(code, candidates) {
  const ast = acorn.parse(code, { ecmaVersion: 5, sourceType: 'script' });
  const topLevel = new Set();
  const topDeclarators = new Set();
  for (const node of ast.body) {
    if (node.type === 'FunctionDeclaration') topLevel.add(node.id.name);
    else if (node.type === 'VariableDeclaration') for (const d of node.declarations) { topLevel.add(d.id.name); topDeclarators.add(d); }
  }
  const used = new Set();
  const inner = new Set();
  let unsafe = false;
  walk.full(ast, (node) => {
    if (node.type === 'Identifier') used.add(node.name);
    else if (node.type === 'WithStatement') unsafe = true;
    else if (node.type === 'VariableDeclarator' && !topDeclarators.has(node)) inner.add(node.id.name);
    else if (node.type === 'CatchClause' && node.param) inner.add(node.param.name);
    else if (node.type === 'FunctionExpression' || (node.type === 'FunctionDeclaration' && !ast.body.includes(node))) {
      if (node.id) inner.add(node.id.name);
      for (const param of node.params) inner.add(param.name);
    } else if (node.type === 'FunctionDeclaration') {
      for (const param of node.params) inner.add(param.name);
    }
  });
  if (unsafe || used.has('eval')) return code;
  const renamable = [...candidates].filter((name) => topLevel.has(name) && !inner.has(name) && name.length > 2);
  const references = new Map(renamable.map((name) => [name, []]));
  walk.fullAncestor(ast, (node, _state, ancestors) => {
    if (node.type !== 'Identifier' || !references.has(node.name)) return;
    const parent = ancestors[ancestors.length - 2];
    if (parent && parent.type === 'MemberExpression' && parent.property === node && !parent.computed) return;
    if (parent && parent.type === 'Property' && parent.key === node && !parent.computed) return;
    references.get(node.name).push(node);
  });
  // The most used names get the shortest replacements.
  const order = renamable.sort((a, b) => references.get(b).length - references.get(a).length);
  const generator = shortNames();
  const edits = [];
  for (const name of order) {
    let short = generator.next().value;
    while (used.has(short)) short = generator.next().value;
    for (const node of references.get(name)) edits.push({ start: node.start, end: node.end, text: short });
  }
  edits.sort((a, b) => a.start - b.start);
  const pieces = [];
  let at = 0;
  for (const edit of edits) {
    pieces.push(code.slice(at, edit.start), edit.text);
    at = edit.end;
  }
  pieces.push(code.slice(at));
  return pieces.join('');
}

/** Interpreter globals a bundle may alias: each exists on every Espruino build this project targets. */
const ESPRUINO_GLOBALS = ['JSON', 'Math', 'String', 'Object', 'Array', 'Number', 'Boolean', 'RegExp', 'Date', 'Promise', 'Error', 'TypeError',
  'RangeError', 'SyntaxError', 'ArrayBuffer', 'Uint8Array', 'parseInt', 'parseFloat', 'isNaN', 'encodeURIComponent', 'decodeURIComponent',
  'E', 'process', 'getTime', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'];

/**
 * Gives each interpreter global the code uses a top-level alias declared first ($$a = JSON,
 * ...). Espruino looks a name up by walking the scope's list of names: a built-in is found only
 * after every one of the bundle's ~160 top-level names was passed (about 4.5 µs on the Linux
 * build), the alias after a handful. Resolves the code unchanged when it uses no such global.
 */
export async function aliasGlobals(code) {
  const aliases = new Map(ESPRUINO_GLOBALS.map((name, i) => [name, '$$' + FIRST[i]]));
  const { code: aliased } = await esbuild.transform(code, {
    define: Object.fromEntries(aliases),
    target: 'es5',
    charset: 'utf8',
    minifyWhitespace: true,
    legalComments: 'none',
  });
  const used = [...aliases].filter(([, alias]) => aliased.includes(alias));
  return used.length ? `var ${used.map(([name, alias]) => alias + '=' + name).join(',')};${aliased}` : code;
}
