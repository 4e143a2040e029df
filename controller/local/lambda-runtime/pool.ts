/**
 * The local Lambda service's state: functions, their instances, concurrency admission, keep-alive
 * reaping and billing. The HTTP layer (server.ts) maps the Lambda API onto these methods.
 *
 * Semantics follow Lambda:
 * - one request per instance at a time; a request finding no idle instance of the function's
 *   current configuration starts a new one (a cold start = process start + handler module init);
 * - concurrency = in-flight invocations (cold ones included). A function with reserved concurrency
 *   R throttles at R in flight (Reason ReservedFunctionConcurrentInvocationLimitExceeded); the others
 *   share accountLimit - sum(R) (Reason ConcurrentInvocationLimitExceeded);
 * - a configuration update takes effect for NEW instances once LastUpdateStatus is Successful; warm
 *   instances of the old configuration are retired (idle ones at once, busy ones when they finish);
 * - idle instances die after keepAliveMs; a timed-out or crashed instance is discarded.
 */
import { randomUUID } from 'node:crypto';
import type { Catalog } from '../../../profiles/catalog.js';
import {
  lambdaBilledDurationMs,
  lambdaComputeCostUsd,
  lambdaGbSeconds,
  lambdaPricePerGbSecond,
  lambdaRequestFeesUsd,
  lambdaThreadsForMemory,
} from '../../../profiles/pricing.js';
import { conflict, functionArn, invalidParameter, LambdaApiError, notFound, throttled } from './api-errors.js';
import { reportLine } from './report-line.js';
import type { LocalFunctionConfig, ResolvedRuntimeOptions } from './config.js';
import { type InvocationResult, LocalInstance } from './instance.js';
import type { LambdaErrorPayload } from './worker-protocol.js';

export interface FunctionCounters {
  invocations: number;
  coldStarts: number;
  throttles: number;
  errors: number;
  timeouts: number;
  billedMs: number;
  gbSeconds: number;
}

interface FunctionEntry {
  /** Configuration as the API shows it (the latest update, maybe still InProgress). */
  shown: LocalFunctionConfig;
  /** Configuration new instances get (applied when the update completes). */
  active: LocalFunctionConfig;
  configVersion: number;
  lastUpdateStatus: 'Successful' | 'InProgress' | 'Failed';
  lastModified: string;
  updateTimer?: NodeJS.Timeout;
  instances: Set<LocalInstance>;
  inFlight: number;
  counters: FunctionCounters;
}

export interface InvokeOutcome {
  requestId: string;
  /** JSON text returned to the caller (the handler's value, or Lambda's error object). */
  payload: string;
  functionError?: 'Unhandled';
  /** Full log of this invocation (START..REPORT); the HTTP layer tails it. */
  log: string;
  coldStart: boolean;
  durationMs: number;
  billedMs: number;
  initMs?: number;
  memoryMb: number;
}

export interface FunctionStats extends FunctionCounters {
  functionName: string;
  variant: string;
  memoryMb: number;
  threads: number;
  reservedConcurrency?: number;
  instances: { warm: number; busy: number; starting: number };
  inFlight: number;
  dollars: number;
}

export interface RuntimeStats {
  functions: FunctionStats[];
  totals: { invocations: number; coldStarts: number; throttles: number; gbSeconds: number; dollars: number };
  accountConcurrencyLimit: number;
  pricePerGbSecondUsd: number;
  pricePerMillionRequestsUsd: number;
  liveWorkerPids: number[];
}

/** Lambda's synchronous response limit: 6 MB. */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;

const isoNow = (): string => new Date().toISOString().replace('Z', '+0000');

export class LambdaPool {
  private readonly fns = new Map<string, FunctionEntry>();
  private readonly reaper: NodeJS.Timeout;
  private closed = false;
  accountConcurrencyLimit: number;

  constructor(
    private readonly opts: ResolvedRuntimeOptions,
    private readonly catalog: Catalog,
    private readonly repoRoot: string,
    private readonly handlerModule: string,
    functions: readonly LocalFunctionConfig[],
  ) {
    this.accountConcurrencyLimit = opts.accountConcurrencyLimit;
    for (const f of functions) {
      if (this.fns.has(f.functionName)) throw invalidParameter(`duplicate functionName '${f.functionName}'`);
      this.fns.set(f.functionName, {
        shown: f,
        active: f,
        configVersion: 1,
        lastUpdateStatus: 'Successful',
        lastModified: isoNow(),
        instances: new Set(),
        inFlight: 0,
        counters: { invocations: 0, coldStarts: 0, throttles: 0, errors: 0, timeouts: 0, billedMs: 0, gbSeconds: 0 },
      });
    }
    this.checkReservedSum();
    // Reap often enough that an instance lives at most keepAlive + keepAlive/4 (capped at 1 s late).
    this.reaper = setInterval(() => this.reap(), Math.max(20, Math.min(1000, Math.floor(opts.keepAliveMs / 4))));
    this.reaper.unref();
  }

