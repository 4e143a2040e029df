/**
 * LambdaPool: the serverless pool over @aws-sdk/client-lambda. One function per variant, named
 * `${functionPrefix}${variant}`. Works unchanged against AWS, moto, LocalStack and Spillway's local
 * Lambda runtime (controller/local/lambda-runtime): only the endpoint differs (see client-config.ts).
 *
 * invoke(): synchronous Invoke (RequestResponse, LogType Tail) with an overall timeout
 * (abortSignal), retries with full-jitter backoff on AWS 5xx and network failures only; a 429
 * TooManyRequestsException becomes ThrottledError at once (the router spills elsewhere rather
 * than hammering an exhausted concurrency pool). The handler's output is always
 * {statusCode, headers, body}; body is a BackendInferResponse (2xx) or an ErrorBody.
 */
import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  PutFunctionConcurrencyCommand,
  PutProvisionedConcurrencyConfigCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import {
  type BackendInferRequestInput,
  type BackendInferResponse,
  BackendInferResponseSchema,
  ErrorBodySchema,
  WARM_UP_EVENT,
} from '../../functions/engine/protocol.js';
import {
  BackendResponseError,
  BackendTimeoutError,
  BackendUnavailableError,
  ConfigError,
  ThrottledError,
} from '../errors.js';
import type { FunctionState, InvokeResult, ServerlessPoolPort, WarmUpResult } from '../ports.js';
import { type BurstGuardDecision, type BurstGuardOptions, decideMemoryUpdate } from '../core/burst-guard.js';
import { type AwsClientOptions, resolveClientConfig } from './client-config.js';
import { MemoryUpdateDeferredError, MemoryUpdateFailedError } from './errors.js';
import { decodeLogResult, parseReportLine } from './lambda-report.js';
import {
  type BackoffOptions,
  fullJitterDelayMs,
  isAbortError,
  isNetworkError,
  isServerError,
  sdkErrorCode,
  sdkHttpStatus,
  sleepMs,
} from './retry.js';

export interface LambdaPoolOptions extends AwsClientOptions {
  /** Use this client instead of building one (its endpoint/retry settings are then the caller's). */
  client?: LambdaClient;
  /** @default 'spillway-' */
  functionPrefix?: string;
  /** Variants whose functions describe() reports. @default those seen by invoke/setMemory so far */
  variants?: readonly string[];
  /** Total attempts per invoke, including the first (5xx/network only). @default 3 */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  burstGuard?: BurstGuardOptions;
  /** Max time to wait for a configuration update to become Successful. @default 120 */
  updateWaitSeconds?: number;
  /** UpdateFunctionConfiguration answered 409 (an update in progress): wait and retry this many times. @default 3 */
  maxConflictRetries?: number;
  /**
   * Concurrent connections the client keeps to the Lambda endpoint: the planned Lambda concurrency
   * plus the control calls (describe, setMemory). The SDK's default of 50 sockets would queue the
   * 51st concurrent invoke inside the controller while Lambda had room. @default the SDK's (50)
   */
  maxSockets?: number;
  /** Clock, injectable for tests. @default Date.now */
  now?: () => number;
}

const RECENT_KEEP_MS = 60_000;
const WARM_UP_PAYLOAD = new TextEncoder().encode(JSON.stringify(WARM_UP_EVENT));

export class LambdaPool implements ServerlessPoolPort {
  readonly client: LambdaClient;
  private readonly prefix: string;
  private readonly maxAttempts: number;
  private readonly known = new Set<string>();
  private readonly memoryMbByVariant = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  private readonly recent = new Map<string, number[]>();
  private readonly now: () => number;

