/**
 * simulate()'s options go through one strict schema (controller/sim/sim-options-schema.ts): a value
 * out of range or an unknown key is a SimConfigError that names the field and the limit, never
 * clamped; every valid value runs as given (maxBatch 64, the largest slot batch, is accepted).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLambdaOnlyPolicy } from '../../controller/sim/baselines/lambda-only.js';
import { SimConfigError } from '../../controller/sim/errors.js';
import { checkSimOptions, SIM_SLOT_SHIFT } from '../../controller/sim/sim-options-schema.js';
import { DEFAULT_SIM_OPTIONS, simulate } from '../../controller/sim/simulator.js';
import { REALISTIC_WORLD } from '../../controller/sim/world.js';
import { envWith, makeProfile, makeTrace } from './helpers.js';

const env = envWith([makeProfile({ variant: 'm', etaMs: 2, gammaMs: 8, maxMeasuredBatch: 16 })], 200, ['c5.large']);
const trace = makeTrace([5, 5, 5]);
const run = (o: Record<string, unknown>) => simulate(trace, createLambdaOnlyPolicy({ peakRps: 5, minAccuracy: 0 }), env, o);

describe('simulator options schema', () => {
  it('the defaults and the realistic world pass; so do the largest batch and an explicit arrival list', () => {
    expect(() => checkSimOptions(DEFAULT_SIM_OPTIONS)).not.toThrow();
    expect(() => checkSimOptions({ ...DEFAULT_SIM_OPTIONS, world: REALISTIC_WORLD, maxBatch: SIM_SLOT_SHIFT })).not.toThrow();
    expect(run({ arrivalTimesMs: new Float64Array([0, 10, 10, 2_500]) }).requests).toBe(4);
  });

  it.each([
    [{ maxBatch: 65 }, /opts\.maxBatch: Too big: expected number to be <=64/],
    [{ maxBatch: 0 }, /opts\.maxBatch: Too small: expected number to be >=1/],
    [{ bootJitter: 1.5 }, /opts\.bootJitter: Too big: expected number to be <=0\.99/],
    [{ minAccuracy: 101 }, /opts\.minAccuracy: Too big/],
    [{ queueLimit: 2.5 }, /opts\.queueLimit: Invalid input: expected int/],
    [{ lambdaMemoryMb: 64 }, /opts\.lambdaMemoryMb: Too small: expected number to be >=128/],
    [{ interference: { probability: 2, slowdown: 1.5 } }, /opts\.interference\.probability: Too big/],
    [{ spot: { reclaimFraction: 0 } }, /opts\.spot\.reclaimFraction: Too small/],
    [{ world: { ...REALISTIC_WORLD, keepAlive: { minFactor: 2, maxFactor: 1 } } }, /opts\.world\.keepAlive: minFactor must be <= maxFactor/],
    [{ arrivalTimesMs: [10, 5] }, /opts\.arrivalTimesMs: must be ascending finite times >= 0/],
    [{ seriesIntervalMs: 10 }, /opts\.seriesIntervalMs: Too small/],
    [{ maxBtach: 8 }, /opts\.maxBtach: unknown field/],
  ])('refused, naming the field and the limit: %o', (bad, message) => {
    expect(() => run(bad)).toThrow(SimConfigError);
    expect(() => run(bad)).toThrow(message);
  });

  it('randomised numbers: accepted and run, or refused with a SimConfigError naming the field; never another error', () => {
    const fields = ['maxBatch', 'queueLimit', 'bootJitter', 'vmOverheadMs', 'lambdaOverheadMs', 'historyTicks', 'maxVms', 'lambdaKeepAliveMs'];
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.oneof(fc.double(), fc.integer({ min: -5, max: 100 })), (field, value) => {
        try {
          run({ [field]: value });
        } catch (err) {
          expect(err).toBeInstanceOf(SimConfigError);
          expect((err as Error).message).toContain(`opts.${field}`);
        }
      }),
      { numRuns: 60 },
    );
  });
});
