// The bundle gate: makes ES5 output safe where it can (fixForEspruino) and
// reports what it cannot (checkBundle), using the trap list in traps.mjs.
import * as acorn from 'acorn';
import * as walk from 'acorn-walk';
import { TRAPS } from './traps.mjs';

function parseES5(code) {
  try {
    return acorn.parse(code, { ecmaVersion: 5, sourceType: 'script', locations: true });
  } catch (e) {
    throw Object.assign(new Error(`not ES5: ${e.message}`), { gate: true });
  }
}

/**
 * Rewrites what Espruino runs wrongly but can be fixed mechanically:
 * - array holes ([a, , b], written by TypeScript's generator lowering) become void 0;
 * - function declarations move to the top of their body (Espruino does not hoist);
 * - non-ASCII property names that the minifier unquoted ({"jürgen": 1} became
 *   {jürgen:1}, u["é"] became u.é) are quoted again: Espruino's lexer reads
 *   identifiers as ASCII only and stops with a SyntaxError.
 * Each pass applies edits that cannot overlap, then parses again, until none are left.
 */
export function fixForEspruino(code) {
  for (;;) {
    const edits = quoteEdits(code, parseES5(code));
    if (!edits.length) edits.push(...holeEdits(code, parseES5(code)));
    if (!edits.length) edits.push(...hoistEdits(code, parseES5(code)));
    if (!edits.length) return code;
    edits.sort((a, b) => (b.at - a.at) || (b.order - a.order));
    for (const edit of edits) code = code.slice(0, edit.at) + edit.text + code.slice(edit.at + edit.remove);
  }
}

const NON_ASCII = /[^\x00-\x7f]/;

function quoteEdits(code, ast) {
  const edits = [];
  walk.full(ast, (node) => {
    if (node.type === 'Property' && node.key.type === 'Identifier' && NON_ASCII.test(node.key.name)) {
      edits.push({ at: node.key.start, remove: node.key.end - node.key.start, text: JSON.stringify(node.key.name), order: 0 });
    } else if (node.type === 'MemberExpression' && !node.computed && NON_ASCII.test(node.property.name)) {
      const dot = code.lastIndexOf('.', node.property.start);
      edits.push({ at: dot, remove: node.property.end - dot, text: '[' + JSON.stringify(node.property.name) + ']', order: 0 });
    }
  });
  return edits;
}

function holeEdits(code, ast) {
  const edits = [];
  walk.full(ast, (node) => {
    if (node.type !== 'ArrayExpression') return;
    let pos = node.start + 1; // just after "[" or after the comma that ended the previous element
    node.elements.forEach((element) => {
      if (element === null) edits.push({ at: pos, remove: 0, text: 'void 0', order: 0 });
      pos = code.indexOf(',', element ? element.end : pos) + 1;
    });
  });
  return edits;
}

function hoistEdits(code, ast) {
  const moves = [];
  // A moved function goes after the body's directives ("use strict" must stay
  // first), with a ";" if the last directive has none. Where it was, a ";" is
  // left unless the statement before is a function or ends with ";": without
  // semicolons, removing it could join the statements around it
  // (`x = 1 \n function f() {} \n (g)()` would become the call `1(g)()`).
  const collect = (body, fallback) => {
    let insertAt = fallback, prefix = '', seenOther = false;
    for (const statement of body) {
      if (!statement.directive) break;
      insertAt = statement.end;
      prefix = code[statement.end - 1] === ';' ? '' : ';';
    }
    body.forEach((statement, i) => {
      if (statement.type === 'FunctionDeclaration') {
        if (seenOther) {
          const before = body[i - 1];
          const keep = before.type === 'FunctionDeclaration' || code[before.end - 1] === ';' ? '' : ';';
          moves.push({ start: statement.start, end: statement.end, insertAt, prefix, keep });
        }
      } else if (!statement.directive && statement.type !== 'EmptyStatement') seenOther = true;
    });
  };
  collect(ast.body, 0);
  walk.full(ast, (node) => {
    if (node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression') {
      collect(node.body.body, node.body.start + 1);
    }
  });
  // Outer moves first; a move touching another's range waits for the next pass.
  moves.sort((a, b) => (b.end - b.start) - (a.end - a.start));
  const inside = (pos, move) => pos > move.start && pos < move.end;
  const accepted = [];
  for (const move of moves) {
    const clash = accepted.some((other) => inside(move.start, other) || inside(move.insertAt, other) || inside(other.insertAt, move));
    if (!clash) accepted.push(move);
  }
  return accepted.flatMap((move) => [
    { at: move.start, remove: move.end - move.start, text: move.keep, order: 0 },
    { at: move.insertAt, remove: 0, text: move.prefix + code.slice(move.start, move.end), order: move.start },
  ]);
}

