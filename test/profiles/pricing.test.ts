import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Catalog, loadCatalog } from '../../profiles/catalog.js';
import { UnknownResourceError } from '../../profiles/lib/errors.js';
import {
  lambdaBilledDurationMs,
  lambdaComputeCostUsd,
  lambdaCostPerRequest,
  lambdaGbSeconds,
  lambdaIntraOpThreads,
  lambdaRequestFeesUsd,
  lambdaThreadsForMemory,
  lambdaVcpu,
  vmBilledCostUsd,
  vmBilledSeconds,
  vmCostPerHour,
  vmMinimumBilledUntilMs,
} from '../../profiles/pricing.js';

const catalog = loadCatalog();
// The worked numbers below are written against these catalog prices; a price refresh must
// update them on purpose, not pass silently.
const X86_GB_S = 0.0000166667;
const ARM_GB_S = 0.0000133334;

describe('catalog prices the worked numbers assume', () => {
  it('are the us-east-1 prices in profiles/catalog.json', () => {
    expect(catalog.lambda.x86PricePerGbSecondUsd).toBe(X86_GB_S);
    expect(catalog.lambda.arm64PricePerGbSecondUsd).toBe(ARM_GB_S);
    expect(catalog.lambda.pricePerMillionRequestsUsd).toBe(0.2);
    expect(catalog.lambda.billingGranularityMs).toBe(1);
    expect(catalog.ec2.billingMinimumSeconds).toBe(60);
    expect(vmCostPerHour(catalog, 'c5.large')).toBe(0.085);
  });
});

describe('Lambda memory -> vCPU -> threads', () => {
  it('1,769 MB = 1 vCPU, capped at maxVcpu', () => {
    expect(lambdaVcpu(catalog, 1769)).toBe(1);
    expect(lambdaVcpu(catalog, 3008)).toBeCloseTo(1.7004, 4);
    expect(lambdaVcpu(catalog, 512)).toBeCloseTo(0.2894, 4);
    expect(lambdaVcpu(catalog, 10240)).toBeCloseTo(5.7886, 4); // 10,240 / 1,769: under the cap of 6
    expect(lambdaVcpu({ ...catalog, lambda: { ...catalog.lambda, memoryMbPerVcpu: 1024 } }, 10240)).toBe(6);
    expect(lambdaVcpu({ ...catalog, lambda: { ...catalog.lambda, maxVcpu: 4 } }, 10240)).toBe(4);
  });

  it('threads = ceil(share), at least 1: 512 -> 1, 1,769 -> 1, 2,048 -> 2, 3,008 -> 2, 5,307 -> 3, 10,240 -> 6', () => {
    const threads = [512, 1769, 2048, 3008, 5307, 10240].map((mb) => lambdaThreadsForMemory(catalog, mb));
    expect(threads).toEqual([1, 1, 2, 2, 3, 6]);
    expect(lambdaIntraOpThreads(0)).toBe(1);
    expect(lambdaIntraOpThreads(3 * (1769 / 1769))).toBe(3);
  });

  it('property: threads never decrease with memory and never exceed maxVcpu', () => {
    fc.assert(
      fc.property(fc.integer({ min: 128, max: 10240 }), fc.integer({ min: 0, max: 5000 }), (mb, more) => {
        const a = lambdaThreadsForMemory(catalog, mb);
        const b = lambdaThreadsForMemory(catalog, Math.min(10240, mb + more));
        return a >= 1 && a <= b && b <= catalog.lambda.maxVcpu;
      }),
    );
  });
});