  arn(name: string): string {
    return functionArn(this.opts.region, this.opts.accountId, name);
  }

  private entry(name: string): FunctionEntry {
    const e = this.fns.get(name);
    if (!e) throw notFound(this.arn(name));
    return e;
  }

  names(): string[] {
    return [...this.fns.keys()];
  }

  has(name: string): boolean {
    return this.fns.has(name);
  }

  private checkReservedSum(): void {
    let sum = 0;
    for (const e of this.fns.values()) sum += e.shown.reservedConcurrency ?? 0;
    if (sum > this.accountConcurrencyLimit) {
      throw invalidParameter(
        `Specified ReservedConcurrentExecutions decrease account's UnreservedConcurrentExecution below its minimum value of [0]: reserved total ${sum} > account limit ${this.accountConcurrencyLimit}`,
      );
    }
  }

  private reservedSum(): number {
    let sum = 0;
    for (const e of this.fns.values()) sum += e.active.reservedConcurrency ?? 0;
    return sum;
  }

  /** Throws TooManyRequestsException when admitting one more invocation would exceed a limit. */
  private admit(e: FunctionEntry): void {
    const reserved = e.active.reservedConcurrency;
    if (reserved !== undefined) {
      if (e.inFlight >= reserved) throw throttled('ReservedFunctionConcurrentInvocationLimitExceeded', 1);
      return;
    }
    let unreservedInFlight = 0;
    for (const f of this.fns.values()) if (f.active.reservedConcurrency === undefined) unreservedInFlight += f.inFlight;
    if (unreservedInFlight >= this.accountConcurrencyLimit - this.reservedSum()) {
      throw throttled('ConcurrentInvocationLimitExceeded', 1);
    }
  }

