// Inputs the fuzzers once failed on, checked on every `npm test` by
// test/fuzz/http.test.mjs and frames.test.mjs. `npm run fuzz` prints a failing
// case ready to paste here: { input } when the input breaks a property any
// input must keep, { input, expected } when a valid input parsed wrongly.

export const HTTP_REGRESSIONS = [
  // seed 3593756722, case 623 (mutated: flip bit 4 at 963; delete 5 at 359; inject "\r\n\r\n" at 402; copy 459..494 to 886)
  // no whitespace around the value of hasownproperty
  { input: 'POST M HTTP/1.0\r\nhasOwnProperty:\r\nhasOwnProperty:\r\n\r\n' },
];

export const FRAME_REGRESSIONS = [
];
