/**
 * The twin's stand-in for what EC2 does after RunInstances: for every instance of the fleet that
 * the EC2 API (moto) lists as pending or running, it runs the instance's own user data the way
 * the boot script would, as a local process; when the API says the instance is shutting down,
 * stopping, stopped or terminated (or no longer lists it), the process is stopped as systemd would
 * (SIGTERM, SIGKILL after the unit's TimeoutStopSec).
 *
 * Per instance, from the EC2 API only: the user data (DescribeInstanceAttribute userData, what
 * cloud-init runs), the spillway:variant tag (what the script reads from IMDS), the private IP.
 * The boot script's steps, and what stands in for each:
 *   imds           VARIANT = the instance's spillway:variant tag (IMDS instance tags are the
 *                  instance's tags); VCPU = the instance type's vCPUs from the catalog (`nproc`
 *                  on that instance)
 *   bundle-*       not run: the bundle's paths are mapped onto this checkout (pathsFor below)
 *   models         run: every object under the synced prefix of the model bucket is downloaded
 *                  from S3 (moto) into the instance's own model directory
 *   systemd/start  the unit the script writes is parsed (template.ts unitFromScript) and its
 *                  ExecStart run with exactly its Environment=, with these substitutions:
 *                    HOST=0.0.0.0        -> the instance's private IP (127.77.x.y, see deploy.ts):
 *                                           each instance has its own address, as on EC2
 *                    /opt/spillway/...   -> the instance's directory / this checkout
 *                    node dist/server.mjs -> node --import tsx functions/server/main.ts (the
 *                                           source the bundle's entry is built from)
 *                  plus SPILLWAY_BOOT_DELAY_MS (the server's own "EC2 provisioning" sleep).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { loadCatalog } from '../../profiles/catalog.js';
import { BUNDLE_APP, BUNDLE_NODE, BUNDLE_ROOT } from '../../infra/constructs/app-bundle.js';
import type { AwsTarget } from './deploy.js';
import { decodeUserData, modelSyncOf, type SystemdUnit, unitFromScript } from './template.js';

/** Source of each bundle entry (infra/bundling/vm-bundle.mjs VM_BUNDLE_ENTRIES). */
export const BUNDLE_ENTRY_SOURCES: Readonly<Record<string, string>> = {
  [`${BUNDLE_APP}/dist/server.mjs`]: 'functions/server/main.ts',
  [`${BUNDLE_APP}/dist/controller.mjs`]: 'controller/main.ts',
};

/**
 * What a unit's ExecStart becomes here: the bundled node + its flags + entry -> this node + the
 * same flags + tsx + the entry's source.
 */
export function localExecStart(unit: SystemdUnit, repoRoot: string): string[] {
  const [bin, ...args] = unit.execStart;
  if (bin !== BUNDLE_NODE) throw new Error(`unit ${unit.name}: ExecStart runs ${bin}, not the bundle's node ${BUNDLE_NODE}`);
  const flags: string[] = [];
  while (args[0]?.startsWith('--')) flags.push(args.shift()!);
  const [entry, ...rest] = args;
  const source = entry ? BUNDLE_ENTRY_SOURCES[entry] : undefined;
  if (!source) throw new Error(`unit ${unit.name}: ExecStart entry ${entry} is not a known bundle entry`);
  return [process.execPath, ...flags, '--import', 'tsx', join(repoRoot, source), ...rest];
}

/** Maps a host path of the deployed layout onto the twin's directories. */
export function mapHostPath(p: string, dirs: { repoRoot: string; instanceRoot: string }): string {
  if (p === BUNDLE_APP || p.startsWith(`${BUNDLE_APP}/`)) return dirs.repoRoot + p.slice(BUNDLE_APP.length);
  if (p === BUNDLE_ROOT || p.startsWith(`${BUNDLE_ROOT}/`)) return join(dirs.instanceRoot, 'opt-spillway', p.slice(BUNDLE_ROOT.length));
  if (p.startsWith('/var/lib/')) return join(dirs.instanceRoot, 'var-lib', p.slice('/var/lib/'.length));
  if (p.startsWith('/etc/')) return join(dirs.instanceRoot, 'etc', p.slice('/etc/'.length));
  return p;
}

