/**
 * The public API's answer promise, measured from the client: every accepted inference request
 * gets 200, 503 + Retry-After, or 504 `deadline_exceeded`, and gets it within its deadline + 1 s.
 * The deadline is dispatch.ts's: min(sloMs, backendTimeoutMs) from receipt, or backendTimeoutMs
 * with acceptLate. Worked number: sloMs 1,000 -> an answer by 2,000 ms after the send.
 *
 * Used by the no-VM, Lambda-saturated tests of both worlds (test/e2e/no-vm-saturated-lambda.test.ts,
 * test/aws/no-vm-saturated-lambda.local-runtime.test.ts). A request the client gives up on (no
 * answer by deadline + 10 s) is reported as `no-answer`: that is the hang this pins.
 */

import type { SpillwayState } from '../../controller/core/spillway-policy.js';
import { lambdaWaitFits } from '../../controller/core/router.js';
import type { ControllerRuntime } from '../../controller/server/runtime.js';

/**
 * Requests one busy warm instance of `variant` lets wait at `sloMs` (the router's own rule,
 * core/router.ts lambdaWaitFits, over the live estimate, which needs a warm answer first:
 * teachWarm): a wave larger than this saturates the pool whatever the machine's speed. Worked
 * number: a warm invoke p50 22 / p99 60 ms, 5 ms overhead, SLO 1 s: 28.
 */
export function waitersPerInstance(runtime: ControllerRuntime<unknown>, variant: string, sloMs: number): number {
  const t = (runtime.host.state as SpillwayState).tables;
  const row = t.variants[t.index.get(variant)!]!;
  const est = row.lambdaEst.get(runtime.lambda.memoryMbByVariant[variant] ?? row.plannedMemoryMb);
  if (!est) throw new Error(`no Lambda estimate for '${variant}'`);
  let n = 0;
  while (n < 10_000 && lambdaWaitFits(est, 1, n, sloMs)) n++;
  return n;
}

/** The slack the API may take past a request's deadline (bookkeeping, a busy event loop). */
export const ANSWER_SLACK_MS = 1_000;
/** The client waits this long past the deadline before it calls a request unanswered. */
const CLIENT_GIVE_UP_AFTER_DEADLINE_MS = 10_000;

export interface BurstOptions {
  url: string;
  /** Route, e.g. `/v1/infer` or `/v1/models/<variant>/infer` (then `task` is ignored). */
  path: string;
  task?: string;
  imageBase64: string;
  sloMs: number;
  /** The stack's backendTimeoutMs: the deadline of acceptLate requests. */
  backendTimeoutMs: number;
  /** Waves of `perWave` concurrent requests, `waveGapMs` apart. */
  waves: number;
  perWave: number;
  waveGapMs: number;
  /** Every n-th request sends acceptLate: true (0 = none). */
  acceptLateEvery?: number;
}

export interface AnswerOutcome {
  status: number | 'no-answer' | 'error';
  code?: string;
  retryAfter?: string;
  acceptLate: boolean;
  deadlineMs: number;
  latencyMs: number;
  backend?: string;
}

async function sendOne(o: BurstOptions, acceptLate: boolean): Promise<AnswerOutcome> {
  const deadlineMs = acceptLate ? o.backendTimeoutMs : Math.min(o.sloMs, o.backendTimeoutMs);
  const body = {
    ...(o.path === '/v1/infer' ? { task: o.task ?? 'image-classification', minAccuracy: 0 } : {}),
    input: { image: o.imageBase64 },
    sloMs: o.sloMs,
    ...(acceptLate ? { acceptLate: true } : {}),
  };
  const t0 = performance.now();
  try {
    const res = await fetch(new URL(o.path, o.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(deadlineMs + CLIENT_GIVE_UP_AFTER_DEADLINE_MS),
    });
    const json = (await res.json()) as { error?: { code?: string }; backend?: { kind?: string } };
    const latencyMs = performance.now() - t0;
    const retryAfter = res.headers.get('retry-after');
    return {
      status: res.status,
      acceptLate,
      deadlineMs,
      latencyMs,
      ...(json.error?.code ? { code: json.error.code } : {}),
      ...(retryAfter !== null ? { retryAfter } : {}),
      ...(json.backend?.kind ? { backend: json.backend.kind } : {}),
    };
  } catch (err) {
    const latencyMs = performance.now() - t0;
    const timedOut = (err as Error).name === 'TimeoutError';
    return { status: timedOut ? 'no-answer' : 'error', acceptLate, deadlineMs, latencyMs };
  }
}

/** `n` answers one after the other (warm, after waitWarm), so the router has learned the invoke overhead. */
export async function teachWarm(o: Pick<BurstOptions, 'url' | 'path' | 'task' | 'imageBase64' | 'sloMs' | 'backendTimeoutMs'>, n: number): Promise<void> {
  const opts: BurstOptions = { ...o, waves: 1, perWave: 1, waveGapMs: 0 };
  for (let i = 0; i < n; i++) await sendOne(opts, false);
}

/** Fires the waves (open loop: a wave does not wait for the previous one) and collects every outcome. */
export async function burstAgainstDeadline(o: BurstOptions): Promise<AnswerOutcome[]> {
  const all: Array<Promise<AnswerOutcome>> = [];
  for (let w = 0; w < o.waves; w++) {
    if (w > 0) await new Promise((r) => setTimeout(r, o.waveGapMs));
    for (let i = 0; i < o.perWave; i++) {
      const n = w * o.perWave + i;
      const late = (o.acceptLateEvery ?? 0) > 0 && n % (o.acceptLateEvery ?? 1) === 0;
      all.push(sendOne(o, late));
    }
  }
  return Promise.all(all);
}

/** Each outcome that breaks the promise, in words (empty when every answer kept it). */
export function deadlineViolations(outcomes: readonly AnswerOutcome[]): string[] {
  const bad: string[] = [];
  for (const [i, x] of outcomes.entries()) {
    const what = `request ${i}${x.acceptLate ? ' (acceptLate)' : ''}: ${x.status}${x.code ? ` ${x.code}` : ''} after ${Math.round(x.latencyMs)} ms`;
    const allowed =
      x.status === 200 ||
      (x.status === 503 && x.retryAfter !== undefined) ||
      (x.status === 504 && x.code === 'deadline_exceeded');
    if (!allowed) bad.push(`${what}: not 200, 503 + Retry-After or 504 deadline_exceeded`);
    else if (x.latencyMs > x.deadlineMs + ANSWER_SLACK_MS)
      bad.push(`${what}: later than its ${x.deadlineMs} ms deadline + ${ANSWER_SLACK_MS} ms`);
  }
  return bad;
}

/** Counts by status (and code), for the failure message and the saturation check. */
export function tally(outcomes: readonly AnswerOutcome[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const x of outcomes) {
    const k = `${x.status}${x.code ? ` ${x.code}` : ''}${x.backend ? ` ${x.backend}` : ''}`;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
}

/** Until /v1/status shows a warm idle Lambda instance of the variant (or the time is up: the burst then meets a cold one). */
export async function waitWarm(url: string, variant: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const s = (await (await fetch(`${url}/v1/status`)).json()) as {
      lambda?: { warmIdleByVariant?: Record<string, number> };
    };
    if ((s.lambda?.warmIdleByVariant?.[variant] ?? 0) > 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}
