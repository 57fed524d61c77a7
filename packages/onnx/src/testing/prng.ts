/**
 * A small seeded pseudo-random generator (mulberry32): the same seed gives the same
 * numbers on every machine, so fixtures built from it are deterministic.
 *
 * @example
 * const next = createPrng(42);
 * next(); // a number in [0, 1), the same one on every run
 */
export function createPrng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` float32 values drawn uniformly from `[-scale, scale)` with a seeded generator.
 *
 * @example
 * const input = seededFloat32(7 * 512, 1); // a deterministic [7, 512] input
 */
export function seededFloat32(count: number, seed: number, scale = 1): Float32Array {
  const next = createPrng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (next() * 2 - 1) * scale;
  return out;
}
