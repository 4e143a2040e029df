/**
 * The deploy twin (`npm run test:twin`, issue 11 item 6): the deployment as deployed, on one
 * machine. Synthesizes the stacks, deploys what runs into moto (deploy.ts), runs the controller
 * from the controller host's user data (its systemd unit: environment, working directory,
 * command) with SPILLWAY_WORLD=aws against moto for EC2/S3/SSM/Secrets Manager/CloudWatch and the
 * local Lambda runtime for Lambda (functions as the template defines them), backs every EC2
 * instance the controller launches with the VM's own boot script (vm-backer.ts), replays a burst
 * through the controller's public API, waits for scale-in, then tears down as a stack delete does
 * (controller stopped, then the fleet reaper's Delete). Prints one JSON line at the end:
 *   {"twin":"deploy","requests":N,"withinSloPct":P,"vmsLaunched":N,"vmsTerminated":N,"instancesLeft":0,...}
 * and exits 1 (after the line) when a check fails: no VM launched or ready, Lambda did not take
 * the gap, the Lambda share did not fall, no scale-in, instances left, requests lost.
 *
 * What differs from AWS, all stated where it happens: the VPC re-based onto 127.77.0.0/16
 * (deploy.ts), bundle paths mapped onto this checkout and HOST=<private IP> (vm-backer.ts), and in
 * the controller's environment (controllerEnvironment below): PORT/HOST on loopback, paths, the
 * SDK endpoints and credentials an EC2 host gets from its config and instance profile. Nothing
 * else: the controller's tick, catalog and policy are its defaults.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { silenceSdkNodeVersionNotice } from '../../controller/node-notices.js';
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { checkComplete, fleetInstances, handleEvent } from '../../infra/lambda/fleet-reaper.js';
import { resolveModelFile } from '../../functions/engine/model-sources.js';
import { loadRegistry, repoRoot } from '../../functions/engine/registry.js';
import {
  startLocalLambdaRuntime,
  type LocalFunctionInput,
} from '../../controller/local/lambda-runtime/index.js';
import { runLoad } from '../../controller/replay/load-gen.js';
import { loadSampleImagesBase64 } from '../../controller/replay/samples.js';
import { summarize } from '../../controller/replay/summary.js';
import { breakEvenFromProfile } from '../../controller/core/break-even.js';
import { loadCatalog } from '../../profiles/catalog.js';
import { loadProfiles } from '../../profiles/lib/load.js';
import { instanceEstimate } from '../../profiles/schema.js';
import { MOTO_CREDENTIALS, startMoto, uniqueName } from '../aws/moto.js';
import { synthApp } from '../infra/synth-helper.js';
import type { Json } from '../localstack/free-edition.js';
import { type AwsTarget, awsJson, deployToMoto, type SynthStack } from './deploy.js';
import { resourcesOfType, secretIdOf, unitFromScript } from './template.js';
import { localExecStart, mapEnvPaths, VmBacker } from './vm-backer.js';
import { freePort } from '../e2e/process-tree.js';

silenceSdkNodeVersionNotice();
const REPO = repoRoot();
const T0 = Date.now();
const log = (msg: string): void => {
  process.stderr.write(`[twin +${((Date.now() - T0) / 1000).toFixed(1)}s] ${msg}\n`);
};

/** The one instance type the twin's stack offers (its break-even sets the burst). */
const TWIN_INSTANCE_TYPE = 'c7a.medium';

