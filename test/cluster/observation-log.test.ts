/**
 * A router's observation log, replayed into a planner's host, gives the planner what it would have
 * seen serving those requests itself: the same demand, refusals, learning, Lambda warm estimate
 * and bill. Real Spillway policy, manual clock.
 */
import { describe, expect, it } from 'vitest';
import { ingestObservations, ObservationLog } from '../../controller/cluster/observation-log.js';
import { PolicyHost } from '../../controller/core/host/policy-host.js';
import type { CompletionRecord, Policy } from '../../controller/core/policy-types.js';
import { createSpillwayPolicy } from '../../controller/core/spillway-policy.js';
import { REAL_MODELS, makeEnv } from '../core/fixtures.js';

const env = makeEnv(REAL_MODELS);
const variant = env.variants[0]!.name;
const task = env.variants[0]!.task;
const hostOpts = { limits: {}, lambdaMemoryMb: 2048, lambdaKeepAliveMs: 60_000, nowMs: 0 };
const newHost = () => new PolicyHost(createSpillwayPolicy() as unknown as Policy<unknown>, env, hostOpts);

function completion(atMs: number, totalMs: number): CompletionRecord {
  return { atMs, variant, backend: 'lambda', resourceKey: '2048', serviceMs: totalMs - 5, totalMs, sloMs: 200, coldStart: false, violated: totalMs > 200 } as CompletionRecord;
}

/** The same traffic fed to `host`: 30 requests, 20 answered by Lambda, 6 refused, 4 failed. */
function serve(host: PolicyHost<unknown>): void {
  for (let i = 0; i < 30; i++) {
    const t = 100 + i * 100;
    host.route({ nowMs: t, task, sloMs: 200, minAccuracy: i % 2 === 0 ? 0 : 70, inputs: 1 });
    if (i < 20) {
      host.lambda.started(variant, t);
      host.lambda.ended(variant, t + 40 + i, true);
      host.completed(completion(t + 40 + i, 40 + i), { billedDurationMs: 40 + i, memoryMb: 2048 });
    } else if (i < 26) host.rejected(503);
    else host.failed(i % 2 === 0 ? 504 : 502);
  }
  host.lambda.throttled(3_000, 500);
  host.warmUpBilled({ billedDurationMs: 900, memoryMb: 2048 });
}

describe('ObservationLog -> ingestObservations', () => {
  it('a planner fed the JSON of a router log decides as the router host would have', () => {
    const direct = newHost();
    serve(direct);

    const router = newHost();
    const log = new ObservationLog();
    log.install(router);
    serve(router);
    const body = JSON.parse(JSON.stringify(log.take()));
    const planner = newHost();
    ingestObservations(planner, body);

    // Warm-ups a router claimed for its own refusals count in that router's totals (their invokes
    // and bills do reach the planner, as Lambda events and warmUpBilled).
    expect({ ...planner.totals, warmUps: 0 }).toEqual({ ...direct.totals, warmUps: 0 });
    expect(planner.ledger.lambdaUsd).toBeCloseTo(direct.ledger.lambdaUsd, 12);
    expect(planner.lambda.snapshot()).toEqual(direct.lambda.snapshot());
    const a = direct.tick(10_000);
    const b = planner.tick(10_000);
    expect(b.observation.demand).toEqual(a.observation.demand);
    expect(b.observation.completions).toEqual(a.observation.completions);
    expect(b.decision.forecastRps).toBe(a.decision.forecastRps);
    expect(b.decision.variantShares).toEqual(a.decision.variantShares);
    // The log starts empty again.
    expect(log.take().completions).toHaveLength(0);
  });

  it('past maxCompletions it keeps a uniform sample and the bill stays exact', () => {
    const host = newHost();
    const log = new ObservationLog(10);
    log.install(host);
    for (let i = 0; i < 100; i++) host.completed(completion(i, 50), { billedDurationMs: 50, memoryMb: 1024 });
    const body = log.take();
    expect(body.completions).toHaveLength(10);
    expect(body.unsampledCompletions).toBe(90);
    const billed = [...body.completions.map((e) => e.billing!), ...body.extraBilling];
    expect(billed).toHaveLength(100);
    const planner = newHost();
    ingestObservations(planner, body);
    expect(planner.ledger.lambdaUsd).toBeCloseTo(host.ledger.lambdaUsd, 12);
  });

  it('a router host (a follower, with a log) keeps no completions of its own: memory stays flat under load', () => {
    const router = newHost();
    const log = new ObservationLog(50);
    log.install(router);
    for (let i = 0; i < 5_000; i++) router.completed(completion(i, 40), undefined);
    // Its own tick input stays empty (a follower never ticks; were it to, nothing would have piled up).
    expect((router as unknown as { completions: unknown[] }).completions).toHaveLength(0);
    const body = log.take();
    expect(body.completions).toHaveLength(50);
    expect(body.unsampledCompletions).toBe(4_950);
    expect(router.totals.lambda).toBe(5_000);
  });
});
