/**
 * One local Lambda instance ("execution environment"): a child process running worker.ts, which
 * imports the handler module once (the cold start) and then serves one invocation at a time.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { INIT_NICE_ENV, type LambdaErrorPayload, type WorkerMessage } from './worker-protocol.js';

const WORKER_ENTRY = fileURLToPath(new URL('./worker.ts', import.meta.url));

export type InstanceState = 'starting' | 'idle' | 'busy' | 'dead';

export interface InvocationResult {
  ok: boolean;
  payload?: string;
  error?: LambdaErrorPayload;
  durationMs: number;
  logs: string;
  maxRssMb?: number;
  timedOut: boolean;
}

export type InitResult = { ok: true; initMs: number } | { ok: false; initMs: number; error: LambdaErrorPayload };

export interface InstanceSpawnOptions {
  cwd: string;
  env: Record<string, string>;
  memoryMb: number;
  threads: number;
  configVersion: number;
  echoOutput: boolean;
  /** Niceness during init (config.ts initNice); 0 = a plain fork. */
  initNice?: number;
}

export class LocalInstance {
  readonly id = randomUUID().slice(0, 8);
  readonly memoryMb: number;
  readonly threads: number;
  readonly configVersion: number;
  readonly proc: ChildProcess;
  state: InstanceState = 'starting';
  private ready = false;
  lastUsedMs = 0;
  initMs = 0;
  private readonly startedAt = performance.now();
  private readonly exited: Promise<void>;
  private readyWaiter: ((r: InitResult) => void) | null = null;
  private readyResult: InitResult | null = null;
  private current: { requestId: string; resolve: (r: InvocationResult) => void; startedAt: number } | null = null;
  private exitInfo = '';

  constructor(opts: InstanceSpawnOptions) {
    this.memoryMb = opts.memoryMb;
    this.threads = opts.threads;
    this.configVersion = opts.configVersion;
    const nice = opts.initNice ?? 0;
    // `nice -n N node ...` execs node with every thread at N from its first instruction (Linux
    // niceness is per thread and inherited), so the runtime start and the model load both yield.
    this.proc = fork(WORKER_ENTRY, [], {
      cwd: opts.cwd,
      env: nice > 0 ? { ...opts.env, [INIT_NICE_ENV]: String(nice) } : opts.env,
      ...(nice > 0 ? { execPath: 'nice', execArgv: ['-n', String(nice), process.execPath, '--import', 'tsx'] } : { execArgv: ['--import', 'tsx'] }),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    // Always drain the pipes: a full pipe would block the worker's writes.
    for (const s of [this.proc.stdout, this.proc.stderr]) {
      if (!s) continue;
      if (opts.echoOutput) s.on('data', (d: Buffer) => process.stderr.write(`[lambda ${this.id}] ${d.toString()}`));
      else s.resume();
    }
    this.proc.on('message', (m: WorkerMessage) => this.onMessage(m));
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exitInfo = signal ? `signal ${signal}` : `exit status ${code}`;
        this.state = 'dead';
        const err: LambdaErrorPayload = {
          errorType: 'Runtime.ExitError',
          errorMessage: `Runtime exited with error: ${this.exitInfo}`,
        };
        this.settleReady({ ok: false, initMs: performance.now() - this.startedAt, error: err });
        if (this.current) {
          const c = this.current;
          this.current = null;
          c.resolve({
            ok: false,
            error: { ...err, errorMessage: `RequestId: ${c.requestId} Error: ${err.errorMessage}` },
            durationMs: performance.now() - c.startedAt,
            logs: '',
            timedOut: false,
          });
        }
        resolve();
      });
    });
    this.proc.on('error', () => undefined);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  private settleReady(r: InitResult): void {
    if (this.readyResult) return;
    this.readyResult = r;
    this.readyWaiter?.(r);
  }

  private onMessage(m: WorkerMessage): void {
    if (m.type === 'ready') {
      this.initMs = m.initMs;
      // Stays 'starting' (invisible to other requests) until the request that started it runs.
      this.ready = true;
      // Init Duration as Lambda reports it: process start + runtime + module init, measured here.
      this.settleReady({ ok: true, initMs: performance.now() - this.startedAt });
    } else if (m.type === 'init-error') {
      this.settleReady({ ok: false, initMs: performance.now() - this.startedAt, error: m.error });
    } else if (m.type === 'result' && this.current && this.current.requestId === m.requestId) {
      const c = this.current;
      this.current = null;
      const r: InvocationResult = { ok: m.ok, durationMs: m.durationMs, logs: m.logs, maxRssMb: m.maxRssMb, timedOut: false };
      if (m.payload !== undefined) r.payload = m.payload;
      if (m.error !== undefined) r.error = m.error;
      c.resolve(r);
    }
  }

  /** Resolves when the handler module is loaded (or failed/timed out: then the instance is killed). */
  waitReady(timeoutMs: number): Promise<InitResult> {
    if (this.readyResult) return Promise.resolve(this.readyResult);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.kill();
        this.settleReady({
          ok: false,
          initMs: timeoutMs,
          error: { errorType: 'Sandbox.Timedout', errorMessage: `Init phase timed out after ${(timeoutMs / 1000).toFixed(2)} seconds` },
        });
      }, timeoutMs);
      this.readyWaiter = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
  }

  /** Run one invocation; on timeout the process is killed, as Lambda discards a timed-out sandbox. */
  invoke(requestId: string, event: unknown, timeoutMs: number): Promise<InvocationResult> {
    if (!(this.state === 'idle' || (this.state === 'starting' && this.ready))) {
      throw new Error(`instance ${this.id} is ${this.state}, not idle`);
    }
    this.state = 'busy';
    const startedAt = performance.now();
    return new Promise<InvocationResult>((resolve) => {
      const timer = setTimeout(() => {
        if (!this.current) return;
        this.current = null;
        this.kill();
        resolve({
          ok: false,
          error: {
            errorType: 'Sandbox.Timedout',
            errorMessage: `RequestId: ${requestId} Error: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
          },
          durationMs: timeoutMs,
          logs: '',
          timedOut: true,
        });
      }, timeoutMs);
      this.current = {
        requestId,
        startedAt,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      this.proc.send({ type: 'invoke', requestId, event, deadlineEpochMs: Date.now() + timeoutMs }, (err) => {
        if (err && this.current?.requestId === requestId) this.kill();
      });
    }).finally(() => {
      if (this.state === 'busy') this.state = 'idle';
    });
  }

  /** SIGKILL; the instance counts as dead at once so nothing is routed to it while it exits. */
  kill(): void {
    this.state = 'dead';
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }

  /** Kill and wait for the exit event. */
  async stop(): Promise<void> {
    this.kill();
    if (this.proc.pid === undefined) return; // never spawned: no exit event will come
    await this.exited;
  }
}
