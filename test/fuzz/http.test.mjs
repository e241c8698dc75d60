// Seeded, bounded fuzzing of the HTTP/1.1 request parser (the properties are
// in test/fuzz/http.mjs), run as the real ES5 library build in the Espruino
// emulation, in both string modes. `npm run fuzz` runs the same fuzzer longer
// from a random seed; inputs it once failed on are in regressions.mjs.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildFixture, loadBundle } from '../unit/library.mjs';
import { fuzz, randomSource } from './fuzz.mjs';
import { checkRequestBytes, checkRequestCase, parseRequests, requestCase, validSequence } from './http.mjs';
import { HTTP_REGRESSIONS } from './regressions.mjs';

const CODE = await buildFixture('parser');
const SEEDS = [1, 2, 3, 4];
const ITERATIONS = 150;

for (const mode of ['esp32', 'linux']) {
  describe(`HTTP parser fuzzing (${mode})`, () => {
    const P = loadBundle(CODE, mode, 'parser');

    for (const seed of SEEDS) {
      test(`seed ${seed}: ${ITERATIONS} valid, mutated and random inputs keep every property`, () => {
        const failure = fuzz({
          seed,
          iterations: ITERATIONS,
          makeCase: (random) => requestCase(random),
          check: (input, fuzzCase) => checkRequestCase(P, input, fuzzCase),
          checkBytes: (input) => checkRequestBytes(P, input),
        });
        assert.equal(failure, null, failure && `${failure.message}\nReproducer for test/fuzz/regressions.mjs:\n${failure.reproducer}`);
      });
    }

    test('pipelined valid requests come out whole and in order, split anywhere', () => {
      const random = randomSource(99);
      for (let i = 0; i < 40; i++) {
        const { input, expected } = validSequence(random);
        const whole = checkRequestBytes(P, input);
        assert.deepEqual(whole.events, expected);
        assert.equal(whole.pending, 0);
        assert.equal(whole.inMessage, false);
      }
    });

    test('inputs fuzzing once failed on', () => {
      for (const { input, expected } of HTTP_REGRESSIONS) {
        const whole = checkRequestBytes(P, input);
        if (expected) assert.deepEqual(whole.events, expected, JSON.stringify(input));
      }
    });

    test('a broken property is caught and reported with a minimized reproducer', () => {
      // The parser is right; a check that refuses every request to /x stands in for a bug.
      const failure = fuzz({
        seed: 5,
        iterations: 200,
        makeCase: (random) => ({ kind: 'valid', input: 'GET /a HTTP/1.1\r\nHost: h\r\nX-Pad: ' + random.chars(20, 'abc') + '\r\n\r\nGET /x HTTP/1.0\r\n\r\n', steps: [] }),
        check: (input) => checkBytesRefusingX(input),
        checkBytes: (input) => checkBytesRefusingX(input),
      });
      function checkBytesRefusingX(input) {
        const { events } = parseRequests(P, [input]);
        assert.ok(!events.some((e) => e.message && e.message.target === '/x'), 'a request for /x');
      }
      assert.ok(failure, 'the broken property is found');
      assert.equal(failure.index, 0);
      assert.equal(failure.minimized, 'GET /x HTTP/1.0\r\n\r\n', 'minimized to the one request that breaks it');
      assert.match(failure.reproducer, /\/\/ seed 5, case 0 \(valid\)\n {2}\/\/ a request for \/x\n {2}\{ input: 'GET \/x HTTP\/1\.0\\r\\n\\r\\n' \},/);
    });
  });
}
