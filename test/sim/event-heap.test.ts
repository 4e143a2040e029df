import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventHeap } from '../../controller/sim/event-heap.js';
import { Rng, sigmaForP99OverP50 } from '../../controller/sim/rng.js';

describe('EventHeap', () => {
  it('pops in time order, ties in insertion order, across growth (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 300 }), (times) => {
        const h = new EventHeap(2);
        times.forEach((t, i) => {
          h.push(t, 1, i);
        });
        const out: Array<[number, number]> = [];
        while (h.size > 0) {
          out.push([h.peekTime(), h.peekPayload()]);
          h.pop();
        }
        const expected = times.map((t, i) => [t, i] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        expect(out).toEqual(expected);
      }),
    );
  });
});

describe('Rng', () => {
  it('is reproducible per seed and its lognormal noise has the requested p99/p50', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    for (let i = 0; i < 100; i++) expect(a.uint32()).toBe(b.uint32());
    const r = new Rng(7);
    const sigma = sigmaForP99OverP50(1.5);
    const xs = Array.from({ length: 200_000 }, () => r.lognormalMedian1(sigma)).sort((x, y) => x - y);
    const p50 = xs[100_000]!;
    const p99 = xs[198_000]!;
    expect(p50).toBeCloseTo(1, 1);
    expect(p99 / p50).toBeCloseTo(1.5, 1);
    // Exponential inter-arrivals at rate 4 have mean 0.25.
    let sum = 0;
    for (let i = 0; i < 100_000; i++) sum += r.exponential(4);
    expect(sum / 100_000).toBeCloseTo(0.25, 2);
  });
});
