/**
 * The per-request router: ask the policy where to send a request, call that backend, and fall
 * back when it fails so an accepted request is never lost:
 *  - VM unavailable (process killed, connection refused/reset) -> another ready VM of the same
 *    variant, else Lambda;
 *  - VM overloaded (503) or timed out -> another VM or Lambda;
 *  - Lambda throttled (429) -> a VM of the variant if one has room, else 503 + Retry-After;
 *  - every call has a timeout and the whole request has a deadline, so nothing hangs.
 * Completions feed policy.observe (via the runtime) and the control loop.
 */
import { randomUUID } from 'node:crypto';
import { isErrorCode } from '../../functions/engine/error-codes.js';
import type { BackendInferRequestInput, BackendInferResponse, InferInput } from '../../functions/engine/protocol.js';
import type { CompletionRecord, RouteRequest } from '../core/policy-types.js';
import {
  BackendResponseError,
  BackendTimeoutError,
  BackendUnavailableError,
  ThrottledError,
} from '../errors.js';
import type { Logger } from 'pino';
import type { ServerlessPoolPort, VmClientPort } from '../ports.js';
import { acceptedVariantsFor, noAccurateVariantMessage } from './candidates.js';
import { ApiError, DeadlineError, NoCapacityError } from './errors.js';
import type { ApiMetrics } from './metrics.js';
import type { ControllerRuntime } from './runtime.js';
import type { InferResponse } from './schemas.js';
import { runWarmUp } from '../loop/warm-up.js';

export interface DispatchDeps {
  runtime: ControllerRuntime<unknown>;
  vmClient: VmClientPort;
  pool: ServerlessPoolPort;
  /** Per backend call; also the overall deadline (a request gets at most this long end to end). */
  backendTimeoutMs: number;
  metrics?: ApiMetrics;
  log?: Logger;
  now?: () => number;
}

export interface DispatchRequest {
  task: string;
  input: InferInput;
  sloMs: number;
  minAccuracy: number;
  budgetMs?: number;
  topK?: number;
  /** Model-specific endpoint: variant pinned. */
  variant?: string;
  /**
   * "Late is better than nothing": wait up to backendTimeoutMs (not the budget) and take a cold
   * start that will miss the budget. Default: the answer is due at the budget, 504 after it.
   */
  acceptLate?: boolean;
  /**
   * Told the request's deadline (wall clock) once it is known: the API server re-arms its
   * last-line guard to it (app.ts), so even an adapter that ignores its timeout cannot hold the
   * caller past the deadline + 1 s (instead of backendTimeoutMs + 2 s, 32 s by default).
   */
  onDeadline?: (deadlineMs: number) => void;
}

type Target = { kind: 'vm'; vmId: string; endpoint: string } | { kind: 'lambda' };

/** At most this many backends per request: first choice + 3 fallbacks covers VM->VM->Lambda->VM. */
const MAX_ATTEMPTS = 4;

function failedReason(err: unknown): string {
  if (err instanceof ThrottledError) return 'throttled';
  if (err instanceof BackendUnavailableError) return 'unavailable';
  if (err instanceof BackendTimeoutError) return 'timeout';
  if (err instanceof BackendResponseError) return `status_${err.status}`;
  return 'error';
}

/**
 * `receivedAtMs` is wall-clock (Date.now scale: deadlines, policy time); `receivedPerfMs` is the
 * same instant on performance.now()'s monotonic sub-ms clock, used for every reported duration.
 */
