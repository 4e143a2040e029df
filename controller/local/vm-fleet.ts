/**
 * LocalVmFleet: the embedded default's "EC2". Each VM is a child process running the real VM
 * inference server (functions/server/main.ts) on a loopback ephemeral port:
 *   node --import tsx --import parent-watch.ts functions/server/main.ts
 * with PORT=0, SPILLWAY_VARIANTS=<variant>, SPILLWAY_INTRA_OP_THREADS = min(instance type vCPUs,
 * maxThreadsPerVm) (core/vm-layout.ts, as on EC2) and SPILLWAY_BOOT_DELAY_MS = bootDelayMs (stands in for EC2 provisioning).
 *
 * Lifecycle as EC2 shows it: launch() returns 'pending' records at once; the server's listening line
 * gives the endpoint; a /readyz poll flips the VM to 'ready' and stamps readyAtMs (so the controller
 * measures a real provisioning latency); terminate() sends SIGTERM (the server drains) and SIGKILL
 * after terminateGraceMs; a process that dies on its own shows as 'terminated'.
 * Spot: a `<type>:spot` type (catalog withSpotTypes) launches the same server as a Spot VM with its
 * own loopback IMDS stand-in (imds-standin.ts) in SPILLWAY_IMDS_ENDPOINT. A ready Spot VM is
 * probed every noticePollMs; when its server reports the notice it turns 'terminating'
 * (core/vm-readiness.ts, the rule the EC2 fleet applies too). reclaim(id) plays EC2: it sets the
 * stand-in's instance-action and SIGKILLs the process spotNoticeMs later (catalog: 120 s).
 * Cost: each VM bills like the instance type it stands in for (catalog price, per second, 60 s
 * minimum, profiles/pricing.ts) from launch to exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { LaunchSpec, VmFleetPort, VmRecord } from '../ports.js';
import { type Catalog, isSpotType, loadCatalog, spotNoticeMs, withSpotTypes } from '../../profiles/catalog.js';
import { findInstanceType, vmBilledCostUsd } from '../../profiles/pricing.js';
import { vmServerLayout } from '../core/vm-layout.js';
import { readinessAnswerOf, stateAfterReadiness } from '../core/vm-readiness.js';
import { type ImdsStandIn, startImdsStandIn } from './imds-standin.js';
import { IdempotentParameterMismatchError, InvalidLaunchSpecError } from './errors.js';
import { parseOptions } from './options.js';
import { defaultInitNice, nicedCommand, reniceThreads } from './init-nice.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_SERVER_ENTRY = fileURLToPath(new URL('../../functions/server/main.ts', import.meta.url));
const PARENT_WATCH = pathToFileURL(fileURLToPath(new URL('./parent-watch.ts', import.meta.url))).href;

export const LocalVmFleetOptionsSchema = z.strictObject({
  /** Server entry module (default functions/server/main.ts). */
  serverEntry: z.string().optional(),
  /** Stand-in for EC2 provisioning (real: 60-120 s; locally a few seconds keeps demos short). */
  bootDelayMs: z.number().int().min(0).default(5_000),
  /** This machine has few cores: a c5.2xlarge (8 vCPU) still gets at most this many threads. */
  maxThreadsPerVm: z.number().int().min(1).default(availableParallelism()),
  /**
   * Concurrent service slots a local VM reports (VmRecord.slots). Default: core/vm-layout.ts, the
   * rule the EC2 fleet uses too (one server with threads = vCPUs runs one batch at a time: 1 slot).
   */
  slotsPerVm: z.number().int().min(1).optional(),
  host: z.string().default('127.0.0.1'),
  /** SIGTERM -> SIGKILL grace for a draining server. */
  terminateGraceMs: z.number().int().min(0).default(10_000),
  readyPollMs: z.number().int().min(10).default(100),
  /** Extra env for every server (e.g. SPILLWAY_MAX_BATCH, SPILLWAY_MODEL_DIR). */
  env: z.record(z.string(), z.string()).default({}),
  /**
   * Per-start shared secret the servers require on every non-health route
   * (functions/server/internal-token.ts); give the same to the HttpVmClient. @default none
   */
  internalToken: z.string().min(16).optional(),
  catalogPath: z.string().optional(),
  /** EC2's Spot notice a reclaim() gives (ms). @default the catalog's spotNoticeMs (120 000) */
  spotNoticeMs: z.number().int().min(0).optional(),
  /** How often a ready Spot VM's /readyz is read for a notice (ms). */
  noticePollMs: z.number().int().min(10).default(500),
  /** The Spot VM server's IMDS poll (SPILLWAY_SPOT_POLL_MS). */
  imdsPollMs: z.number().int().min(50).default(1_000),
  /** Copy server stderr to this process's stderr, prefixed with the VM id (debugging). */
  echoOutput: z.boolean().default(false),
  /**
   * Niceness a VM boots at (process start, model load), back to 0 on every thread once /readyz
   * says ready (init-nice.ts): a booting EC2 VM has its own CPU, a local one shares the cores with
   * the VMs serving. @default 10 for root on Linux, else 0
   */
  bootNice: z.number().int().min(0).max(19).default(defaultInitNice()),
});
export type LocalVmFleetOptions = z.input<typeof LocalVmFleetOptionsSchema>;

