/**
 * createLambdaHandler: the middy pipeline around one variant's engine session. Separate from
 * handler.ts (which loads the session at module init) so tests can build it with their own
 * engine, clock and logger.
 *
 * Deadline: the reply is due at arrival + min(budgetMs, remainingTime - marginMs). Lambda kills
 * an invocation at its timeout with no reply at all; answering 504 'deadline_exceeded' `margin`
 * ms earlier (default 200) lets the caller spill the request elsewhere instead of waiting blind.
 * Worked number: 3 s function timeout, 2,950 ms left on arrival, budget 5,000 ms -> 2,750 ms.
 */
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { Context } from 'aws-lambda';
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import { cpuIsa, isaKey } from '../engine/cpu-isa.js';
import type { InferenceEngine } from '../engine/engine-types.js';
import { type BackendInferResponse, isWarmUpEvent } from '../engine/protocol.js';
import type { ModelVariant } from '../engine/registry-schema.js';
import { SERVING_LIMITS } from '../server/limits.js';
import { validateInferRequest } from '../server/validate.js';
import { DeadlineExceededError, ServingConfigError } from './errors.js';
import { type SpillwayEvent, errorMapper, eventGuard, responseShape, spillwayEvent } from './middleware.js';
import { describeIssues } from '../engine/zod-issues.js';
import { warmUp } from '../engine/warm-up.js';

export const LambdaHandlerOptionsSchema = z.strictObject({
  engine: z.custom<InferenceEngine>((v) => typeof v === 'object' && v !== null && 'predict' in v),
  variant: z.custom<ModelVariant>((v) => typeof v === 'object' && v !== null && 'name' in v),
  functionName: z.string().min(1),
  /** Identifies this sandbox (one per process); default random. */
  instanceId: z.string().min(1).default(() => Math.random().toString(36).slice(2, 10)),
  timeoutMarginMs: z.number().min(0).default(200),
  maxBodyBytes: z.number().int().positive().default(SERVING_LIMITS.lambdaMaxBodyBytes),
  logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null && 'info' in v).optional(),
  now: z.custom<() => number>((v) => typeof v === 'function').optional(),
});
export type LambdaHandlerOptions = z.input<typeof LambdaHandlerOptionsSchema>;

export interface LambdaResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export function createLambdaHandler(options: LambdaHandlerOptions) {
  const parsed = LambdaHandlerOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new ServingConfigError(`createLambdaHandler option ${describeIssues(parsed.error.issues)}`);
  }
  const o = parsed.data;
  const log = o.logger ?? pino({ level: 'info' });
  const now = o.now ?? (() => performance.now());
  const served = new Map([[o.variant.name, o.variant]]);
  const backendId = `${o.functionName}/${o.instanceId}`;
  let invocations = 0;

  async function infer(event: SpillwayEvent, context: Context): Promise<LambdaResult> {
    const coldStart = invocations === 0;
    invocations++;
    // Started ahead of requests by the controller: the init (model load) is done, nothing to infer.
    if (event.kind === 'invoke' && isWarmUpEvent(event.payload)) {
      // Started ahead of requests: also run the model once, so the first real request is warm too.
      if (coldStart) await warmUp(o.engine, o.variant.name).catch(() => undefined);
      return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ warm: true, coldStart }) };
    }
    const remaining =
      typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : Number.POSITIVE_INFINITY;
    const lambdaBudget = remaining - o.timeoutMarginMs;
    const v = await validateInferRequest(event.payload, served);
    const budget = Math.min(v.request.budgetMs ?? Number.POSITIVE_INFINITY, lambdaBudget);
    const leftMs = event.arrivalMs + budget - now();
    const byLambda = lambdaBudget <= (v.request.budgetMs ?? Number.POSITIVE_INFINITY);
    const field = byLambda ? 'context.remainingTime' : 'budgetMs';
    const reason = byLambda
      ? `the function's remaining time minus the ${o.timeoutMarginMs} ms margin ran out`
      : 'budget ran out before the result was ready';
    if (leftMs <= 0) throw new DeadlineExceededError(Math.max(0, budget), reason, field);
    const started = now();
    let timer: NodeJS.Timeout | undefined;
    const deadline = Number.isFinite(leftMs)
      ? new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new DeadlineExceededError(budget, reason, field)), leftMs);
        })
      : undefined;
    try {
      const predict = o.engine.predict(v.variant.name, v.inputs, { topK: v.request.topK });
      // If the deadline wins, the run still finishes in the background; swallow its outcome.
      predict.catch(() => {});
      const result = deadline ? await Promise.race([predict, deadline]) : await predict;
      const reply: BackendInferResponse = {
        model: v.variant.name,
        weights: v.variant.weights,
        outputs: result.outputs.map((top) => ({ top })),
        timings: {
          queueMs: Math.max(0, started - event.arrivalMs),
          preprocessMs: result.preprocessMs,
          inferenceMs: result.inferenceMs,
          batchSize: result.batchSize,
        },
        backend: { kind: 'lambda', id: backendId, coldStart, isa: isaKey(cpuIsa()) },
      };
      return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(reply) };
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  return (
    middy<unknown, LambdaResult>(infer as never, { timeoutEarlyInMillis: 0 })
      // after/onError middlewares run in reverse order of .use(): errorMapper (any error -> status +
      // ErrorBody), httpErrorHandler (renders it), responseShape last (contract shape, always).
      .use(responseShape())
      .use(eventGuard({ now }))
      .use(httpHeaderNormalizer())
      .use(spillwayEvent({ maxBodyBytes: o.maxBodyBytes, now }))
      .use(httpErrorHandler({ logger: false as never }))
      .use(errorMapper({ logger: log }))
  );
}