describe('Lambda billing', () => {
  it('rounds the billed duration up to 1 ms, at least 1 ms, without float noise', () => {
    expect(lambdaBilledDurationMs(catalog, 5.2)).toBe(6);
    expect(lambdaBilledDurationMs(catalog, 6)).toBe(6);
    expect(lambdaBilledDurationMs(catalog, 0.1 + 0.2 + 5.7)).toBe(6); // 6.000000000000001
    expect(lambdaBilledDurationMs(catalog, 0)).toBe(1);
    expect(lambdaBilledDurationMs(catalog, -3)).toBe(1);
    const coarse: Catalog = { ...catalog, lambda: { ...catalog.lambda, billingGranularityMs: 100 } };
    expect(lambdaBilledDurationMs(coarse, 101)).toBe(200); // pre-2020 rule: per 100 ms
  });

  it('bills INIT with the duration on a cold start: init 812.4 + 15.2 ms -> 828 ms, 1.4304 GB-s, $0.00002384', () => {
    const billedMs = lambdaBilledDurationMs(catalog, 15.2, 812.4);
    expect(billedMs).toBe(828);
    const gbS = lambdaGbSeconds(1769, billedMs);
    expect(gbS).toBeCloseTo((1769 / 1024) * 0.828, 12);
    expect(gbS).toBeCloseTo(1.4304, 4);
    expect(lambdaComputeCostUsd(catalog, gbS)).toBeCloseTo(1.4304 * X86_GB_S, 9);
    expect(lambdaComputeCostUsd(catalog, gbS)).toBeCloseTo(0.00002384, 8);
    // Warm: only the 15.2 ms -> 16 ms.
    expect(lambdaBilledDurationMs(catalog, 15.2)).toBe(16);
  });

  it('per request: 2,048 MB for 6 ms = 2 GB x 0.006 s x price + $0.20 / 1 M = $0.40 per million (x86)', () => {
    const x86 = lambdaCostPerRequest(catalog, 2048, 6, 'x86_64');
    expect(x86).toBeCloseTo(2 * 0.006 * X86_GB_S + 0.2e-6, 15);
    expect(x86 * 1e6).toBeCloseTo(0.4, 6);
    const arm = lambdaCostPerRequest(catalog, 2048, 6, 'arm64');
    expect(arm).toBeCloseTo(2 * 0.006 * ARM_GB_S + 0.2e-6, 15);
    // 1,769 MB for 6.0 ms: 1.7275390625 GB x 0.006 s x price + fee = $3.72754e-7; 5.2 ms bills the same.
    expect(lambdaCostPerRequest(catalog, 1769, 6)).toBeCloseTo(3.72754e-7, 11);
    expect(lambdaCostPerRequest(catalog, 1769, 5.2)).toBe(lambdaCostPerRequest(catalog, 1769, 6));
    // A cold request with a billed INIT costs its init time too.
    expect(lambdaCostPerRequest(catalog, 1769, 15.2, 'x86_64', 812.4)).toBeCloseTo(
      lambdaComputeCostUsd(catalog, lambdaGbSeconds(1769, 828)) + 0.2e-6,
      15,
    );
  });

  it('request fees: 1 -> $0.0000002, 1,000,000 -> $0.20', () => {
    expect(lambdaRequestFeesUsd(catalog)).toBeCloseTo(2e-7, 15);
    expect(lambdaRequestFeesUsd(catalog, 1_000_000)).toBeCloseTo(0.2, 12);
    expect(lambdaRequestFeesUsd(catalog, 0)).toBe(0);
  });

  it('property: cost is monotone in duration, memory and INIT, and never below fee + 1 ms', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 128, max: 10240 }),
        fc.double({ min: 0, max: 900_000, noNaN: true }),
        fc.double({ min: 0, max: 10_000, noNaN: true }),
        (mb, ms, extra) => {
          const c = lambdaCostPerRequest(catalog, mb, ms);
          const floor = lambdaCostPerRequest(catalog, mb, 0);
          return (
            c >= floor &&
            lambdaCostPerRequest(catalog, mb, ms + extra) >= c &&
            lambdaCostPerRequest(catalog, Math.min(10240, mb + 1), ms) >= c &&
            lambdaCostPerRequest(catalog, mb, ms, 'x86_64', extra) >= c
          );
        },
      ),
    );
  });
});

describe('EC2 billing', () => {
  it('bills per second, rounded up, with the 60 s minimum: c5.large 20 s -> $0.00142, 150.2 s -> $0.00357', () => {
    expect(vmBilledSeconds(catalog, 20_000)).toBe(60);
    expect(vmBilledSeconds(catalog, 150_200)).toBe(151);
    expect(vmBilledSeconds(catalog, 0)).toBe(60);
    expect(vmBilledCostUsd(catalog, 'c5.large', 20_000)).toBeCloseTo((60 * 0.085) / 3600, 12);
    expect(vmBilledCostUsd(catalog, 'c5.large', 20_000)).toBeCloseTo(0.00142, 5);
    expect(vmBilledCostUsd(catalog, 'c5.large', 150_200)).toBeCloseTo(0.00357, 5);
    expect(vmBilledCostUsd(catalog, 'c5.large', 3_600_000)).toBeCloseTo(0.085, 12);
    expect(vmMinimumBilledUntilMs(catalog, 1000)).toBe(61_000);
  });

  it('names the unknown instance type and the known ones', () => {
    expect(() => vmCostPerHour(catalog, 'x9.huge')).toThrow(UnknownResourceError);
    expect(() => vmCostPerHour(catalog, 'x9.huge')).toThrow(/x9\.huge.*known: c7a\.medium, c5\.large/);
  });

  it('property: billed cost is monotone in run time and never below the minimum', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 100_000 }), (a, d) => {
        const c1 = vmBilledCostUsd(catalog, 'c6g.large', a);
        const c2 = vmBilledCostUsd(catalog, 'c6g.large', a + d);
        return c2 >= c1 && c1 >= vmBilledCostUsd(catalog, 'c6g.large', 0) - 1e-15;
      }),
    );
  });
});
