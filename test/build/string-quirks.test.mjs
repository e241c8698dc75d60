// String search quirks of Espruino 2v29 that the emulation reproduces: the same
// program prints the same lines on the real interpreter (ESPRUINO set) and in
// the emulation, so code tested in CI meets what the device does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBundle, LANE } from './run-bundle.mjs';

test(`indexOf, includes and replace find a needle running off the end (${LANE})`, async () => {
  const lines = await runBundle(`
    print(["abc".indexOf("cd"), "ab\\r".indexOf("\\r\\n"), "abca".indexOf("ab", 3), "abcab".indexOf("ab", 1)].join(" "));
    print(["".indexOf(""), "abc".indexOf("", 3), "abc".indexOf("", 1), "abc".indexOf("c", 5), "ab".indexOf("abc")].join(" "));
    print(["abc".includes("cd"), "abc".includes("xd"), "abc".replace("cd", "X"), "abc".replace("b", "X")].join(" "));
  `);
  assert.deepEqual(lines, ['2 2 3 3', '-1 -1 1 -1 -1', 'true false abX aXc']);
});