/**
 * What a VM process inherits: this process's environment without the public API key (a VM has no
 * use for it, and a child's environment is readable by more tools than the controller's memory).
 */
export function childProcessEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { SPILLWAY_API_KEY: _key, SPILLWAY_INTERNAL_TOKEN: _token, ...rest } = env;
  return rest;
}

export interface LocalVmCost {
  id: string;
  instanceType: string;
  pricePerHourUsd: number;
  runningMs: number;
  /** Per-second billing with the 60 s minimum, as EC2 bills it. */
  billedCostUsd: number;
}

interface LocalVm {
  record: VmRecord;
  proc: ChildProcess;
  pricePerHourUsd: number;
  terminatedAtMs?: number;
  exited: Promise<void>;
  killTimer?: NodeJS.Timeout;
  /** terminate() sent SIGTERM. */
  stopSent?: boolean;
  pollTimer?: NodeJS.Timeout;
  /** Spot VMs: the VM's stand-in for EC2's instance metadata service. */
  imds?: ImdsStandIn;
  /** Spot VMs: when reclaim() set the notice, and when its server's notice made it terminating (ms). */
  reclaimedAtMs?: number;
  terminatingAtMs?: number;
  /** Last stderr lines, for a clear message when a server dies at start. */
  stderrTail: string[];
  exitInfo?: string;
}

export class LocalVmFleet implements VmFleetPort {
  private readonly opts: z.infer<typeof LocalVmFleetOptionsSchema>;
  private readonly catalog: Catalog;
  private readonly now: () => number;
  private readonly vms = new Map<string, LocalVm>();
  private readonly tokens = new Map<string, { spec: LaunchSpec; ids: string[] }>();
  private closed = false;

  constructor(options: LocalVmFleetOptions = {}, deps: { now?: () => number; catalog?: Catalog } = {}) {
    this.opts = parseOptions(LocalVmFleetOptionsSchema, options, 'local VM fleet');
    // `<type>:spot` types resolve (priced at their mean Spot price); on-demand types are unchanged.
    this.catalog = withSpotTypes(deps.catalog ?? loadCatalog(this.opts.catalogPath));
    this.now = deps.now ?? Date.now;
  }