/** Timings kept short so the twin fits a few minutes on 2 cores. */
const TWIN = {
  /** SPILLWAY_BOOT_DELAY_MS of each VM: its "EC2 provisioning" sleep. */
  vmBootDelayMs: 2_000,
  // The controller runs with its own defaults (5 s tick, the catalog's 90 s typical boot, learned
  // from the first boot): a 5 s typical boot shortens its forecast horizon and hold window to 6 s,
  // and it then rightly leaves a 45 rps burst to Lambda (measured: no VM bought).
  /**
   * The Lambda account's concurrency (GetAccountSettings of the local runtime; the template leaves
   * spillway:lambdaConcurrency unset, so the controller reads it). 2 instances carry ~25-40 rps of
   * a small model here: the burst below exceeds that, so VMs pay off at list prices.
   */
  lambdaConcurrency: 2,
  /**
   * The burst's high rate is set per served variant (burstHighRps): this many times the rate at which
   * one VM starts to cost less than Lambda. A fixed 45 rps sat just above the real MobileNet's
   * break-even (43.8 rps on a c7a.medium) and below the synthetic ResNet's (51.8 rps), so a clone
   * without ../shared bought a VM only when this machine's learned Lambda latencies were slow.
   */
  burstOverBreakEven: 1.5,
  burst: { lowRps: 4, lowS: 5, highS: 40 },
  sloMs: 1_000,
  /** After the burst: how long the controller has to scale in (idle window + 60 s billing minimum). */
  scaleInTimeoutMs: 240_000,
};

/** Small variant: the real MobileNetV1 0.5@128 from ../shared/models, else the synthetic ResNet built offline. */
async function twinVariant(home: string): Promise<{ variant: string; file: string; weights: string }> {
  const registry = loadRegistry();
  const real = 'mobilenet-v1-050-128-quant';
  for (const name of [real, 'resnet18-w025-s112-synthetic']) {
    const v = registry.get(name);
    try {
      const r = await resolveModelFile(v, { home, allowBuild: name !== real });
      return { variant: name, file: r.path, weights: name === real ? 'real' : 'synthetic' };
    } catch (err) {
      if (name !== real) throw err;
    }
  }
  throw new Error('unreachable');
}

/**
 * The burst's high rate: burstOverBreakEven x the variant's break-even rate on the twin's instance
 * type (break-even utilisation x the profile's capacity, the planner's own formula in
 * core/break-even.ts). Worked number: synthetic ResNet, u* 0.106 x 489 rps = 51.8 rps -> 78 rps.
 */
function burstHighRps(variant: string, instanceType: string): number {
  const profile = loadProfiles().get(variant);
  const inst = profile && instanceEstimate(profile, instanceType);
  const uStar = profile && breakEvenFromProfile(loadCatalog(), profile, instanceType, 'x86_64', TWIN.sloMs);
  if (!inst || uStar === undefined || !Number.isFinite(uStar))
    throw new Error(`no break-even for ${variant} on ${instanceType}: its profile has no estimate`);
  return Math.ceil(TWIN.burstOverBreakEven * uStar * inst.throughputRps);
}

function waitExit(p: ChildProcess, ms: number): Promise<number | null> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve(p.exitCode);
    const t = setTimeout(() => {
      p.kill('SIGKILL');
    }, ms);
    p.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

async function waitHealthy(url: string, p: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (p.exitCode !== null) throw new Error(`controller exited with ${p.exitCode} before /healthz answered`);
    try {
      if ((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) })).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`controller /healthz did not answer within ${ms} ms`);
}


