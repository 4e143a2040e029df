import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideMemoryUpdate } from '../../controller/core/burst-guard.js';
import { parseReportLine } from '../../controller/aws/lambda-report.js';
import { fullJitterDelayMs, isNetworkError, isServerError } from '../../controller/aws/retry.js';

describe('full-jitter backoff', () => {
  it('stays within [0, min(cap, base * 2^attempt)] for any random draw', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
        const d = fullJitterDelayMs(attempt, { baseMs: 50, capMs: 2000, random: () => r });
        return d >= 0 && d <= Math.min(2000, 50 * 2 ** attempt);
      }),
    );
    expect(fullJitterDelayMs(3, { baseMs: 50, capMs: 2000, random: () => 0.5 })).toBe(200);
  });
  it('classifies network failures and AWS 5xx, not 4xx', () => {
    expect(isNetworkError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isNetworkError({ name: 'TimeoutError' })).toBe(true);
    expect(isNetworkError({ name: 'ServiceException', $metadata: { httpStatusCode: 500 } })).toBe(false);
    expect(isServerError({ $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(isServerError({ $metadata: { httpStatusCode: 429 } })).toBe(false);
  });
});

describe('burst guard decision (pure)', () => {
  it('refuses while in flight, or while the rate over the window is above the limit', () => {
    const nowMs = 100_000;
    expect(decideMemoryUpdate({ inFlight: 1, recentInvokeTimesMs: [], nowMs })).toMatchObject({ allowed: false });
    const burst = Array.from({ length: 21 }, (_, i) => nowMs - i * 100);
    const d = decideMemoryUpdate({ inFlight: 0, recentInvokeTimesMs: burst, nowMs });
    expect(d.allowed).toBe(false);
    // 21 invokes in 10 s = 2.1 rps > 2: the reason quotes the measured rate and the limit.
    expect(d.allowed ? '' : d.reason).toContain('2.10 rps');
    expect(decideMemoryUpdate({ inFlight: 0, recentInvokeTimesMs: burst, nowMs: nowMs + 10_001 })).toEqual({ allowed: true });
    expect(decideMemoryUpdate({ inFlight: 3, recentInvokeTimesMs: [], nowMs }, { maxInFlight: 5 })).toEqual({ allowed: true });
  });
});

describe('REPORT line parsing', () => {
  it('reads durations, memory and Init Duration (cold start only)', () => {
    const cold = parseReportLine(
      'START RequestId: a\nREPORT RequestId: a\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 1024 MB\tMax Memory Used: 180 MB\tInit Duration: 812.50 ms\n',
    );
    expect(cold).toEqual({ durationMs: 12.34, billedDurationMs: 13, memoryMb: 1024, maxMemoryUsedMb: 180, initDurationMs: 812.5 });
    const warm = parseReportLine('REPORT RequestId: b\tDuration: 3.00 ms\tBilled Duration: 3 ms\tMemory Size: 512 MB\tMax Memory Used: 90 MB');
    expect(warm?.initDurationMs).toBeUndefined();
    expect(parseReportLine('no report here')).toBeUndefined();
  });
});