export async function dispatch(
  deps: DispatchDeps,
  req: DispatchRequest,
  receivedAtMs: number,
  receivedPerfMs: number = performance.now(),
): Promise<InferResponse> {
  const now = deps.now ?? Date.now;
  const rt = deps.runtime;
  const startMs = now();
  // Model-less: only variants that can take this input are candidates (a 400 saying what each takes if none).
  const acceptedVariants =
    req.variant === undefined ? acceptedVariantsFor(rt.variants, req.task, req.input) : undefined;
  const routeReq: RouteRequest = {
    nowMs: startMs,
    task: req.task,
    sloMs: req.sloMs,
    minAccuracy: req.minAccuracy,
    ...(req.budgetMs !== undefined ? { budgetMs: req.budgetMs } : {}),
    ...(req.variant !== undefined ? { variant: req.variant } : {}),
    ...(acceptedVariants !== undefined ? { acceptedVariants } : {}),
    ...(req.acceptLate !== undefined ? { acceptLate: req.acceptLate } : {}),
    inputs: 1,
  };
  // Counted as demand whatever the outcome (a rejected request is load the plan must see).
  let decision = rt.host.route(routeReq);
  // Wait for a busy Lambda instance of the variant (core/router.ts 'wait'), then route again with
  // what is left of the budget; a wait that runs out is a 503 (the caller may retry at once).
  const budgetMs = req.budgetMs ?? req.sloMs;
  let waitedMs = 0;
  while (decision.kind === 'wait') {
    if (decision.warm) warmUp(deps, decision.warm.variant);
    const { variant: waitedFor, maxWaitMs } = decision;
    const waitStart = performance.now();
    const released = await rt.lambdaWaiters.wait(waitedFor, maxWaitMs);
    waitedMs += performance.now() - waitStart;
    const nowMs = now();
    decision = released
      ? rt.host.reroute({ ...routeReq, nowMs, budgetMs: budgetMs - (nowMs - receivedAtMs) })
      : {
          kind: 'reject',
          status: 503,
          retryAfterS: 1,
          reason:
            `every Lambda instance of '${waitedFor}' stayed busy for the ${Math.round(maxWaitMs)} ms this request could wait ` +
            `and no VM slot or cold start fits the ${Math.round(budgetMs)} ms budget; retry`,
        };
    if (decision.kind === 'reject' && decision.status === 422) {
      // The caller's SLO was attainable: what is left of it after the wait is not. Not the caller's fault.
      decision = {
        kind: 'reject',
        status: 503,
        retryAfterS: 1,
        reason: `waited ${Math.round(waitedMs)} ms for a busy Lambda instance of '${waitedFor}'; what is left of the ${Math.round(budgetMs)} ms budget no longer fits any backend; retry`,
      };
    }
  }
  if (decision.kind === 'reject') {
    rt.host.rejected(decision.status);
    if (decision.warm) warmUp(deps, decision.warm.variant);
    deps.metrics?.requests.inc({
      backend: 'rejected',
      variant: req.variant ?? '',
      status: String(decision.status),
    });
    const code =
      decision.status === 404
        ? 'not_found'
        : decision.status === 400
          ? 'invalid_request'
          : decision.status === 422
            ? 'slo_unattainable'
            : 'no_capacity';
    const unknownTask = decision.status === 404 && req.variant === undefined;
    // A model-less 400 is "no candidate reaches minAccuracy": say which have what (or that all are synthetic).
    const tooStrict = decision.status === 400 && req.variant === undefined;
    throw new ApiError(
      decision.status,
      code,
      unknownTask
        ? `${decision.reason}; served tasks: ${servedTasks(rt).join(', ') || '(none)'}`
        : tooStrict
          ? noAccurateVariantMessage(rt.variants, req.task, req.minAccuracy, acceptedVariants)
          : decision.reason,
      unknownTask ? 'task' : tooStrict ? 'minAccuracy' : decision.field,
      decision.status === 503 ? decision.retryAfterS : undefined,
    );
  }
  const variant = decision.variant;
  // The answer is due at the budget (budgetMs, else the SLO): at the deadline the API answers 504
  // and abandons the backend call (each call's timeout is what is left). acceptLate waits up to
  // backendTimeoutMs instead. Worked number: sloMs 250, a VM call still running at 250 ms -> 504.
  const budgetField = req.budgetMs !== undefined ? 'budgetMs' : 'sloMs';
  const waitMs = req.acceptLate
    ? deps.backendTimeoutMs
    : Math.min(req.budgetMs ?? req.sloMs, deps.backendTimeoutMs);
  const deadlineMs = receivedAtMs + waitMs;
  req.onDeadline?.(deadlineMs);
  const body: BackendInferRequestInput = {
    model: variant,
    inputs: [req.input],
    ...(req.topK !== undefined ? { topK: req.topK } : {}),
  };
  const excluded = new Set<string>();
  let lambdaThrottled = false;
  let lambdaFailed = false;
  let lambdaRetried = false;
  let retries = 0;
  let rescueWaits = 0;
  let lastErr: unknown;
  const vmFailed = (ex: ReadonlySet<string>) => ex.size > 0;

  let target: Target | undefined;
  if (decision.kind === 'vm') {
    const endpoint = rt.endpointOf(decision.vmId);
    target = endpoint ? { kind: 'vm', vmId: decision.vmId, endpoint } : { kind: 'lambda' };
  } else {
    target = { kind: 'lambda' };
  }

  for (let attempt = 0; attempt < MAX_ATTEMPTS && target; attempt++) {
    const remainingMs = deadlineMs - now();
    if (remainingMs <= 0) break;
    // The backend drops the work once this is spent (the VM's batch queue, the Lambda handler).
    body.budgetMs = remainingMs;
    const callStart = now();
    const callStartPerf = performance.now();
    try {
      let res: BackendInferResponse;
      let coldStart = false;
      let resourceKey: string;
      let billing: { billedDurationMs: number; memoryMb: number } | undefined;
      let coldStartMs = 0;
      if (target.kind === 'vm') {
        rt.host.fleet.dispatched(target.vmId);
        try {
          res = await deps.vmClient.infer(target.endpoint, body, remainingMs);
          // Before finished(): the VM's count includes this request, and so does ours.
          if (res.load) rt.host.fleet.loadReported(target.vmId, res.load.outstanding, now());
        } finally {
          rt.host.fleet.finished(target.vmId);
        }
        resourceKey = rt.vms.find((v) => v.id === (target as { vmId: string }).vmId)?.instanceType ?? 'vm';
      } else {
        const startedWarm = rt.host.lambda.started(variant, callStart, true);
        let ran = false;
        try {
          const inv = await deps.pool.invoke(variant, body, remainingMs);
          ran = true;
          res = inv.response;
          coldStart = inv.coldStart;
          coldStartMs = inv.initDurationMs ?? 0;
          resourceKey = String(inv.memoryMb);
          billing = { billedDurationMs: inv.billedDurationMs, memoryMb: inv.memoryMb };
        } finally {
          rt.host.lambda.ended(variant, now(), ran, startedWarm);
        }
      }
      const endMs = now();
      const endPerf = performance.now();
      const callMs = endPerf - callStartPerf;
      const inferenceMs = res.timings.preprocessMs + res.timings.inferenceMs;
      const queueMs = res.timings.queueMs;
      const totalMs = endPerf - receivedPerfMs;
      const sloMet = totalMs <= req.sloMs;
      const completion: CompletionRecord = {
        atMs: endMs,
        variant,
        backend: target.kind,
        resourceKey,
        ...(target.kind === 'vm' ? { vmId: target.vmId } : {}),
        serviceMs: inferenceMs,
        totalMs,
        ...(waitedMs > 0 ? { waitedMs } : {}),
        sloMs: req.sloMs,
        coldStart,
        violated: !sloMet,
      };
      rt.observe(completion, billing);
      const m = deps.metrics;
      if (m) {
        m.requests.inc({ backend: target.kind, variant, status: '200' });
        m.latency.observe({ backend: target.kind, variant }, totalMs / 1000);
        if (!sloMet) m.sloViolations.inc({ backend: target.kind });
      }
      const served = rt.variants.get(variant);
      return {
        requestId: randomUUID(),
        task: req.task,
        model: res.model,
        weights: res.weights,
        accuracyTop1: served?.info.accuracyTop1 ?? null,
        backend: {
          kind: target.kind,
          id: target.kind === 'vm' ? target.vmId : res.backend.id,
          coldStart: target.kind === 'lambda' ? (res.backend.coldStart ?? coldStart) : false,
        },
        predictions: res.outputs[0]?.top ?? [],
        latency: {
          queueMs,
          waitMs: waitedMs,
          inferenceMs,
          coldStartMs,
          transportMs: Math.max(0, callMs - queueMs - inferenceMs - coldStartMs),
          totalMs,
        },
        sloMs: req.sloMs,
        sloMet,
        retries,
      };
    } catch (err) {
      lastErr = err;
      // The request itself was bad (e.g. undecodable image): retrying elsewhere cannot help.
      if (
        err instanceof BackendResponseError &&
        err.status >= 400 &&
        err.status < 500 &&
        err.status !== 429
      ) {
        throw passThrough(err);
      }
      deps.metrics?.retries.inc({ reason: failedReason(err) });
      deps.log?.warn(
        {
          backend: target.kind,
          vmId: target.kind === 'vm' ? target.vmId : undefined,
          variant,
          reason: failedReason(err),
          err,
        },
        'backend call failed; re-dispatching',
      );
      retries++;
      if (target.kind === 'vm') {
        excluded.add(target.vmId);
        if (err instanceof BackendUnavailableError) rt.host.fleet.markDead(target.vmId);
      } else if (err instanceof ThrottledError) {
        lambdaThrottled = true;
        rt.host.lambda.throttled(now(), err.retryAfterMs);
      } else if (err instanceof BackendResponseError && !lambdaRetried) {
        // A function error (crashed or timed-out instance, 5xx) is usually instance-local: one more
        // invocation lands on another instance.
        lambdaRetried = true;
      } else {
        lambdaFailed = true;
      }
      target = nextTarget(rt, variant, excluded, lambdaThrottled || lambdaFailed, now());
      if (!target && vmFailed(excluded) && lambdaThrottled && !lambdaFailed) {
        // This request was already accepted by a VM that then failed: rather than turn it away,
        // wait for Lambda concurrency to free up (full-jitter backoff 100 ms .. 1.6 s) until the deadline.
        const waitMs = Math.min(
          deadlineMs - now() - 1,
          10 + Math.random() * 100 * 2 ** Math.min(rescueWaits++, 4),
        );
        if (waitMs > 0) {
          await new Promise((r) => setTimeout(r, waitMs));
          lambdaThrottled = false;
          target = nextTarget(rt, variant, excluded, false, now());
          attempt--; // rescue waits are bounded by the deadline, not by MAX_ATTEMPTS
        }
      }
    }
  }
  const status =
    lambdaThrottled && !(lastErr instanceof BackendTimeoutError)
      ? 503
      : lastErr instanceof BackendTimeoutError || lastErr === undefined || isBackendDeadline(lastErr)
        ? 504
        : 502;
  rt.host.failed(status);
  deps.metrics?.requests.inc({ backend: 'failed', variant, status: String(status) });
  if (status === 503) {
    const retryAfterS = lastErr instanceof ThrottledError ? lastErr.retryAfterMs / 1000 : 1;
    throw new NoCapacityError(
      `Lambda is throttling and no VM serving '${variant}' has room; retry after ${Math.ceil(retryAfterS)} s`,
      retryAfterS,
      { cause: lastErr },
    );
  }
  if (status === 502) {
    throw new ApiError(
      502,
      'backend_failed',
      `every backend tried for '${variant}' failed; retry later`,
      undefined,
      1,
      {
        cause: lastErr,
      },
    );
  }
  throw new DeadlineError(
    req.acceptLate
      ? `no backend answered for '${variant}' within ${waitMs} ms (backendTimeoutMs, acceptLate)`
      : `no backend answered for '${variant}' within the ${waitMs} ms budget (${budgetField}); ` +
          `the backend call was abandoned (send acceptLate: true to wait up to ${deps.backendTimeoutMs} ms)`,
    budgetField,
    { cause: lastErr },
  );
}

