/**
 * Seeded pseudo-random numbers for the simulator (sfc32: small, fast, good enough for workload
 * noise; Math.random is not seedable, and runs must be reproducible from --seed).
 * All methods are plain arithmetic: no allocation on the hot path.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    // splitmix32 to spread a small integer seed over the four words.
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in (0, 1): never exactly 0, so -log(u) is finite. */
  uniform(): number {
    return (this.uint32() + 0.5) / 4294967296;
  }

  /** Exponential with the given rate (events per unit): inter-arrival time of a Poisson process. */
  exponential(rate: number): number {
    return -Math.log(this.uniform()) / rate;
  }

  /** Standard normal (Marsaglia polar method, caching the second value). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u = 0;
    let v = 0;
    let s = 0;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    this.hasSpare = true;
    return u * m;
  }

  /**
   * Lognormal multiplier with median 1 and a given p99/p50 ratio: sigma = ln(ratio) / z_0.99.
   * E.g. ratio 1.3 -> sigma 0.113, so 99 % of draws are below 1.3x the median.
   */
  lognormalMedian1(sigma: number): number {
    return sigma > 0 ? Math.exp(sigma * this.normal()) : 1;
  }
}

/** z-score of the 99th percentile of a standard normal. */
export const Z99 = 2.3263478740408408;

/** Sigma of the lognormal whose p99/p50 equals `ratio` (1 -> no noise). */
export function sigmaForP99OverP50(ratio: number): number {
  return ratio > 1 ? Math.log(ratio) / Z99 : 0;
}