  private instanceEnv(c: LocalFunctionConfig, threads: number): Record<string, string> {
    const env: Record<string, string> = {};
    for (const k of this.opts.passEnv) {
      const v = process.env[k];
      if (v !== undefined) env[k] = v;
    }
    Object.assign(env, c.env, {
      SPILLWAY_VARIANT: c.variant,
      SPILLWAY_INTRA_OP_THREADS: String(threads),
      SPILLWAY_LOCAL_HANDLER_MODULE: this.handlerModule,
      SPILLWAY_LOCAL_HANDLER_EXPORT: this.opts.handlerExport,
      AWS_LAMBDA_FUNCTION_NAME: c.functionName,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(c.memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_REGION: this.opts.region,
      AWS_DEFAULT_REGION: this.opts.region,
    });
    return env;
  }

  private spawn(e: FunctionEntry): LocalInstance {
    const threads = lambdaThreadsForMemory(this.catalog, e.active.memoryMb);
    const inst = new LocalInstance({
      cwd: this.repoRoot,
      env: this.instanceEnv(e.active, threads),
      memoryMb: e.active.memoryMb,
      threads,
      configVersion: e.configVersion,
      echoOutput: this.opts.echoInstanceOutput,
      initNice: this.opts.initNice,
    });
    e.instances.add(inst);
    inst.proc.once('exit', () => e.instances.delete(inst));
    return inst;
  }

  /** An idle instance of the current configuration, most recently used first (Lambda reuses warm sandboxes). */
  private takeIdle(e: FunctionEntry): LocalInstance | undefined {
    let best: LocalInstance | undefined;
    for (const i of e.instances) {
      if (i.state === 'idle' && i.configVersion === e.configVersion && (!best || i.lastUsedMs > best.lastUsedMs)) best = i;
    }
    return best;
  }

  async invoke(name: string, event: unknown): Promise<InvokeOutcome> {
    if (this.closed) throw new LambdaApiError(503, 'ServiceException', 'the local Lambda runtime is shutting down');
    const e = this.entry(name);
    try {
      this.admit(e);
    } catch (err) {
      e.counters.throttles++;
      throw err;
    }
    e.inFlight++;
    const requestId = randomUUID();
    try {
      return await this.run(e, requestId, event);
    } finally {
      e.inFlight--;
    }
  }

  private async run(e: FunctionEntry, requestId: string, event: unknown): Promise<InvokeOutcome> {
    const timeoutMs = e.active.timeoutMs;
    let inst = this.takeIdle(e);
    let initMs: number | undefined;
    let initError: LambdaErrorPayload | undefined;
    if (!inst) {
      inst = this.spawn(e);
      e.counters.coldStarts++;
      const init = await inst.waitReady(Math.max(this.opts.initTimeoutMs, 1));
      initMs = init.initMs;
      if (!init.ok) {
        initError = init.error;
        inst.kill();
      }
    }
    // Reserve the instance synchronously (invoke() flips it to busy before any await).
    let result: InvocationResult;
    if (initError) {
      result = { ok: false, error: initError, durationMs: 0, logs: '', timedOut: false };
    } else {
      result = await inst.invoke(requestId, event, timeoutMs);
    }
    inst.lastUsedMs = Date.now();
    if (this.opts.enforceMemory && result.maxRssMb !== undefined && result.maxRssMb > inst.memoryMb) {
      inst.kill();
      result = {
        ...result,
        ok: false,
        error: {
          errorType: 'Runtime.OutOfMemory',
          errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: signal: killed (${Math.ceil(result.maxRssMb)} MB used of ${inst.memoryMb} MB)`,
        },
      };
    } else if (result.ok && Buffer.byteLength(result.payload ?? 'null') > MAX_RESPONSE_BYTES) {
      // Lambda fails the invocation (not the HTTP call) when the function's answer is too large.
      result = {
        ...result,
        ok: false,
        error: {
          errorType: 'Function.ResponseSizeTooLarge',
          errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
        },
      };
    }
    // Retire a stale-config instance as soon as it is free.
    if (inst.configVersion !== e.configVersion) inst.kill();

    // AWS bills on-demand INIT since August 2025; billInit: false reproduces the older rule.
    const billedMs = lambdaBilledDurationMs(this.catalog, result.durationMs, this.opts.billInit ? (initMs ?? 0) : 0);
    const gbS = lambdaGbSeconds(inst.memoryMb, billedMs);
    e.counters.invocations++;
    e.counters.billedMs += billedMs;
    e.counters.gbSeconds += gbS;
    if (!result.ok) e.counters.errors++;
    if (result.timedOut) e.counters.timeouts++;

    const report = reportLine({
      requestId,
      durationMs: result.durationMs,
      billedMs,
      memoryMb: inst.memoryMb,
      ...(result.maxRssMb !== undefined ? { maxMemoryUsedMb: result.maxRssMb } : {}),
      ...(initMs !== undefined ? { initMs } : {}),
      ...(result.timedOut ? { status: 'timeout' as const } : {}),
    });
    let log = `START RequestId: ${requestId} Version: $LATEST\n${result.logs}`;
    if (result.timedOut || initError) log += `${new Date().toISOString()} ${requestId} ${result.error?.errorMessage ?? ''}\n`;
    log += `END RequestId: ${requestId}\n${report}\n`;

    const out: InvokeOutcome = {
      requestId,
      payload: result.ok ? (result.payload ?? 'null') : JSON.stringify(result.error),
      log,
      coldStart: initMs !== undefined,
      durationMs: result.durationMs,
      billedMs,
      memoryMb: inst.memoryMb,
    };
    if (!result.ok) out.functionError = 'Unhandled';
    if (initMs !== undefined) out.initMs = initMs;
    return out;
  }

  configuration(name: string): FunctionEntry['shown'] & { status: FunctionEntry['lastUpdateStatus']; lastModified: string } {
    const e = this.entry(name);
    return { ...e.shown, status: e.lastUpdateStatus, lastModified: e.lastModified };
  }

  /**
   * UpdateFunctionConfiguration: validates, shows the new values with LastUpdateStatus InProgress,
   * and applies them to new instances after updateDelayMs (then Successful).
   */
  updateConfiguration(
    name: string,
    patch: { memoryMb?: number; timeoutMs?: number; env?: Record<string, string> },
  ): void {
    const e = this.entry(name);
    if (e.lastUpdateStatus === 'InProgress') throw conflict(this.arn(name));
    if (patch.memoryMb !== undefined && (!Number.isInteger(patch.memoryMb) || patch.memoryMb < 128 || patch.memoryMb > 10_240)) {
      throw invalidParameter(`MemorySize ${patch.memoryMb} is invalid: an integer between 128 and 10240 MB`);
    }
    if (patch.timeoutMs !== undefined && (!Number.isInteger(patch.timeoutMs) || patch.timeoutMs < 1000 || patch.timeoutMs > 900_000)) {
      throw invalidParameter(`Timeout ${patch.timeoutMs / 1000} is invalid: an integer between 1 and 900 seconds`);
    }
    const next: LocalFunctionConfig = { ...e.shown };
    if (patch.memoryMb !== undefined) next.memoryMb = patch.memoryMb;
    if (patch.timeoutMs !== undefined) next.timeoutMs = patch.timeoutMs;
    if (patch.env !== undefined) next.env = patch.env;
    e.shown = next;
    e.lastUpdateStatus = 'InProgress';
    e.lastModified = isoNow();
    const apply = (): void => {
      e.updateTimer = undefined;
      e.active = { ...next, ...(e.shown.reservedConcurrency !== undefined ? { reservedConcurrency: e.shown.reservedConcurrency } : {}) };
      e.configVersion++;
      e.lastUpdateStatus = 'Successful';
      for (const i of e.instances) if (i.state === 'idle' && i.configVersion !== e.configVersion) i.kill();
    };
    if (this.opts.updateDelayMs === 0) apply();
    else {
      e.updateTimer = setTimeout(apply, this.opts.updateDelayMs);
      e.updateTimer.unref();
    }
  }

  /** PutFunctionConcurrency / DeleteFunctionConcurrency (undefined). Takes effect at once, like Lambda. */
  setReservedConcurrency(name: string, reserved: number | undefined): void {
    const e = this.entry(name);
    if (reserved !== undefined && (!Number.isInteger(reserved) || reserved < 0)) {
      throw invalidParameter(`ReservedConcurrentExecutions ${reserved} is invalid: a non-negative integer`);
    }
    const before = { shown: e.shown, active: e.active };
    const withR = <T extends LocalFunctionConfig>(c: T): T => {
      const { reservedConcurrency: _drop, ...rest } = c;
      return (reserved === undefined ? rest : { ...rest, reservedConcurrency: reserved }) as T;
    };
    e.shown = withR(e.shown);
    e.active = withR(e.active);
    try {
      this.checkReservedSum();
    } catch (err) {
      e.shown = before.shown;
      e.active = before.active;
      throw err;
    }
  }

  private reap(): void {
    const now = Date.now();
    for (const e of this.fns.values()) {
      for (const i of e.instances) {
        if (i.state === 'idle' && now - i.lastUsedMs >= this.opts.keepAliveMs) i.kill();
      }
    }
  }

  stats(): RuntimeStats {
    const functions: FunctionStats[] = [];
    const totals = { invocations: 0, coldStarts: 0, throttles: 0, gbSeconds: 0, dollars: 0 };
    const pids: number[] = [];
    for (const [name, e] of this.fns) {
      const inst = { warm: 0, busy: 0, starting: 0 };
      for (const i of e.instances) {
        if (i.state === 'idle') inst.warm++;
        else if (i.state === 'busy') inst.busy++;
        else if (i.state === 'starting') inst.starting++;
        if (i.state !== 'dead' && i.pid !== undefined) pids.push(i.pid);
      }
      const d =
        lambdaComputeCostUsd(this.catalog, e.counters.gbSeconds, this.opts.arch) +
        lambdaRequestFeesUsd(this.catalog, e.counters.invocations);
      const s: FunctionStats = {
        functionName: name,
        variant: e.active.variant,
        memoryMb: e.active.memoryMb,
        threads: lambdaThreadsForMemory(this.catalog, e.active.memoryMb),
        instances: inst,
        inFlight: e.inFlight,
        ...e.counters,
        dollars: d,
      };
      if (e.active.reservedConcurrency !== undefined) s.reservedConcurrency = e.active.reservedConcurrency;
      functions.push(s);
      totals.invocations += e.counters.invocations;
      totals.coldStarts += e.counters.coldStarts;
      totals.throttles += e.counters.throttles;
      totals.gbSeconds += e.counters.gbSeconds;
      totals.dollars += d;
    }
    return {
      functions,
      totals,
      accountConcurrencyLimit: this.accountConcurrencyLimit,
      pricePerGbSecondUsd: lambdaPricePerGbSecond(this.catalog, this.opts.arch),
      pricePerMillionRequestsUsd: this.catalog.lambda.pricePerMillionRequestsUsd,
      liveWorkerPids: pids,
    };
  }

  /** Kill every instance and wait for them to exit. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.reaper);
    const stops: Promise<void>[] = [];
    for (const e of this.fns.values()) {
      if (e.updateTimer) clearTimeout(e.updateTimer);
      for (const i of e.instances) stops.push(i.stop());
    }
    await Promise.all(stops);
  }
}
