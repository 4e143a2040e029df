import { describe, expect, it } from 'vitest';
import { simulate } from '../../controller/sim/simulator.js';
import { catalog, envWith, makeProfile, makeTrace, scriptedPolicy } from './helpers.js';

const price = (name: string) => catalog.ec2.instanceTypes.find((t) => t.name === name)!.pricePerHourUsd;

describe('simulator accounting (checked by hand)', () => {
  const profile = makeProfile({ variant: 'm', etaMs: 10 });
  const env = envWith([profile]);

  it('one VM for 30 s costs the 60 s minimum', () => {
    const policy = scriptedPolicy({ launch: [{ instanceType: 'c5.large', variant: 'm', count: 1 }], route: 'vm', variant: 'm' });
    const r = simulate(makeTrace(new Array(30).fill(5)), policy, env, { seed: 3 });
    // 60 s x $0.085/h = $0.00141667
    expect(r.cost.ec2Usd).toBeCloseTo((60 * price('c5.large')) / 3600, 12);
    expect(r.vmHours).toBeCloseTo(30 / 3600, 9);
    expect(r.cost.lambdaComputeUsd).toBe(0);
    expect(r.violations).toBe(0);
    expect(r.served).toBe(r.requests);
  });

  it('one VM for 150 s is billed per second (150 s), not rounded to minutes', () => {
    const policy = scriptedPolicy({ launch: [{ instanceType: 'c5.xlarge', variant: 'm', count: 1 }], route: 'vm', variant: 'm' });
    const r = simulate(makeTrace(new Array(150).fill(2)), policy, env, { seed: 3 });
    expect(r.cost.ec2Usd).toBeCloseTo((150 * price('c5.xlarge')) / 3600, 12);
  });

  it('a VM that boots (not prewarmed) is billed from launch, and serves nothing before it is ready', () => {
    const policy = scriptedPolicy({ launch: [{ instanceType: 'c5.large', variant: 'm', count: 1 }], route: 'vm', variant: 'm' });
    const r = simulate(makeTrace(new Array(200).fill(4)), policy, env, { seed: 5, prewarm: false, bootDelayMs: { 'c5.large': 100_000 }, bootJitter: 0 });
    expect(r.cost.ec2Usd).toBeCloseTo((200 * price('c5.large')) / 3600, 12);
    // Requests in the first 100 s found no ready VM: rejected (about 400 of about 800).
    expect(r.rejected).toBeGreaterThan(300);
    expect(r.rejected).toBeLessThan(500);
  });

  it('Lambda: GB-s per 1 ms of duration (INIT billed on cold starts) + $0.20 per million requests', () => {
    const policy = scriptedPolicy({ route: 'lambda', variant: 'm', memoryMb: 2048 });
    const r = simulate(makeTrace(new Array(60).fill(20)), policy, env, { seed: 7 });
    const gbS = catalog.lambda.x86PricePerGbSecondUsd;
    const cold = profile.lambda.find((l) => l.memoryMb === 2048)!.coldStartMs;
    // Each warm request: 2 GB x 0.010 s; each cold one adds 2 GB x ceil(INIT) ms.
    const warmUsd = r.requests * 2 * 0.01 * gbS;
    const initUsd = r.coldStarts * 2 * (Math.ceil(cold) / 1000) * gbS;
    expect(r.coldStarts).toBeGreaterThan(0);
    expect(r.cost.lambdaComputeUsd).toBeCloseTo(warmUsd + initUsd, 12);
    expect(r.cost.lambdaRequestsUsd).toBeCloseTo(r.requests * 0.2e-6, 15);
    expect(r.lambdaShare).toBe(1);
    expect(r.vmLaunches).toBe(0);
    // Warm latency = 10 ms service + 15 ms invoke overhead.
    expect(r.p50Ms).toBeGreaterThan(24);
    expect(r.p50Ms).toBeLessThan(26);
  });

  it('Lambda concurrency limit: requests beyond it are throttled and counted as violations', () => {
    const slow = makeProfile({ variant: 's', etaMs: 1000 });
    const env2 = { ...envWith([slow], 5000), lambdaConcurrencyLimit: 10 };
    const policy = scriptedPolicy({ route: 'lambda', variant: 's', memoryMb: 2048 });
    const r = simulate(makeTrace(new Array(20).fill(50)), policy, env2, { seed: 1 });
    // 50 rps x ~1.3 s each needs ~65 concurrent; only 10 allowed.
    expect(r.throttled).toBeGreaterThan(r.requests / 2);
    expect(r.rejected).toBeGreaterThan(r.requests / 2);
    expect(r.violations).toBe(r.late + r.rejected);
  });

  it('same seed -> same arrivals for every policy; different seed -> different', () => {
    const a = simulate(makeTrace(new Array(60).fill(30)), scriptedPolicy({ route: 'lambda', variant: 'm' }), env, { seed: 11 });
    const b = simulate(
      makeTrace(new Array(60).fill(30)),
      scriptedPolicy({ launch: [{ instanceType: 'c5.large', variant: 'm', count: 1 }], route: 'vm', variant: 'm' }),
      env,
      { seed: 11 },
    );
    const c = simulate(makeTrace(new Array(60).fill(30)), scriptedPolicy({ route: 'lambda', variant: 'm' }), env, { seed: 12 });
    expect(a.requests).toBe(b.requests);
    expect(Array.from(a.arrivalsPerSecond!)).toEqual(Array.from(b.arrivalsPerSecond!));
    expect(c.requests).not.toBe(a.requests);
  });

  it('a variant with true latency 1.5x its profile runs 1.5x slower on VMs', () => {
    const policy = () => scriptedPolicy({ launch: [{ instanceType: 'c5.2xlarge', variant: 'm', count: 1 }], route: 'vm', variant: 'm' });
    const base = simulate(makeTrace(new Array(60).fill(5)), policy(), env, { seed: 2 });
    const slow = simulate(makeTrace(new Array(60).fill(5)), policy(), env, { seed: 2, trueLatencyMultiplier: { m: 1.5 } });
    // 10 ms -> 15 ms service, + 1 ms overhead; light load so almost no queueing.
    expect(base.p50Ms).toBeCloseTo(11, 0);
    expect(slow.p50Ms).toBeCloseTo(16, 0);
  });
});
