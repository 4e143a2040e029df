/**
 * mulberry32: a tiny seeded PRNG (32-bit state). Deterministic across machines because it uses only
 * 32-bit integer ops (Math.imul, shifts), so the same seed gives the same weights, byte for byte.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fill `out` with U(-bound, bound). Only +,-,* on the PRNG output: exact and portable. */
export function fillUniform(out: Float32Array, bound: number, rand: () => number): void {
  for (let i = 0; i < out.length; i++) out[i] = (rand() * 2 - 1) * bound;
}