  async launch(spec: LaunchSpec): Promise<VmRecord[]> {
    if (this.closed) throw new InvalidLaunchSpecError('the local VM fleet is closed');
    const prior = this.tokens.get(spec.clientToken);
    if (prior) {
      const p = prior.spec;
      if (p.instanceType !== spec.instanceType || p.variant !== spec.variant || p.count !== spec.count) {
        throw new IdempotentParameterMismatchError(
          `clientToken '${spec.clientToken}' was used for ${p.count} x ${p.instanceType}/${p.variant}; now ${spec.count} x ${spec.instanceType}/${spec.variant}`,
        );
      }
      return prior.ids.map((id) => this.snapshot(id));
    }
    if (!Number.isInteger(spec.count) || spec.count < 1 || spec.count > 64) {
      throw new InvalidLaunchSpecError(`count ${spec.count} is invalid: an integer 1-64`);
    }
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(spec.variant)) {
      throw new InvalidLaunchSpecError(`variant '${spec.variant}' is not a valid variant name`);
    }
    let type: ReturnType<typeof findInstanceType>;
    try {
      type = findInstanceType(this.catalog, spec.instanceType);
    } catch (err) {
      throw new InvalidLaunchSpecError((err as Error).message, { cause: err });
    }
    const ids: string[] = [];
    const spot = isSpotType(spec.instanceType);
    for (let k = 0; k < spec.count; k++) {
      const imds = spot ? await startImdsStandIn({ host: this.opts.host }) : undefined;
      ids.push(this.start(spec, type.vcpu, type.pricePerHourUsd, imds));
    }
    this.tokens.set(spec.clientToken, { spec: { ...spec }, ids });
    return ids.map((id) => this.snapshot(id));
  }

  private start(spec: LaunchSpec, vcpu: number, pricePerHourUsd: number, imds: ImdsStandIn | undefined): string {
    const id = `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
    const layout = vmServerLayout(vcpu, this.opts.maxThreadsPerVm);
    const threads = layout.intraOpThreads;
    const [file, args] = nicedCommand(this.opts.bootNice, process.execPath, [
      '--import',
      'tsx',
      '--import',
      PARENT_WATCH,
      this.opts.serverEntry ?? DEFAULT_SERVER_ENTRY,
    ]);
    const proc = spawn(
      file,
      args,
      {
        cwd: REPO_ROOT,
        env: {
          ...childProcessEnv(process.env),
          ...this.opts.env,
          ...(this.opts.internalToken ? { SPILLWAY_INTERNAL_TOKEN: this.opts.internalToken } : {}),
          PORT: '0',
          HOST: this.opts.host,
          SPILLWAY_VARIANTS: spec.variant,
          SPILLWAY_INTRA_OP_THREADS: String(threads),
          SPILLWAY_BOOT_DELAY_MS: String(this.opts.bootDelayMs),
          SPILLWAY_VM_ID: id,
          ...(imds ? { SPILLWAY_IMDS_ENDPOINT: imds.endpoint, SPILLWAY_SPOT_POLL_MS: String(this.opts.imdsPollMs) } : {}),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const vm: LocalVm = {
      record: {
        id,
        instanceType: spec.instanceType,
        variant: spec.variant,
        state: 'pending',
        launchedAtMs: this.now(),
        slots: this.opts.slotsPerVm ?? layout.slots,
      },
      proc,
      pricePerHourUsd,
      ...(imds ? { imds } : {}),
      stderrTail: [],
      exited: new Promise((resolve) => {
        proc.once('exit', (code, signal) => {
          vm.exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
          vm.record.state = 'terminated';
          vm.terminatedAtMs ??= this.now();
          clearTimeout(vm.killTimer);
          clearTimeout(vm.pollTimer);
          if (vm.imds) void vm.imds.close().then(resolve, resolve);
          else resolve();
        });
      }),
    };
    proc.on('error', (err) => {
      vm.stderrTail.push(`spawn error: ${err.message}`);
    });
    this.vms.set(id, vm);

    if (proc.stdout) {
      const lines = createInterface({ input: proc.stdout });
      lines.on('line', (line) => {
        if (vm.record.endpoint) return;
        try {
          const m = JSON.parse(line) as { event?: string; host?: string; port?: number };
          if (m.event === 'listening' && typeof m.port === 'number') {
            const host = m.host?.includes(':') ? `[${m.host}]` : (m.host ?? this.opts.host);
            vm.record.endpoint = `http://${host}:${m.port}`;
            this.pollReady(vm);
          }
        } catch {
          // not the listening line
        }
      });
    }
    proc.stderr?.on('data', (d: Buffer) => {
      const text = d.toString('utf8');
      if (this.opts.echoOutput) process.stderr.write(`[vm ${id}] ${text}`);
      vm.stderrTail.push(...text.split('\n').filter(Boolean));
      if (vm.stderrTail.length > 20) vm.stderrTail.splice(0, vm.stderrTail.length - 20);
    });
    return id;
  }

  /** Serves at niceness 0 from now on (its boot ran at bootNice). */
  private leaveBootNice(vm: LocalVm): void {
    if (this.opts.bootNice <= 0 || vm.proc.pid === undefined) return;
    try {
      reniceThreads(vm.proc.pid, 0);
    } catch (err) {
      vm.stderrTail.push(`could not leave boot niceness: ${(err as Error).message}`);
    }
  }

  /** Polls /readyz while pending (readyPollMs), and while ready for a Spot VM (noticePollMs). */
  private pollReady(vm: LocalVm): void {
    const watched = (): boolean => vm.record.state === 'pending' || (vm.record.state === 'ready' && vm.imds !== undefined);
    const tick = (): void => {
      if (!watched() || !vm.record.endpoint) return;
      const req = request(`${vm.record.endpoint}/readyz`, { method: 'GET', agent: false, timeout: 1000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = undefined;
          }
          const was = vm.record.state;
          vm.record.state = stateAfterReadiness(was, readinessAnswerOf(res.statusCode ?? 0, body));
          if (was === 'pending' && vm.record.state === 'ready') {
            vm.record.readyAtMs = this.now();
            this.leaveBootNice(vm);
          }
          if (vm.record.state === 'terminating') vm.terminatingAtMs = this.now();
          again();
        });
        res.on('error', () => again());
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => again());
      req.end();
    };
    const again = (): void => {
      if (!watched()) return;
      vm.pollTimer = setTimeout(tick, vm.record.state === 'pending' ? this.opts.readyPollMs : this.opts.noticePollMs);
      vm.pollTimer.unref();
    };
    tick();
  }

  /**
   * EC2 reclaims a Spot VM: its IMDS stand-in answers instance-action {terminate, now + noticeMs}
   * from now on, and the process is SIGKILLed noticeMs later (EC2 takes the instance, drained or
   * not). Returns the termination time. Throws for an unknown, gone or on-demand VM.
   */
  reclaim(id: string, opts: { noticeMs?: number } = {}): { time: string; noticeMs: number } {
    const vm = this.vms.get(id);
    if (!vm || vm.record.state === 'terminated') throw new InvalidLaunchSpecError(`reclaim: unknown or terminated VM id '${id}'`);
    if (!vm.imds) throw new InvalidLaunchSpecError(`reclaim: VM '${id}' is ${vm.record.instanceType}, not a Spot type (<type>:spot)`);
    const noticeMs = opts.noticeMs ?? this.opts.spotNoticeMs ?? spotNoticeMs(this.catalog);
    vm.reclaimedAtMs ??= this.now();
    const time = new Date(Date.now() + noticeMs).toISOString();
    vm.imds.setInstanceAction({ action: 'terminate', time });
    clearTimeout(vm.killTimer);
    vm.killTimer = setTimeout(() => {
      if (vm.proc.exitCode === null && vm.proc.signalCode === null) vm.proc.kill('SIGKILL');
    }, noticeMs);
    vm.killTimer.unref();
    return { time, noticeMs };
  }

  /** Spot VMs: when reclaim() gave the notice and when the fleet saw the VM turn terminating (ms). */
  spotTimes(id: string): { reclaimedAtMs?: number; terminatingAtMs?: number } | undefined {
    const vm = this.vms.get(id);
    if (!vm) return undefined;
    return {
      ...(vm.reclaimedAtMs !== undefined ? { reclaimedAtMs: vm.reclaimedAtMs } : {}),
      ...(vm.terminatingAtMs !== undefined ? { terminatingAtMs: vm.terminatingAtMs } : {}),
    };
  }

  private snapshot(id: string): VmRecord {
    const vm = this.vms.get(id);
    if (!vm) throw new InvalidLaunchSpecError(`unknown VM id '${id}'`);
    return { ...vm.record };
  }

  /** SIGTERM (graceful drain), SIGKILL after terminateGraceMs. Unknown or gone ids are ignored. Returns without waiting for exit; see waitForExit. */
  async terminate(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const vm = this.vms.get(id);
      // A Spot VM that turned terminating on its notice still runs until EC2 (reclaim) or this takes it.
      if (!vm || vm.record.state === 'terminated' || vm.stopSent) continue;
      vm.record.state = 'terminating';
      vm.stopSent = true;
      clearTimeout(vm.pollTimer);
      clearTimeout(vm.killTimer);
      vm.proc.kill('SIGTERM');
      vm.killTimer = setTimeout(() => {
        if (vm.proc.exitCode === null && vm.proc.signalCode === null) vm.proc.kill('SIGKILL');
      }, this.opts.terminateGraceMs);
      vm.killTimer.unref();
    }
  }

  /** Resolves when every listed VM's process has exited. */
  async waitForExit(ids: readonly string[]): Promise<void> {
    await Promise.all(ids.map((id) => this.vms.get(id)?.exited));
  }

  async describe(): Promise<VmRecord[]> {
    return [...this.vms.keys()].map((id) => this.snapshot(id));
  }

  /** OS pid of a VM's server process (tests, diagnostics). */
  pidOf(id: string): number | undefined {
    return this.vms.get(id)?.proc.pid;
  }

  /** Why a VM ended (exit code/signal and its last stderr lines), for error messages. */
  diagnostics(id: string): { exit?: string; stderrTail: string[] } | undefined {
    const vm = this.vms.get(id);
    if (!vm) return undefined;
    return vm.exitInfo === undefined ? { stderrTail: [...vm.stderrTail] } : { exit: vm.exitInfo, stderrTail: [...vm.stderrTail] };
  }

  /** Per-VM running time and EC2-rule cost at `nowMs`. */
  costs(nowMs: number = this.now()): LocalVmCost[] {
    return [...this.vms.values()].map((vm) => {
      const runningMs = Math.max(0, (vm.terminatedAtMs ?? nowMs) - vm.record.launchedAtMs);
      return {
        id: vm.record.id,
        instanceType: vm.record.instanceType,
        pricePerHourUsd: vm.pricePerHourUsd,
        runningMs,
        billedCostUsd: vmBilledCostUsd(this.catalog, vm.record.instanceType, runningMs),
      };
    });
  }

  totalCostUsd(nowMs: number = this.now()): number {
    return this.costs(nowMs).reduce((a, c) => a + c.billedCostUsd, 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    const live = [...this.vms.values()].filter((v) => v.proc.pid !== undefined && v.record.state !== 'terminated');
    await this.terminate(live.map((v) => v.record.id));
    await Promise.all(live.map((v) => v.exited));
  }
}
