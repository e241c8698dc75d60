// Espruino locks `this` about twice per method call; the lock count saturates
// at 15 and the object is never freed (espruino/Espruino#2616). Found on the
// real interpreter, where a connection leaked on every request; V8 cannot show
// it, so test builds count nested method calls and the emulation throws on
// the seventh. These tests keep that lesson working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instrumentMethodDepth, fixForEspruino, MAX_NESTED_METHOD_CALLS, MAX_CALL_DEPTH } from '../../tools/gate.mjs';
import { createEspruino } from '../emulation/espruino.mjs';

const CHAIN = `
function C() {}
C.prototype.level = function (n) { if (n > 1) return this.level(n - 1); return 'ok'; };
function viaArgument(o, n) { return n > 1 ? viaArgument(o, n - 1) : 'ok'; }
function deep(n) { try { return new C().level(n); } catch (e) { return e.message; } }
print(deep(${MAX_NESTED_METHOD_CALLS}));
print(deep(${MAX_NESTED_METHOD_CALLS + 1}));
print(viaArgument(new C(), ${MAX_CALL_DEPTH - 1}));
print(deep(${MAX_NESTED_METHOD_CALLS}));
var empty = function () {}; empty(); print('empty bodies still parse');
`;

function run(code) {
  const lines = [];
  const emu = createEspruino({ mode: 'esp32', stdout: (line) => lines.push(line) });
  emu.run(code);
  emu.stop();
  return lines;
}

test('the emulation throws on the seventh nested method call on one object, not the sixth', () => {
  const lines = run(instrumentMethodDepth(fixForEspruino(CHAIN)));
  assert.equal(lines[0], 'ok');
  assert.match(lines[1], /7 nested method calls on one object.*never freed/);
  assert.equal(lines[2], 'ok', 'passing the object as an argument locks nothing extra');
  assert.equal(lines[3], 'ok', 'the count unwinds after a throw');
  assert.equal(lines[4], 'empty bodies still parse');
});

test('uninstrumented code runs as before (the real interpreter never sees the counting)', () => {
  assert.deepEqual(run(fixForEspruino(CHAIN)).slice(0, 3), ['ok', 'ok', 'ok']);
});
