// Seeded, bounded fuzzing of the WebSocket frame parser (the properties are in
// test/fuzz/frames.mjs), run as the real ES5 library build in the Espruino
// emulation: both string modes, and without E.toUint8Array so the slow paths
// run too. `npm run fuzz` runs the same fuzzer longer from a random seed;
// inputs it once failed on are in regressions.mjs.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildFixture, loadBundle } from '../unit/library.mjs';
import { fuzz, randomSource } from './fuzz.mjs';
import { checkFrameBytes, checkFrameCase, frameCase, validFrames } from './frames.mjs';
import { FRAME_REGRESSIONS } from './regressions.mjs';

const CODE = await buildFixture('frames');
const SEEDS = [1, 2, 3];
const ITERATIONS = 100;

const FRAME_LANES = [
  { name: 'esp32', mode: 'esp32' },
  { name: 'linux', mode: 'linux' },
  { name: 'esp32, no E.toUint8Array', mode: 'esp32', setup: 'delete E.toUint8Array;' },
];

for (const lane of FRAME_LANES) {
  describe(`WebSocket frame parser fuzzing (${lane.name})`, () => {
    const F = loadBundle(CODE, lane.mode, 'frames', lane.setup);

    for (const seed of SEEDS) {
      test(`seed ${seed}: ${ITERATIONS} valid, mutated and random frame sequences keep every property`, () => {
        const failure = fuzz({
          seed,
          iterations: ITERATIONS,
          makeCase: (random) => frameCase(random),
          check: (input, fuzzCase) => checkFrameCase(F, input, fuzzCase),
          checkBytes: (input) => checkFrameBytes(F, input),
        });
        assert.equal(failure, null, failure && `${failure.message}\nReproducer for test/fuzz/regressions.mjs:\n${failure.reproducer}`);
      });
    }

    test('fragmented messages with control frames between come out whole and in order, split anywhere', () => {
      const random = randomSource(98);
      for (let i = 0; i < 30; i++) {
        const { input, expected } = validFrames(random);
        assert.deepEqual(checkFrameBytes(F, input), expected);
      }
    });

    test('inputs fuzzing once failed on', () => {
      for (const { input, expected } of FRAME_REGRESSIONS) {
        const whole = checkFrameBytes(F, input);
        if (expected) assert.deepEqual(whole, expected, JSON.stringify(input));
      }
    });
  });
}