/** The [low, high] code ranges written as a-b inside the character classes of a regex pattern. */
function classRanges(pattern) {
  const ranges = [];
  const classes = pattern.match(/\[(?:[^\]\\]|\\.)*\]/g) || [];
  const atom = /\\x([0-9A-Fa-f]{2})|\\u([0-9A-Fa-f]{4})|\\(.)|([^\\])/gy;
  for (const cls of classes) {
    const body = cls.slice(cls[1] === '^' ? 2 : 1, -1);
    const codes = [];
    atom.lastIndex = 0;
    for (let m = atom.exec(body); m; m = atom.exec(body)) {
      codes.push(m[1] ? parseInt(m[1], 16) : m[2] ? parseInt(m[2], 16) : m[3] ? (m[3] === '-' ? -2 : -1) : m[4] === '-' ? -3 : m[4].charCodeAt(0));
    }
    // -3 is an unescaped "-" between two codes: a range.
    for (let i = 1; i + 1 < codes.length; i++) {
      if (codes[i] === -3 && codes[i - 1] >= 0 && codes[i + 1] >= 0) ranges.push([codes[i - 1], codes[i + 1]]);
    }
  }
  return ranges;
}

function stripClasses(pattern) {
  return pattern.replace(/\[(?:[^\]\\]|\\.)*\]/g, '[]');
}

function memberName(node) {
  if (node.type === 'Identifier') return node.name;
  if (node.type === 'MemberExpression' && !node.computed) {
    const object = memberName(node.object);
    return object && object + '.' + node.property.name;
  }
  return null;
}