async function instanceStates(aws: AwsTarget, fleet: string): Promise<Map<string, string>> {
  const ec2 = new EC2Client({ endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials });
  try {
    const out = new Map<string, string>();
    const page = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'tag:spillway:fleet', Values: [fleet] }] }),
    );
    for (const r of page.Reservations ?? [])
      for (const i of r.Instances ?? []) out.set(i.InstanceId ?? '', i.State?.Name ?? '');
    return out;
  } finally {
    ec2.destroy();
  }
}

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'spillway-twin-'));
  const keep = process.env.SPILLWAY_TWIN_KEEP === '1';
  const fleet = uniqueName('twin');
  const failures: string[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  let summaryLine: Record<string, unknown> = { twin: 'deploy', ok: false };
  try {
    // --- the model the deployment ships (spillway:modelDir's content) ---
    const modelDir = join(work, 'models');
    mkdirSync(modelDir, { recursive: true });
    const model = await twinVariant(join(work, 'build-home'));
    copyFileSync(model.file, join(modelDir, basename(model.file)));
    log(`variant ${model.variant} (${model.weights} weights)`);

    // --- synthesize ---
    const { app } = synthApp({
      'spillway:fleetName': fleet,
      'spillway:variants': model.variant,
      'spillway:instanceTypes': TWIN_INSTANCE_TYPE,
      'spillway:maxVms': '2',
      'spillway:sloMs': String(TWIN.sloMs),
      // The directory the stack uploads to the model bucket (deploy.ts does that upload) and packs into the functions.
      'spillway:modelDir': modelDir,
    });
    const assembly = app.synth();
    const stacks: SynthStack[] = assembly.stacks
      .map((s) => ({ name: s.stackName, template: s.template as SynthStack['template'] }))
      .sort((a, b) => Number(b.name.endsWith('Stateful')) - Number(a.name.endsWith('Stateful')));
    log(`synthesized ${stacks.map((s) => s.name).join(', ')}`);
    const serving = stacks.find((s) => s.name.endsWith('Serving'));
    if (!serving) throw new Error('no Serving stack in the assembly');

    // --- AWS APIs: moto ---
    const moto = await startMoto();
    cleanups.push(() => moto.stop());
    const region = 'us-east-1';
    const aws: AwsTarget = { endpoint: moto.endpoint, region, credentials: MOTO_CREDENTIALS };
    const deployed = await deployToMoto(aws, stacks, { modelDir });
    log(
      `deployed into moto ${moto.endpoint}: ${deployed.created.length} resources, templates ${[...deployed.launchTemplates.keys()].join(', ')}`,
    );
    const servingDeployed = deployed.stacks.get(serving.name)!;
    const types = new Map(Object.entries(serving.template.Resources).map(([id, r]) => [id, r.Type]));
    const { resolveIntrinsics } = await import('../localstack/free-edition.js');

    // --- Lambda: the local runtime, with the functions as the template defines them ---
    const lambdaHome = join(work, 'lambda-home');
    const functions: LocalFunctionInput[] = [];
    for (const [, p] of resourcesOfType(serving.template, 'AWS::Lambda::Function')) {
      const vars = ((p.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ??
        {}) as Record<string, Json>;
      if (typeof vars.SPILLWAY_VARIANT !== 'string') continue; // the reaper's and CDK's own functions
      const env = Object.fromEntries(
        Object.entries(vars).map(([k, v]) => [k, String(resolveIntrinsics(v, servingDeployed, types))]),
      );
      // /var/task/models is the function bundle's model directory; /tmp/spillway its writable home.
      if (env.SPILLWAY_MODEL_DIR !== '/var/task/models')
        throw new Error(
          `function env SPILLWAY_MODEL_DIR=${env.SPILLWAY_MODEL_DIR}, expected /var/task/models`,
        );
      env.SPILLWAY_MODEL_DIR = modelDir;
      env.SPILLWAY_HOME = lambdaHome;
      env.SPILLWAY_SHARED_DIR = 'none';
      functions.push({
        functionName: String(p.FunctionName),
        variant: vars.SPILLWAY_VARIANT,
        memoryMb: Number(p.MemorySize),
        timeoutMs: Number(p.Timeout ?? 3) * 1000,
        env,
      });
    }
    if (functions.length === 0) throw new Error('no variant function in the Serving template');
    const lambda = await startLocalLambdaRuntime({
      functions,
      accountConcurrencyLimit: TWIN.lambdaConcurrency,
      passEnv: ['PATH', 'LANG'],
    });
    cleanups.unshift(() => lambda.close());
    log(
      `local Lambda runtime ${lambda.endpoint}: ${functions.map((f) => `${f.functionName} (${f.memoryMb} MB)`).join(', ')}`,
    );

    // --- the controller host: its user data's systemd unit ---
    const [[, host]] = resourcesOfType(serving.template, 'AWS::EC2::Instance') as [
      [string, Record<string, Json>],
    ];
    const hostScript = Buffer.from(
      String(resolveIntrinsics(host.UserData ?? null, servingDeployed, types)),
      'base64',
    ).toString('utf8');
    const unit = unitFromScript(hostScript);
    const ctlRoot = join(work, 'controller-host');
    const dirs = { repoRoot: REPO, instanceRoot: ctlRoot };
    // step api-key: `aws secretsmanager get-secret-value --secret-id <arn>` into the EnvironmentFile.
    const secretId = secretIdOf(hostScript);
    if (!secretId || !unit.environmentFile)
      throw new Error('controller user data: no secret step or no EnvironmentFile');
    const secret = await awsJson(aws, 'secretsmanager', 'secretsmanager.GetSecretValue', {
      SecretId: secretId,
    });
    const apiKey = String(secret.SecretString);
    const env = mapEnvPaths(unit.environment, dirs);
    if (env.SPILLWAY_WORLD !== 'aws')
      throw new Error(`controller unit: SPILLWAY_WORLD=${env.SPILLWAY_WORLD}, expected aws`);
    for (const v of Object.values(env)) if (v.startsWith(ctlRoot)) mkdirSync(v, { recursive: true });
    const port = await freePort();
    if (env.SPILLWAY_HEALTH_PORT === undefined) throw new Error('controller unit: no SPILLWAY_HEALTH_PORT (the ALB health check port)');
    const healthPort = await freePort();
    const substituted = {
      // 8080 and 8090 on 0.0.0.0 are the host's; here they may be taken and nothing may listen beyond loopback.
      PORT: String(port),
      SPILLWAY_HEALTH_PORT: String(healthPort),
      HOST: '127.0.0.1',
      // What an EC2 host gets from the SDK's config and its instance profile (IMDS).
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    };
    const ctlEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: ctlRoot,
      ...env,
      SPILLWAY_API_KEY: apiKey,
      ...substituted,
    };
    const [cmd, ...args] = localExecStart(unit, REPO);
    const ctlLog = join(work, 'controller.log');
    const ctlOut = createWriteStream(ctlLog);
    const controller = spawn(cmd!, args, {
      cwd: dirs.repoRoot,
      env: ctlEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    controller.stdout?.pipe(ctlOut, { end: false });
    controller.stderr?.pipe(ctlOut, { end: false });
    cleanups.unshift(async () => {
      if (controller.exitCode === null) controller.kill('SIGTERM');
      await waitExit(controller, 30_000);
    });
    const url = `http://127.0.0.1:${port}`;
    log(
      `controller: ${[cmd, ...args].join(' ')} (unit ${unit.name}; env from the unit: ${Object.keys(unit.environment).join(' ')}; replaced or added: ${Object.keys(substituted).join(' ')})`,
    );

    const backer = new VmBacker({
      aws,
      fleet,
      repoRoot: REPO,
      workDir: join(work, 'instances'),
      bootDelayMs: TWIN.vmBootDelayMs,
    });
    backer.start();
    cleanups.unshift(() => backer.close());
    await waitHealthy(url, controller, 120_000);
    log(`controller healthy at ${url}`);
    // What the ALB's target health check asks (PublicEndpoint healthCheckPort): the health thread.
    // Up to 5 tries a second apart: one CI run saw a single "fetch failed" here while the
    // controller was healthy; the cause's code is logged so a recurrence says what it was.
    let ready: Response | Error = new Error('not probed');
    for (let attempt = 1; attempt <= 5; attempt++) {
      ready = await fetch(`http://127.0.0.1:${healthPort}/healthz`, { signal: AbortSignal.timeout(5_000) }).catch((e: unknown) => e as Error);
      if (!(ready instanceof Error) && ready.ok) break;
      const why = ready instanceof Error ? `${ready.message} (${String((ready.cause as { code?: string } | undefined)?.code ?? ready.cause ?? '')})` : ready.status;
      log(`health port ${healthPort} /healthz attempt ${attempt}: ${why}`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    if (ready instanceof Error || !ready.ok)
      failures.push(`the health listener (SPILLWAY_HEALTH_PORT) did not answer /healthz 200: ${ready instanceof Error ? ready.message : ready.status}`);

    // --- the burst, through the public API ---
    const b = TWIN.burst;
    const highRps = burstHighRps(model.variant, TWIN_INSTANCE_TYPE);
    log(
      `burst: ${b.lowRps} rps for ${b.lowS} s, then ${highRps} rps (${TWIN.burstOverBreakEven} x break-even) for ${b.highS} s`,
    );
    const rpsPerSecond = [
      ...Array.from({ length: b.lowS }, () => b.lowRps),
      ...Array.from({ length: b.highS }, () => highRps),
    ];
    const raw = await runLoad({
      url,
      apiKey,
      rpsPerSecond,
      task: 'image-classification',
      sloMs: TWIN.sloMs,
      minAccuracy: 0,
      imagesBase64: loadSampleImagesBase64(),
      requestTimeoutMs: 60_000,
      seed: 11,
    });
    const s = summarize(raw, {
      target: url,
      trace: 'twin burst',
      traceSynthetic: true,
      sloMs: TWIN.sloMs,
      notes: [],
    });
    log(
      `burst done: ${s.sent} sent, ${s.ok} ok, ${(s.sloAttainment * 100).toFixed(1)} % within SLO, Lambda share ${(s.lambdaShare * 100).toFixed(0)} %, lost ${s.lost}`,
    );
    const ok = raw.outcomes.filter((o) => o.status === 200).sort((x, y) => x.sentAtMs - y.sentAtMs);
    const firstVm = ok.findIndex((o) => o.backend === 'vm');
    const share = (xs: typeof ok) => xs.filter((o) => o.backend === 'lambda').length / Math.max(1, xs.length);
    const lambdaShareBeforeVm = firstVm < 0 ? 1 : share(ok.slice(0, firstVm));
    const lambdaShareAfterVm = firstVm < 0 ? 1 : share(ok.slice(firstVm));

    // --- scale-in: the controller terminates idle VMs through the EC2 API ---
    const launchedDuringBurst = backer.launched.length;
    const deadline = Date.now() + TWIN.scaleInTimeoutMs;
    let states = await instanceStates(aws, fleet);
    const terminatedNow = () =>
      [...states.values()].filter((st) => st === 'terminated' || st === 'shutting-down').length;
    while (Date.now() < deadline && launchedDuringBurst > 0 && terminatedNow() < states.size) {
      await new Promise((r) => setTimeout(r, 2_000));
      states = await instanceStates(aws, fleet);
    }
    const vmsTerminatedByScaleIn = terminatedNow();
    log(`scale-in: ${vmsTerminatedByScaleIn} of ${states.size} instance(s) terminated by the controller`);

    // --- teardown as a stack delete: the controller host stops, then the fleet reaper runs ---
    controller.kill('SIGTERM');
    const code = await waitExit(controller, 30_000);
    const ec2 = new EC2Client({ endpoint: aws.endpoint, region, credentials: aws.credentials });
    const leftAfterControllerStop = (await fleetInstances(ec2, fleet)).length;
    // The fleet reaper's custom resource (the one with a FleetName property): its Delete is what `cdk destroy` runs.
    const reaperProps = Object.values(serving.template.Resources)
      .map((r) => (r.Properties ?? {}) as Record<string, Json>)
      .find((p) => typeof p.FleetName === 'string');
    if (!reaperProps) throw new Error('no fleet reaper (a resource with FleetName) in the Serving template');
    const event = {
      RequestType: 'Delete' as const,
      PhysicalResourceId: `reaper-${fleet}`,
      ResourceProperties: { FleetName: String(reaperProps.FleetName) },
    };
    await handleEvent(event, ec2);
    for (let i = 0; i < 30 && !(await checkComplete(event, ec2)).IsComplete; i++)
      await new Promise((r) => setTimeout(r, 1_000));
    const instancesLeft = (await fleetInstances(ec2, fleet)).length;
    ec2.destroy();
    states = await instanceStates(aws, fleet);
    log(
      `teardown: controller exited ${code}; ${leftAfterControllerStop} instance(s) alive after it stopped, ${instancesLeft} after the reaper`,
    );

    const vmsLaunched = states.size;
    const vmsTerminated = [...states.values()].filter((st) => st === 'terminated').length;
    summaryLine = {
      twin: 'deploy',
      ok: false,
      requests: s.sent,
      withinSloPct: Number((s.sloAttainment * 100).toFixed(1)),
      vmsLaunched,
      vmsTerminated,
      instancesLeft,
      vmsTerminatedByScaleIn,
      leftAfterControllerStop,
      answered200: s.ok,
      lost: s.lost,
      rejected503: s.rejected503,
      lambdaShareBeforeVm: Number(lambdaShareBeforeVm.toFixed(3)),
      lambdaShareAfterVm: Number(lambdaShareAfterVm.toFixed(3)),
      maxVmsReady: s.maxVmsReady,
      variant: model.variant,
      durationS: Math.round((Date.now() - T0) / 1000),
    };
    if (vmsLaunched < 1) failures.push('no VM launched through the EC2 API');
    if (backer.launched.length !== vmsLaunched)
      failures.push(`backed ${backer.launched.length} instance(s) but EC2 lists ${vmsLaunched}`);
    if (firstVm < 0) failures.push('no request was answered by a VM (none became ready and took traffic)');
    if (firstVm === 0 || lambdaShareBeforeVm < 1)
      failures.push(`Lambda did not take the gap before the first VM answer (share ${lambdaShareBeforeVm})`);
    if (!(lambdaShareAfterVm < lambdaShareBeforeVm))
      failures.push(`the Lambda share did not fall (${lambdaShareBeforeVm} -> ${lambdaShareAfterVm})`);
    if (vmsTerminatedByScaleIn < 1)
      failures.push(`no scale-in within ${TWIN.scaleInTimeoutMs / 1000} s after the burst`);
    if (instancesLeft !== 0) failures.push(`${instancesLeft} instance(s) left after teardown`);
    if (s.lost > 0) failures.push(`${s.lost} request(s) lost (no answer)`);
    if (code !== 0) failures.push(`controller exited ${code} on SIGTERM`);
    const ctlText = existsSync(ctlLog) ? readFileSync(ctlLog, 'utf8') : '';
    if (!ctlText.includes('spillway: starting the aws world')) failures.push('the controller did not announce the aws world on start');
    failures.push(...backer.errors.map((e) => `VM backer: ${e}`));
    summaryLine.ok = failures.length === 0;
    if (failures.length > 0) {
      process.stderr.write(`--- controller log (last 40 lines of ${ctlLog}) ---\n`);
      if (existsSync(ctlLog))
        process.stderr.write(`${readFileSync(ctlLog, 'utf8').split('\n').slice(-40).join('\n')}\n`);
    }
  } catch (err) {
    failures.push(`twin aborted: ${(err as Error).stack ?? String(err)}`);
  } finally {
    for (const c of cleanups)
      await c().catch((err: unknown) => failures.push(`cleanup: ${(err as Error).message}`));
    if (!keep) rmSync(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
  for (const f of failures) process.stderr.write(`twin FAILED: ${f}\n`);
  process.stdout.write(`${JSON.stringify(summaryLine)}\n`);
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`twin: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