/** Environment values that are host paths, mapped (mapHostPath); others unchanged. */
export function mapEnvPaths(env: Record<string, string>, dirs: { repoRoot: string; instanceRoot: string }): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.startsWith('/') ? mapHostPath(v, dirs) : v]));
}

const ALIVE = new Set(['pending', 'running']);
/** systemd's TimeoutStopSec in the VM unit (vm-launch-templates.ts). */
const STOP_TIMEOUT_MS = 30_000;

interface Backed {
  id: string;
  ip: string;
  instanceType: string;
  variant: string;
  proc?: ChildProcess;
  seenAtMs: number;
  stoppedAtMs?: number;
  exitCode?: number | null;
  booting?: Promise<void>;
  error?: string;
}

export interface VmBackerOptions {
  aws: AwsTarget;
  fleet: string;
  repoRoot: string;
  /** Per-instance directories (models, home, logs) go under here. */
  workDir: string;
  /** SPILLWAY_BOOT_DELAY_MS of each VM server. */
  bootDelayMs: number;
  pollMs?: number;
}

export class VmBacker {
  private readonly ec2: EC2Client;
  private readonly s3: S3Client;
  private readonly backed = new Map<string, Backed>();
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private readonly vcpus = new Map(loadCatalog().ec2.instanceTypes.map((t) => [t.name, t.vcpu]));
  readonly errors: string[] = [];

  constructor(private readonly o: VmBackerOptions) {
    this.ec2 = new EC2Client({ endpoint: o.aws.endpoint, region: o.aws.region, credentials: o.aws.credentials });
    this.s3 = new S3Client({ endpoint: o.aws.endpoint, region: o.aws.region, credentials: o.aws.credentials, forcePathStyle: true });
  }

  start(): void {
    const tick = () => {
      this.polling = this.poll()
        .catch((err: unknown) => {
          this.errors.push(`poll: ${(err as Error).message}`);
        })
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.o.pollMs ?? 250);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Instances ever backed (launched through the EC2 API and booted here). */
  get launched(): readonly string[] {
    return [...this.backed.keys()];
  }

  /** Instances whose process was stopped because EC2 stopped listing them as pending/running. */
  get stopped(): readonly string[] {
    return [...this.backed.values()].filter((b) => b.stoppedAtMs !== undefined).map((b) => b.id);
  }

  private async poll(): Promise<void> {
    const listed = new Map<string, Instance>();
    let NextToken: string | undefined;
    do {
      const page = await this.ec2.send(
        new DescribeInstancesCommand({ Filters: [{ Name: 'tag:spillway:fleet', Values: [this.o.fleet] }], ...(NextToken ? { NextToken } : {}) }),
      );
      for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) if (i.InstanceId) listed.set(i.InstanceId, i);
      NextToken = page.NextToken;
    } while (NextToken);
    for (const [id, inst] of listed) {
      if (!ALIVE.has(inst.State?.Name ?? '') || this.backed.has(id)) continue;
      const b: Backed = {
        id,
        ip: inst.PrivateIpAddress ?? '',
        instanceType: inst.InstanceType ?? '',
        variant: inst.Tags?.find((t) => t.Key === 'spillway:variant')?.Value ?? '',
        seenAtMs: Date.now(),
      };
      this.backed.set(id, b);
      b.booting = this.boot(b).catch((err: unknown) => {
        b.error = (err as Error).message;
        this.errors.push(`${id}: boot failed: ${b.error}`);
      });
    }
    for (const b of this.backed.values()) {
      if (b.stoppedAtMs !== undefined) continue;
      const st = listed.get(b.id)?.State?.Name;
      if (st === undefined || !ALIVE.has(st)) this.stopInstance(b);
    }
  }