/** Returns [{ id, severity, message, line, column, detail }] for every trap found in ES5 code. */
export function checkBundle(code, traps = TRAPS) {
  let ast;
  try {
    ast = parseES5(code);
  } catch (e) {
    return [{ id: 'not-es5', severity: 'error', message: e.message, line: 0, column: 0, detail: '' }];
  }
  const findings = [];
  const report = (trap, node, detail) => findings.push({
    id: trap.id, severity: trap.severity, message: trap.message,
    line: node.loc.start.line, column: node.loc.start.column, detail,
  });
  const declared = new Set();
  walk.full(ast, (node) => {
    if (node.type === 'VariableDeclarator' && node.id.type === 'Identifier') declared.add(node.id.name);
    if ((node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression') && node.id) declared.add(node.id.name);
    if (node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression') node.params.forEach((p) => declared.add(p.name));
    if (node.type === 'CatchClause' && node.param) declared.add(node.param.name);
  });
  const isGlobalRef = (node, ancestors) => {
    if (declared.has(node.name)) return false;
    const parent = ancestors[ancestors.length - 2];
    if (!parent) return true;
    if (parent.type === 'MemberExpression' && parent.property === node && !parent.computed) return false;
    if (parent.type === 'Property' && parent.key === node) return false;
    return true;
  };
  const tokens = [];
  for (const token of acorn.tokenizer(code, { ecmaVersion: 5, locations: true })) tokens.push(token);

  for (const trap of traps) {
    switch (trap.kind) {
      case 'regex':
      case 'regex-flags':
        walk.full(ast, (node) => {
          if (!node.regex) return;
          if (trap.kind === 'regex-flags') {
            const bad = [...node.regex.flags].filter((f) => !trap.allowed.includes(f));
            if (bad.length) report(trap, node, node.raw);
            return;
          }
          const source = trap.outsideClasses ? stripClasses(node.regex.pattern) : node.regex.pattern;
          if (trap.pattern.test(source)) report(trap, node, node.raw);
        });
        break;
      case 'regex-range':
        walk.full(ast, (node) => {
          if (!node.regex) return;
          for (const [low, high] of classRanges(node.regex.pattern)) {
            if (low < trap.crosses && high >= trap.crosses) report(trap, node, node.raw);
          }
        });
        break;
      case 'regex-after-paren':
        tokens.forEach((token, i) => {
          if (token.type.label === 'regexp' && i > 0 && tokens[i - 1].type.label === ')') {
            report(trap, { loc: token.loc }, code.slice(token.start, token.end));
          }
        });
        break;
      case 'node':
        walk.full(ast, (node) => { if (node.type === trap.nodeType) report(trap, node, code.slice(node.start, Math.min(node.end, node.start + 40))); });
        break;
      case 'global':
        walk.fullAncestor(ast, (node, _state, ancestors) => {
          if (node.type === 'Identifier' && trap.names.includes(node.name) && isGlobalRef(node, ancestors)) report(trap, node, node.name);
        });
        break;
      case 'static':
      case 'static-call':
        walk.full(ast, (node) => {
          if (node.type !== 'MemberExpression' || node.computed || node.object.type !== 'Identifier' || declared.has(node.object.name)) return;
          const name = node.object.name + '.' + node.property.name;
          if (trap.names.includes(name)) report(trap, node, name);
        });
        break;
      case 'prototype-member':
        walk.full(ast, (node) => {
          if (node.type !== 'MemberExpression' || node.computed) return;
          const object = node.object;
          if (object.type === 'MemberExpression' && !object.computed && object.property.name === 'prototype' &&
              object.object.type === 'Identifier' && trap.objects.includes(object.object.name) &&
              !declared.has(object.object.name) && !trap.allowed.includes(node.property.name)) {
            report(trap, node, object.object.name + '.prototype.' + node.property.name);
          }
        });
        break;
      case 'call-arity':
        walk.full(ast, (node) => {
          if (node.type !== 'CallExpression') return;
          const name = memberName(node.callee);
          const callees = [].concat(trap.callee);
          if (!callees.includes(name)) return;
          const n = node.arguments.length;
          if ((trap.minArgs !== undefined && n >= trap.minArgs) || (trap.maxArgs !== undefined && n <= trap.maxArgs)) report(trap, node, name + '(' + n + ' arguments)');
        });
        break;
      case 'method-call':
      case 'method-arity':
        walk.full(ast, (node) => {
          if (node.type !== 'CallExpression' || node.callee.type !== 'MemberExpression' || node.callee.computed) return;
          const method = node.callee.property.name;
          if (trap.kind === 'method-call' ? trap.names.includes(method) : method === trap.method && node.arguments.length >= trap.minArgs) {
            report(trap, node, '.' + method + '(...)');
          }
        });
        break;
      case 'constant-char-code':
        walk.full(ast, (node) => {
          if (node.type !== 'CallExpression' || memberName(node.callee) !== 'String.fromCharCode' || !node.arguments.length) return;
          const constants = node.arguments.every((a) => a.type === 'Literal' && typeof a.value === 'number');
          if (constants && node.arguments.some((a) => a.value >= 0x80)) report(trap, node, code.slice(node.start, node.end));
        });
        break;
      default:
        throw new Error(`trap ${trap.id}: unknown kind ${trap.kind}`);
    }
  }
  return findings;
}

export function formatFindings(findings, code) {
  const lines = code.split('\n');
  return findings.map((f) => {
    const context = f.line ? lines[f.line - 1].slice(Math.max(0, f.column - 30), f.column + 50) : '';
    return `  ${f.severity} [${f.id}] line ${f.line}:${f.column} ${f.detail}: ${f.message}${context ? `\n      near: ${context}` : ''}`;
  }).join('\n');
}

/** Nested method calls on one object that Espruino survives: the 7th saturates its lock count. */
export const MAX_NESTED_METHOD_CALLS = 6;

/**
 * The C stack budget in nested calls of the bundle's own functions, counted from the event
 * that started them (a socket's data, a timer, a promise job). Measured on the ESP32-memory
 * build (bench/stack.mjs): a `net` server's one-call handler needs 16 KB of `ulimit -s`, the
 * hello app (7 calls deep) 20 KB, async middleware and handlers (9-11 calls, plus the
 * interpreter's own frames for promise jobs and generators) and a route's own middleware
 * refusing with a 401 (13 calls) 24 KB, the budget of every app. A request path deeper than
 * this would not fit a board: the emulation throws at the next call.
 */
export const MAX_CALL_DEPTH = 13;

/**
 * For test builds run in the emulation: wraps every function body in
 * __thisEnter(this) / __thisLeave(this), so the emulation can count nested
 * method calls per object. On Espruino each call locks `this` about twice and
 * the lock count saturates at 15, after which the object is never freed
 * (espruino/Espruino#2616): seven nested calls on one object leak it. V8
 * never shows that, so the emulation needs the count.
 */
export function instrumentMethodDepth(code) {
  const ast = parseES5(code);
  const edits = [];
  walk.full(ast, (node) => {
    if (node.type !== 'FunctionDeclaration' && node.type !== 'FunctionExpression') return;
    const body = node.body;
    if (body.body[0] && body.body[0].directive) return; // "use strict" must stay first
    edits.push({ at: body.start + 1, text: '__thisEnter(this);try{', order: 0 }, { at: body.end - 1, text: '}finally{__thisLeave(this)}', order: 1 });
  });
  // Back to front; in an empty body the closing part goes in first so the opening lands before it.
  edits.sort((a, b) => (b.at - a.at) || (b.order - a.order));
  for (const edit of edits) code = code.slice(0, edit.at) + edit.text + code.slice(edit.at);
  return code;
}

