// `npm run fuzz`: the HTTP and WebSocket parser fuzzers, long, from a random
// seed (or the one given), on the real ES5 build in the Espruino emulation.
//
//   npm run fuzz -- [--iterations N] [--seed S] [--target http|frames|all] [--mode esp32|linux]
//
// It prints the seed first, so a run can be repeated exactly. A failure prints
// the case minimized, as an entry to paste into test/fuzz/regressions.mjs
// (and the seed can join the SEEDS of http.test.mjs or frames.test.mjs).
// A node:test file (not picked up by `npm test`, which runs *.test.mjs) so the
// emulations it starts are stopped the same way as in the tests.
import { test } from 'node:test';
import { parseArgs } from 'node:util';
import { buildFixture, loadBundle } from '../unit/library.mjs';
import { fuzz } from './fuzz.mjs';
import { checkRequestBytes, checkRequestCase, requestCase } from './http.mjs';
import { checkFrameBytes, checkFrameCase, frameCase } from './frames.mjs';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '20000' },
    seed: { type: 'string' },
    target: { type: 'string', default: 'all' },
    mode: { type: 'string', default: 'esp32' },
  },
});
const iterations = Number(values.iterations);
const seed = values.seed === undefined ? Math.floor(Math.random() * 0x100000000) : Number(values.seed);
if (!(iterations > 0) || !Number.isInteger(seed) || !['http', 'frames', 'all'].includes(values.target) || !['esp32', 'linux'].includes(values.mode)) {
  throw new Error('usage: npm run fuzz -- [--iterations N] [--seed S] [--target http|frames|all] [--mode esp32|linux]');
}

const TARGETS = {
  http: {
    fixture: 'parser',
    makeCase: requestCase,
    check: (P) => (input, fuzzCase) => checkRequestCase(P, input, fuzzCase),
    checkBytes: (P) => (input) => checkRequestBytes(P, input),
    regressions: 'HTTP_REGRESSIONS',
  },
  frames: {
    fixture: 'frames',
    makeCase: frameCase,
    check: (F) => (input, fuzzCase) => checkFrameCase(F, input, fuzzCase),
    checkBytes: (F) => (input) => checkFrameBytes(F, input),
    regressions: 'FRAME_REGRESSIONS',
  },
};

console.log(`fuzz seed ${seed}, ${iterations} iterations per target, ${values.mode} strings (repeat with --seed ${seed})`);

for (const name of values.target === 'all' ? Object.keys(TARGETS) : [values.target]) {
  const target = TARGETS[name];
  test(`${name}: seed ${seed}, ${iterations} cases`, async () => {
    const library = loadBundle(await buildFixture(target.fixture), values.mode, target.fixture);
    const started = Date.now();
    // In rounds, each from a seed of its own, to show progress on a long run.
    const round = 1000;
    for (let done = 0; done < iterations; done += round) {
      const roundSeed = (seed + done) >>> 0;
      const failure = fuzz({
        seed: roundSeed,
        iterations: Math.min(round, iterations - done),
        makeCase: target.makeCase,
        check: target.check(library),
        checkBytes: target.checkBytes(library),
      });
      if (failure) {
        console.log(`\n${name}: FAILED at seed ${failure.seed}, case ${failure.index} (${failure.kind})\n${failure.message}\n`);
        console.log(`Repeat it: npm run fuzz -- --target ${name} --mode ${values.mode} --seed ${failure.seed} --iterations ${failure.index + 1}\n`);
        console.log(`Paste into ${target.regressions} in test/fuzz/regressions.mjs:\n${failure.reproducer}\n`);
        throw new Error(`${name}: a property broke at seed ${failure.seed}, case ${failure.index}; reproducer above`);
      }
      console.log(`${name}: ${Math.min(done + round, iterations)} cases passed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
  });
}