  private async boot(b: Backed): Promise<void> {
    if (!b.ip.startsWith('127.')) throw new Error(`private IP ${b.ip} is not a loopback address (VPC not re-based, see deploy.ts)`);
    const ud = await this.ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: b.id, Attribute: 'userData' }));
    const script = decodeUserData(ud.UserData?.Value ?? '');
    const vcpu = this.vcpus.get(b.instanceType);
    if (vcpu === undefined) throw new Error(`instance type ${b.instanceType} is not in the catalog`);
    if (!b.variant) throw new Error('no spillway:variant tag (the boot script reads it from IMDS)');
    // SPOT: the twin launches on-demand (IMDS instance-life-cycle 'on-demand' -> the script's SPOT=0).
    const unit = unitFromScript(script, { VARIANT: b.variant, VCPU: String(vcpu), SPOT: '0' });
    const dirs = { repoRoot: this.o.repoRoot, instanceRoot: join(this.o.workDir, b.id) };
    // step models: `aws s3 sync s3://<bucket>/<prefix> <dest>`, through the S3 API.
    const sync = modelSyncOf(script);
    const dest = mapHostPath(sync.dest, dirs);
    mkdirSync(dest, { recursive: true });
    const listed = await this.s3.send(new ListObjectsV2Command({ Bucket: sync.bucket, Prefix: sync.prefix }));
    for (const obj of listed.Contents ?? []) {
      if (!obj.Key || obj.Key.endsWith('/')) continue;
      const got = await this.s3.send(new GetObjectCommand({ Bucket: sync.bucket, Key: obj.Key }));
      const file = join(dest, obj.Key.slice(sync.prefix.length));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, await got.Body!.transformToByteArray());
    }
    if (this.backed.get(b.id)?.stoppedAtMs !== undefined) return;
    const env = mapEnvPaths(unit.environment, dirs);
    for (const v of Object.values(env)) if (v.startsWith(dirs.instanceRoot)) mkdirSync(v, { recursive: true });
    if (env.HOST !== '0.0.0.0') throw new Error(`unit ${unit.name}: HOST=${env.HOST}, expected 0.0.0.0 (replaced by the private IP)`);
    env.HOST = b.ip;
    const [cmd, ...args] = localExecStart(unit, this.o.repoRoot);
    const log = createWriteStream(join(dirs.instanceRoot, `${unit.name}.log`));
    const proc = spawn(cmd!, args, {
      cwd: mapHostPath(unit.workingDirectory, dirs),
      // A fresh host: PATH and HOME only, then the unit's environment.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dirs.instanceRoot, ...env, SPILLWAY_BOOT_DELAY_MS: String(this.o.bootDelayMs) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout?.pipe(log, { end: false });
    proc.stderr?.pipe(log, { end: false });
    proc.on('exit', (code) => {
      b.exitCode = code;
      log.end();
    });
    b.proc = proc;
  }

  private stopInstance(b: Backed): void {
    b.stoppedAtMs = Date.now();
    const p = b.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill('SIGTERM');
    const hard = setTimeout(() => p.kill('SIGKILL'), STOP_TIMEOUT_MS);
    hard.unref();
    p.once('exit', () => clearTimeout(hard));
  }

  /** Stops polling and every process still running (the twin's own teardown). */
  async close(): Promise<void> {
    const t = this.timer;
    this.timer = undefined;
    if (t) clearTimeout(t);
    await this.polling;
    await Promise.all([...this.backed.values()].map((b) => b.booting));
    const exits: Promise<void>[] = [];
    for (const b of this.backed.values()) {
      const p = b.proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) continue;
      exits.push(new Promise((r) => p.once('exit', () => r())));
      if (b.stoppedAtMs === undefined) this.stopInstance(b);
    }
    await Promise.all(exits);
    this.ec2.destroy();
    this.s3.destroy();
  }
}