/** Starts a warm-up of one of the variant's Lambda instances (a router decision asked for it). */
function warmUp(deps: DispatchDeps, variant: string): void {
  void runWarmUp(
    {
      host: deps.runtime.host,
      pool: deps.pool,
      timeoutMs: deps.backendTimeoutMs,
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.log ? { log: deps.log } : {}),
    },
    variant,
  );
}

/** The backend itself dropped the request because its budget ran out (its own 504). */
function isBackendDeadline(err: unknown): boolean {
  return err instanceof BackendResponseError && err.status === 504;
}

function nextTarget(
  rt: ControllerRuntime<unknown>,
  variant: string,
  excluded: ReadonlySet<string>,
  lambdaOut: boolean,
  nowMs: number,
): Target | undefined {
  const vm = rt.host.fleet.pickFallback(variant, excluded, nowMs);
  if (vm) {
    const endpoint = rt.endpointOf(vm.id);
    if (endpoint) return { kind: 'vm', vmId: vm.id, endpoint };
  }
  if (!lambdaOut) return { kind: 'lambda' };
  return undefined;
}

function servedTasks(rt: ControllerRuntime<unknown>): string[] {
  return [...new Set([...rt.variants.values()].map((s) => s.info.task))].sort();
}

/**
 * The backend request wraps the public `input` as `inputs[0]`: its field names (`inputs.0.image`,
 * `inputs[0].tensor.shape`) are rewritten to the public request's (`input.image`), in `field` and
 * in the message, so the caller is told about the field it sent.
 */
export function publicFieldName(backendField: string): string {
  return backendField.replace(/\binputs(?:\.0|\[0\])(?=[.[]|\b|$)/g, 'input');
}

/** A backend's 4xx as the public API's error: its catalogued code, or backend_rejected for a foreign one. */
export function passThrough(err: BackendResponseError): ApiError {
  const b = err.body as { error?: { code?: string; message?: string; field?: string } } | undefined;
  // A Spillway backend sends catalogued codes; Lambda's own refusals (RequestTooLargeException,
  // AccessDeniedException, ...) are not, so they go out as one catalogued code, the name in the message.
  const raw = b?.error?.code;
  const code = raw === undefined ? 'invalid_request' : isErrorCode(raw) ? raw : 'backend_rejected';
  const text = publicFieldName(b?.error?.message ?? err.message);
  const message = code === 'backend_rejected' ? `${String(raw).slice(0, 64)}: ${text}` : text;
  const field = b?.error?.field === undefined ? undefined : publicFieldName(b.error.field);
  return new ApiError(err.status, code, message, field, undefined, { cause: err });
}
