/**
 * The embedded default with no VM and Lambda saturated (the deploy twin's "burst below
 * break-even, no VM bought" case, made certain): maxVms 0 and Lambda concurrency 1, the real
 * handler in the local Lambda runtime, then waves of concurrent requests far beyond what one
 * instance carries. Every request must still get an answer the caller can act on (200, 503 +
 * Retry-After, 504 deadline_exceeded) within its deadline + 1 s: none may hang.
 * The aws world's twin of this test: test/aws/no-vm-saturated-lambda.local-runtime.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSampleImagesBase64 } from '../../controller/replay/samples.js';
import type { Stack } from '../../controller/server/stack.js';
import {
  type AnswerOutcome,
  burstAgainstDeadline,
  deadlineViolations,
  tally,
  teachWarm,
  waitersPerInstance,
  waitWarm,
} from './answer-deadline.js';
import { SMALL_VARIANT, startTestStack } from './helpers.js';

const SLO_MS = 1_000;
const BACKEND_TIMEOUT_MS = 3_000;

describe('local world, no VM, Lambda saturated (concurrency 1): every request answered within deadline + 1 s', () => {
  let stack: Stack;
  let outcomes: AnswerOutcome[] = [];
  let vmsSeen = 0;
  let sent = 0;

  beforeAll(async () => {
    stack = await startTestStack({
      maxVms: 0,
      lambdaConcurrency: 1,
      sloMs: SLO_MS,
      backendTimeoutMs: BACKEND_TIMEOUT_MS,
      tickIntervalMs: 500,
    });
    // The warm pool's first instance: then the 503s below are saturation, not only a cold variant.
    await waitWarm(stack.url, SMALL_VARIANT, 60_000);
    const target = { url: stack.url, path: '/v1/infer', imageBase64: loadSampleImagesBase64()[0]!, sloMs: SLO_MS, backendTimeoutMs: BACKEND_TIMEOUT_MS };
    // Warm answers teach the router the invoke overhead, which bounds how many may wait (waitersPerInstance).
    await teachWarm(target, 5);
    // Beyond what may wait for the one busy instance (core/router.ts lambdaWait), on any machine.
    sent = Math.ceil(1.5 * waitersPerInstance(stack.runtime, SMALL_VARIANT, SLO_MS)) + 12;
    const watch = setInterval(() => {
      vmsSeen = Math.max(vmsSeen, stack.runtime.vms.length);
    }, 100);
    try {
      outcomes = await burstAgainstDeadline({
        ...target,
        waves: 5,
        perWave: sent,
        waveGapMs: 300,
        acceptLateEvery: 6,
      });
    } finally {
      clearInterval(watch);
    }
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('no VM existed and Lambda was saturated (some requests refused with 503 no_capacity)', () => {
    expect(vmsSeen).toBe(0);
    expect(
      outcomes.filter((x) => x.status === 503 && x.code === 'no_capacity').length,
      JSON.stringify(tally(outcomes)),
    ).toBeGreaterThan(0);
  });

  it('every request got 200, 503 + Retry-After or 504 deadline_exceeded within its deadline + 1 s', () => {
    expect(outcomes).toHaveLength(5 * sent);
    expect(deadlineViolations(outcomes), JSON.stringify(tally(outcomes))).toEqual([]);
  });
});
