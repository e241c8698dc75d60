// Seeded randomness for tests: splits, samples and traffic that repeat run to run.

/** A seeded PRNG (mulberry32): returns a function giving numbers in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` seeded bytes of every value (CR, LF and '-' included, so boundary-like runs occur in uploads). */
export function randomBytes(size, seed) {
  const next = prng(seed);
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(next() * 256);
  return out;
}