  constructor(private readonly opts: LambdaPoolOptions = {}) {
    const maxAttempts = opts.maxAttempts ?? 3;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 10) {
      throw new ConfigError(`LambdaPool maxAttempts must be an integer in 1..10, got ${maxAttempts}`);
    }
    this.maxAttempts = maxAttempts;
    this.prefix = opts.functionPrefix ?? 'spillway-';
    // SDK retries are off: we retry ourselves so that throttles are never retried and the
    // overall timeout covers every attempt.
    if (opts.maxSockets !== undefined && (!Number.isInteger(opts.maxSockets) || opts.maxSockets < 1)) {
      throw new ConfigError(`LambdaPool maxSockets must be an integer >= 1, got ${opts.maxSockets}`);
    }
    this.client =
      opts.client ??
      new LambdaClient({
        ...resolveClientConfig(opts),
        maxAttempts: 1,
        // The SDK's shorthand (>= 3.521) for a NodeHttpHandler with these agent options.
        ...(opts.maxSockets !== undefined
          ? { requestHandler: { httpAgent: { maxSockets: opts.maxSockets, keepAlive: true }, httpsAgent: { maxSockets: opts.maxSockets, keepAlive: true } } }
          : {}),
      });
    this.now = opts.now ?? Date.now;
    for (const v of opts.variants ?? []) this.known.add(v);
  }

  functionName(variant: string): string {
    return `${this.prefix}${variant}`;
  }

  async invoke(variant: string, body: BackendInferRequestInput, timeoutMs: number): Promise<InvokeResult> {
    if (!(timeoutMs > 0)) throw new ConfigError(`invoke timeoutMs must be > 0, got ${timeoutMs}`);
    this.known.add(variant);
    const functionName = this.functionName(variant);
    const payload = new TextEncoder().encode(JSON.stringify(body));
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new BackendTimeoutError(`lambda ${functionName} timed out`, timeoutMs)),
      timeoutMs,
    );
    const startedMs = this.now();
    this.inFlight.set(variant, (this.inFlight.get(variant) ?? 0) + 1);
    this.noteRecent(variant, startedMs);
    try {
      const out = await this.invokeWithRetries(functionName, payload, controller.signal, timeoutMs);
      return this.toResult(variant, functionName, out, this.now() - startedMs);
    } finally {
      clearTimeout(timer);
      this.inFlight.set(variant, (this.inFlight.get(variant) ?? 1) - 1);
    }
  }

  /**
   * The warm-up invoke: WARM_UP_EVENT, answered by the handler once its init is done. It counts
   * toward the variant's in-flight invokes (the burst rule sees it) like any other.
   */
  async warm(variant: string, timeoutMs: number): Promise<WarmUpResult> {
    if (!(timeoutMs > 0)) throw new ConfigError(`warm timeoutMs must be > 0, got ${timeoutMs}`);
    this.known.add(variant);
    const functionName = this.functionName(variant);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new BackendTimeoutError(`lambda ${functionName} warm-up timed out`, timeoutMs)), timeoutMs);
    const startedMs = this.now();
    this.inFlight.set(variant, (this.inFlight.get(variant) ?? 0) + 1);
    this.noteRecent(variant, startedMs);
    try {
      const out = await this.invokeWithRetries(functionName, WARM_UP_PAYLOAD, controller.signal, timeoutMs);
      const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
      const envelope = parseJson(text) as { statusCode?: unknown; body?: unknown } | undefined;
      if (out.FunctionError || envelope?.statusCode !== 200) {
        throw new BackendResponseError(`lambda ${functionName} warm-up failed: ${out.FunctionError ?? text.slice(0, 200)}`, 502, envelope?.body);
      }
      const body = (typeof envelope.body === 'string' ? parseJson(envelope.body) : envelope.body) as { coldStart?: unknown } | undefined;
      const report = parseReportLine(decodeLogResult(out.LogResult));
      if (report) this.memoryMbByVariant.set(variant, report.memoryMb);
      return {
        coldStart: body?.coldStart === true || report?.initDurationMs !== undefined,
        billedDurationMs: report?.billedDurationMs ?? Math.max(1, Math.ceil(this.now() - startedMs)),
        memoryMb: report?.memoryMb ?? this.memoryMbByVariant.get(variant) ?? 0,
        ...(report?.initDurationMs !== undefined ? { initDurationMs: report.initDurationMs } : {}),
      };
    } finally {
      clearTimeout(timer);
      this.inFlight.set(variant, (this.inFlight.get(variant) ?? 1) - 1);
    }
  }

  private async invokeWithRetries(
    functionName: string,
    payload: Uint8Array,
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<InvokeCommandOutput> {
    let lastErr: unknown;
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      try {
        return await this.client.send(
          new InvokeCommand({
            FunctionName: functionName,
            InvocationType: 'RequestResponse',
            LogType: 'Tail',
            Payload: payload,
          }),
          { abortSignal: signal },
        );
      } catch (err) {
        if (signal.aborted || isAbortError(err)) {
          throw new BackendTimeoutError(`lambda ${functionName} did not answer within ${timeoutMs} ms`, timeoutMs, {
            cause: err,
          });
        }
        const code = sdkErrorCode(err);
        const status = sdkHttpStatus(err);
        if (code === 'TooManyRequestsException' || status === 429) {
          throw new ThrottledError(`lambda ${functionName} throttled (${code})`, 1000, { cause: err });
        }
        if (!isServerError(err) && !isNetworkError(err)) {
          if (code === 'ResourceNotFoundException') {
            throw new BackendUnavailableError(`lambda function ${functionName} not found`, { cause: err });
          }
          throw new BackendResponseError(
            `lambda ${functionName} rejected the invoke: ${code}`,
            status ?? 502,
            { error: { code, message: (err as Error).message } },
            { cause: err },
          );
        }
        lastErr = err;
        if (attempt + 1 < this.maxAttempts) {
          try {
            await sleepMs(fullJitterDelayMs(attempt, this.opts.backoff), signal);
          } catch (abortErr) {
            throw new BackendTimeoutError(`lambda ${functionName} did not answer within ${timeoutMs} ms`, timeoutMs, {
              cause: abortErr,
            });
          }
        }
      }
    }
    throw new BackendUnavailableError(
      `lambda ${functionName} unavailable after ${this.maxAttempts} attempts: ${sdkErrorCode(lastErr)}`,
      { cause: lastErr },
    );
  }

  private toResult(
    variant: string,
    functionName: string,
    out: InvokeCommandOutput,
    measuredMs: number,
  ): InvokeResult {
    const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
    if (out.FunctionError) {
      // Unhandled error in the function (crash, timeout, out of memory): the request may be fine.
      throw new BackendResponseError(
        `lambda ${functionName} failed: ${out.FunctionError}`,
        502,
        { error: { code: 'function_error', message: out.FunctionError } },
        { cause: text },
      );
    }
    const envelope = parseJson(text);
    const statusCode = (envelope as { statusCode?: unknown } | undefined)?.statusCode;
    const rawBody = (envelope as { body?: unknown } | undefined)?.body;
    if (typeof statusCode !== 'number') {
      throw new BackendResponseError(
        `lambda ${functionName} returned no statusCode (expected {statusCode, headers, body})`,
        502,
        { error: { code: 'bad_backend_output', message: text.slice(0, 200) } },
      );
    }
    const bodyJson = typeof rawBody === 'string' ? parseJson(rawBody) : rawBody;
    if (statusCode < 200 || statusCode >= 300) {
      const parsedErr = ErrorBodySchema.safeParse(bodyJson);
      const message = parsedErr.success ? parsedErr.data.error.message : `status ${statusCode}`;
      if (statusCode === 429) {
        throw new ThrottledError(`lambda ${functionName} answered 429: ${message}`);
      }
      throw new BackendResponseError(`lambda ${functionName} answered ${statusCode}: ${message}`, statusCode, bodyJson);
    }
    const parsed = BackendInferResponseSchema.safeParse(bodyJson);
    if (!parsed.success) {
      throw new BackendResponseError(
        `lambda ${functionName} returned a body that is not a BackendInferResponse: ${parsed.error.message}`,
        502,
        bodyJson,
      );
    }
    const response: BackendInferResponse = parsed.data;
    const report = parseReportLine(decodeLogResult(out.LogResult));
    if (report) this.memoryMbByVariant.set(variant, report.memoryMb);
    return {
      response,
      coldStart: response.backend.coldStart ?? report?.initDurationMs !== undefined,
      // Measured includes the network round trip, so it over-states billing slightly; used only
      // when the runtime sent no REPORT line (e.g. an emulator).
      billedDurationMs: report?.billedDurationMs ?? Math.max(1, Math.ceil(measuredMs)),
      memoryMb: report?.memoryMb ?? this.memoryMbByVariant.get(variant) ?? 0,
      ...(report?.initDurationMs !== undefined ? { initDurationMs: report.initDurationMs } : {}),
    };
  }

  /** Whether a memory update for this variant would be allowed now, and if not, why. */
  checkMemoryUpdate(variant: string): BurstGuardDecision {
    return decideMemoryUpdate(
      {
        inFlight: this.inFlight.get(variant) ?? 0,
        recentInvokeTimesMs: this.recent.get(variant) ?? [],
        nowMs: this.now(),
      },
      this.opts.burstGuard,
    );
  }

  /**
   * Sets the function's memory and waits until the update is Successful. Refused (throws
   * MemoryUpdateDeferredError with the reason) while the variant is in a burst: retry next tick.
   * Lambda answers 409 ResourceConflictException while an earlier update is InProgress (AWS: "wait
   * for LastUpdateStatus to leave InProgress before the next update"): the call then waits for it
   * (waitUntilFunctionUpdatedV2) and retries, up to `maxConflictRetries` times. `signal` abandons
   * the wait.
   */
  async setMemory(variant: string, memoryMb: number, opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (!Number.isInteger(memoryMb) || memoryMb < 128 || memoryMb > 10_240) {
      throw new ConfigError(`setMemory memoryMb must be an integer in 128..10240, got ${memoryMb}`);
    }
    this.known.add(variant);
    const decision = this.checkMemoryUpdate(variant);
    if (!decision.allowed) {
      throw new MemoryUpdateDeferredError(
        `memory update of ${this.functionName(variant)} to ${memoryMb} MB deferred: ${decision.reason}`,
        decision.reason,
      );
    }
    const FunctionName = this.functionName(variant);
    const maxConflictRetries = this.opts.maxConflictRetries ?? 3;
    for (let conflicts = 0; ; conflicts++) {
      try {
        await this.client.send(
          new UpdateFunctionConfigurationCommand({ FunctionName, MemorySize: memoryMb }),
          opts.signal ? { abortSignal: opts.signal } : {},
        );
        break;
      } catch (err) {
        if (sdkErrorCode(err) !== 'ResourceConflictException' || conflicts >= maxConflictRetries) {
          throw new MemoryUpdateFailedError(
            `memory update of ${FunctionName} to ${memoryMb} MB was refused: ${sdkErrorCode(err)}${conflicts > 0 ? ` (after ${conflicts} conflict wait(s))` : ''}`,
            { cause: err },
          );
        }
        await this.waitUpdated(FunctionName, memoryMb, opts.signal);
      }
    }
    await this.waitUpdated(FunctionName, memoryMb, opts.signal);
    this.memoryMbByVariant.set(variant, memoryMb);
  }

  /** Until the function's LastUpdateStatus is Successful (a Failed one or the wait's end throws). */
  private async waitUpdated(FunctionName: string, memoryMb: number, signal?: AbortSignal): Promise<void> {
    try {
      await waitUntilFunctionUpdatedV2(
        {
          client: this.client,
          maxWaitTime: this.opts.updateWaitSeconds ?? 120,
          minDelay: 1,
          maxDelay: 5,
          ...(signal ? { abortSignal: signal } : {}),
        },
        { FunctionName },
      );
    } catch (err) {
      throw new MemoryUpdateFailedError(`memory update of ${FunctionName} to ${memoryMb} MB did not complete`, {
        cause: err,
      });
    }
  }

  /** Reserved concurrency (a cap and a guarantee) for the variant's function. */
  async setReservedConcurrency(variant: string, reserved: number): Promise<void> {
    if (!Number.isInteger(reserved) || reserved < 0) {
      throw new ConfigError(`reserved concurrency must be a non-negative integer, got ${reserved}`);
    }
    await this.client.send(
      new PutFunctionConcurrencyCommand({
        FunctionName: this.functionName(variant),
        ReservedConcurrentExecutions: reserved,
      }),
    );
  }

  /** Provisioned (pre-initialised, no cold start) concurrency on an alias or version. */
  async setProvisionedConcurrency(variant: string, qualifier: string, count: number): Promise<void> {
    if (!Number.isInteger(count) || count < 1) {
      throw new ConfigError(`provisioned concurrency must be an integer >= 1, got ${count}`);
    }
    await this.client.send(
      new PutProvisionedConcurrencyConfigCommand({
        FunctionName: this.functionName(variant),
        Qualifier: qualifier,
        ProvisionedConcurrentExecutions: count,
      }),
    );
  }

  async describe(): Promise<FunctionState[]> {
    const states: FunctionState[] = [];
    for (const variant of [...this.known].sort()) {
      const functionName = this.functionName(variant);
      const cfg = await this.client.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
      const memoryMb = cfg.MemorySize ?? 0;
      this.memoryMbByVariant.set(variant, memoryMb);
      // Pending/Failed of either the function or its last update is what the loop must see.
      const state =
        cfg.State && cfg.State !== 'Active'
          ? cfg.State
          : cfg.LastUpdateStatus === 'InProgress'
            ? 'Pending'
            : cfg.LastUpdateStatus === 'Failed'
              ? 'Failed'
              : (cfg.State ?? 'Active');
      states.push({ variant, functionName, memoryMb, state });
    }
    return states;
  }

  private noteRecent(variant: string, nowMs: number): void {
    const list = this.recent.get(variant) ?? [];
    list.push(nowMs);
    // Drop entries older than any window we evaluate (bounded memory under sustained load).
    while (list.length > 0 && list[0]! < nowMs - RECENT_KEEP_MS) list.shift();
    this.recent.set(variant, list);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
