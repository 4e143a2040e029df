/**
 * The VM/controller app bundle, built for real (infra/bundling/vm-bundle.mjs, as `cdk synth` runs
 * it), and the VM boot as deployed: the launch template's user data, taken from a synthesized
 * stack, runs here under bash with stand-ins only for what is EC2's (the `aws` CLI copies the
 * synthesized asset file instead of reading S3, IMDS answers the variant tag, systemctl starts the
 * unit's ExecStart with its Environment lines). The server then starts from the unpacked bundle
 * alone (its own Node binary, its own node_modules, cwd outside the repo) and answers a real
 * inference over loopback with real onnxruntime. Failure paths: a failed download, model sync or
 * IMDS call stops the boot with SPILLWAY_BOOT_FAILED naming the step, and no server starts; a
 * server that cannot start fails the boot at wait-ready in seconds, its own error as the reason.
 * The controller host likewise: the bundled controller, run by the bundle's Node with the
 * environment of the synthesized controller unit, comes up in the aws world against moto (EC2,
 * CloudWatch) and serves its API behind the key.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/app.js';
import { AppBundle, buildVmBundleSync, type VmBundleInfo } from '../../infra/constructs/app-bundle.js';
import { VmLaunchTemplates } from '../../infra/constructs/vm-launch-templates.js';
import { loadCatalog } from '../../profiles/catalog.js';
import { type Moto, motoAvailable, startMoto, uniqueName } from '../aws/moto.js';
import { synthApp } from './synth-helper.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const VARIANT = 'resnet18-w025-s112-synthetic';
/** ELF e_machine of each architecture's binaries. */
const ELF_MACHINE = { x64: 0x3e, arm64: 0xb7 } as const;

function elfMachine(bytes: Buffer): number {
  expect(bytes.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  return bytes.readUInt16LE(18);
}

function listing(tgz: string): string[] {
  return execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\n').filter(Boolean);
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });

describe.each(['x64', 'arm64'] as const)('app bundle linux/%s (real build)', (arch) => {
  let info: VmBundleInfo;
  let files: string[];
  beforeAll(() => {
    const t0 = Date.now();
    info = buildVmBundleSync(REPO_ROOT, arch === 'x64' ? 'x86_64' : 'arm64');
    files = listing(info.path);
    console.log(
      `[vm-bundle] linux/${arch}: ${(info.bytes / 1e6).toFixed(1)} MB compressed, ${(info.unpackedBytes / 1e6).toFixed(1)} MB unpacked, ` +
        `Node ${info.nodeVersion}, ${Date.now() - t0} ms (${existsSync(info.path) ? 'built or cached' : '?'})`,
    );
  }, 240_000);

  it('holds the entry points, the Node runtime and the native addons of its architecture only', () => {
    const root = `spillway-${arch}/`;
    for (const f of ['app/dist/server.mjs', 'app/dist/engine-worker.mjs', 'app/dist/controller.mjs', 'app/dist/router.mjs', 'app/dist/planner-worker.mjs', 'app/package.json', 'node/bin/node', 'BUNDLE.json']) {
      expect(files).toContain(root + f);
    }
    expect(files).toContain(`${root}app/node_modules/onnxruntime-node/bin/napi-v6/linux/${arch}/onnxruntime_binding.node`);
    expect(files).toContain(`${root}app/node_modules/onnxruntime-node/bin/napi-v6/linux/${arch}/libonnxruntime.so.1`);
    expect(files.filter((f) => new RegExp(`app/node_modules/@img/sharp-linux-${arch}/lib/sharp-linux-${arch}-[0-9.]+\\.node$`).test(f))).toHaveLength(1);
    expect(files.some((f) => f.includes(`@img/sharp-libvips-linux-${arch}/lib/`))).toBe(true);
    expect(files).toContain(`${root}app/node_modules/onnx-proto/package.json`);
    expect(files).toContain(`${root}app/functions/models/registry.json`);
    expect(files).toContain(`${root}app/profiles/catalog.json`);
    const other = arch === 'x64' ? 'arm64' : 'x64';
    expect(files.filter((f) => /\/(darwin|win32)\//.test(f) || f.includes(`linux/${other}/`) || f.includes(`linux-${other}`))).toEqual([]);
    // Nothing that would need a registry or a compiler at boot.
    expect(files.filter((f) => /\/(tsx|typescript|esbuild|aws-cdk-lib|@aws-sdk)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('its Node binary and addons are ELF for linux/' + arch, () => {
    const dir = mkdtempSync(join(tmpdir(), `spillway-elf-${arch}-`));
    try {
      const want = [
        `spillway-${arch}/node/bin/node`,
        `spillway-${arch}/app/node_modules/onnxruntime-node/bin/napi-v6/linux/${arch}/onnxruntime_binding.node`,
        ...files.filter((f) => f.endsWith('.node') && f.includes('/@img/sharp-linux-')),
      ];
      expect(want).toHaveLength(3);
      execFileSync('tar', ['-xzf', info.path, '-C', dir, ...want]);
      for (const w of want) expect(elfMachine(readFileSync(join(dir, w)).subarray(0, 64)), w).toBe(ELF_MACHINE[arch]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is deterministic: the same inputs give the same content key (the asset hash does not churn)', () => {
    const again = buildVmBundleSync(REPO_ROOT, arch === 'x64' ? 'x86_64' : 'arm64');
    expect(again.key).toBe(info.key);
    expect(info.bytes).toBeLessThan(120 * 1024 * 1024);
    expect(JSON.parse(readFileSync(`${info.path}.json`, 'utf8')).packages).toContain('onnxruntime-node@1.30.0');
  });
});

/** qemu user-mode emulation with an aarch64 glibc (Debian: qemu-user-static, libc6/libstdc++6-arm64-cross). */
const QEMU_ARM64 = ['/usr/bin/qemu-aarch64-static', '/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1'].every((p) => existsSync(p));

describe.skipIf(!QEMU_ARM64)('app bundle linux/arm64 under qemu-user (when installed)', () => {
  it("the bundle's own Node runs and loads sharp's arm64 addon (onnxruntime-node is not loaded: it crashes under qemu-user 7.2)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-qemu-arm64-'));
    try {
      execFileSync('tar', ['-xzf', buildVmBundleSync(REPO_ROOT, 'arm64').path, '-C', dir, '--strip-components=1']);
      const out = execFileSync(
        '/usr/bin/qemu-aarch64-static',
        ['-L', '/usr/aarch64-linux-gnu', join(dir, 'node', 'bin', 'node'), '-e', "const s=require('./app/node_modules/sharp');console.log(process.arch,process.version,typeof s,s.versions.vips)"],
        { cwd: dir, encoding: 'utf8', timeout: 120_000, env: { PATH: '/usr/bin:/bin' } },
      );
      expect(out.trim()).toMatch(/^arm64 v22\.\d+\.\d+ function \d+\.\d+\.\d+$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

/** The VM user data of a synthesized launch template (bundling on), tokens resolved for the twin. */
function synthesizedVmBoot(serverPort: number): { script: string; assetFile: string } {
  const outdir = mkdtempSync(join(tmpdir(), 'spillway-vmboot-cdk-'));
  const app = new App({ outdir, builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'Boot', { env: { region: 'us-east-1', account: '111111111111' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PUBLIC }] });
  const bundle = new AppBundle(stack, 'Bundle', { repoRoot: REPO_ROOT });
  new VmLaunchTemplates(stack, 'Vms', {
    vpc,
    fleetName: 'twin',
    instanceTypes: loadCatalog().ec2.instanceTypes.filter((t) => t.name === 'c5.large'),
    controllerSecurityGroup: new ec2.SecurityGroup(stack, 'Ctl', { vpc }),
    appBundle: bundle,
    modelBucket: new s3.Bucket(stack, 'Models'),
    serverPort,
  });
  const asm = app.synth();
  const template = asm.getStackByName('Boot').template as { Resources: Record<string, { Type: string; Properties: Record<string, Json> }> };
  const lt = Object.values(template.Resources).find((r) => r.Type === 'AWS::EC2::LaunchTemplate');
  const ud = (lt!.Properties.LaunchTemplateData as { UserData: { 'Fn::Base64': Json } }).UserData['Fn::Base64'];
  const parts = typeof ud === 'string' ? [ud] : ((ud as { 'Fn::Join': [string, Json[]] })['Fn::Join'][1] ?? []);
  const script = parts
    .map((p) => {
      if (typeof p === 'string') return p;
      const ref = (p as { Ref?: string }).Ref;
      if (ref?.startsWith('Models')) return 'twin-models-bucket';
      return 'twin-assets-bucket';
    })
    .join('');
  const gz = readdirSync(asm.directory).find((f) => f.startsWith('asset.') && f.endsWith('.gz'));
  expect(gz, 'the bundle asset is staged in the cloud assembly').toBeDefined();
  return { script, assetFile: join(asm.directory, gz!) };
}

describe('VM boot as deployed (synthesized user data, real bundle, loopback only)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-vmboot-'));
  const bin = join(dir, 'bin');
  let port = 0;
  let boot: { script: string; assetFile: string };

  beforeAll(async () => {
    port = await freePort();
    boot = synthesizedVmBoot(port);
    mkdirSync(bin, { recursive: true });
    // aws: `s3 cp` of the bundle copies the synthesized asset; `s3 sync` of models/ has nothing to copy.
    writeFileSync(
      join(bin, 'aws'),
      [
        '#!/bin/bash',
        'set -eu',
        `if [ "$FAIL_AT" = "$1 $2" ]; then echo "An error occurred (AccessDenied) when calling the GetObject operation: Access Denied" >&2; exit 1; fi`,
        `if [ "$1 $2" = "s3 cp" ]; then cp "${boot.assetFile}" "\${@: -1}"; exit 0; fi`,
        `if [ "$1 $2" = "s3 sync" ]; then mkdir -p "\${@: -1}"; exit 0; fi`,
        'echo "aws stand-in: unexpected $*" >&2; exit 2',
      ].join('\n'),
    );
    // curl: IMDS answered here (never sent anywhere); every other URL goes to the real curl (loopback).
    writeFileSync(
      join(bin, 'curl'),
      [
        '#!/bin/bash',
        'for a in "$@"; do case "$a" in',
        '  http://169.254.169.254/*)',
        '    if [ "$FAIL_AT" = imds ]; then echo "curl: (22) The requested URL returned error: 404" >&2; exit 22; fi',
        '    case "$a" in */api/token) echo tok;; */tags/instance/spillway:variant) echo "$' + '{TWIN_VARIANT:-' + VARIANT + '}";; */instance-life-cycle) echo on-demand;; *) exit 22;; esac; exit 0;;',
        'esac; done',
        'exec /usr/bin/curl "$@"',
      ].join('\n'),
    );
    // systemctl: `enable --now U` starts U's ExecStart with its Environment= and WorkingDirectory.
    writeFileSync(
      join(bin, 'systemctl'),
      [
        '#!/bin/bash',
        'case "$1" in',
        '  daemon-reload|status) exit 0;;',
        // NRestarts: what systemd's Restart=on-failure would have counted once the server died.
        `  show) if kill -0 "$(cat "${dir}/server.pid" 2>/dev/null)" 2>/dev/null; then echo 0; else echo 3; fi; exit 0;;`,
        '  enable)',
        `    unit="${dir}/systemd/$3"`,
        '    envs=$(sed -n "s/^Environment=//p" "$unit")',
        '    wd=$(sed -n "s/^WorkingDirectory=//p" "$unit")',
        '    exe=$(sed -n "s/^ExecStart=//p" "$unit")',
        // Detached from the script's stdio (as systemd would be); the pid file names the server itself.
        `    (cd "$wd" && exec setsid env -i PATH=/usr/bin:/bin $envs $exe) < /dev/null >> "${dir}/server.log" 2>&1 &`,
        `    echo $! > "${dir}/server.pid"`,
        '    exit 0;;',
        'esac',
        'echo "systemctl stand-in: unexpected $*" >&2; exit 2',
      ].join('\n'),
    );
    writeFileSync(join(bin, 'logger'), '#!/bin/sh\nexit 0\n');
    writeFileSync(join(bin, 'journalctl'), `#!/bin/sh\ntail -n 30 "${dir}/server.log"\n`);
    for (const f of ['aws', 'curl', 'systemctl', 'logger', 'journalctl']) chmodSync(join(bin, f), 0o755);
  }, 240_000);

  afterAll(() => {
    const pidFile = join(dir, 'server.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** The script with the host's fixed paths moved under a scratch root. */
  function runBoot(root: string, env: Record<string, string> = {}) {
    mkdirSync(join(dir, 'systemd'), { recursive: true });
    const script = boot.script
      .replaceAll('/opt/spillway', join(root, 'opt'))
      .replaceAll('/etc/systemd/system', join(dir, 'systemd'))
      .replaceAll('/var/lib/spillway', join(root, 'home'))
      .replaceAll('/dev/console', join(root, 'console'));
    const file = join(dir, `boot-${Date.now()}.sh`);
    writeFileSync(file, script);
    const t0 = Date.now();
    const r = spawnSync('bash', [file], {
      encoding: 'utf8',
      cwd: root,
      env: { PATH: `${bin}:/usr/bin:/bin`, HOME: root, FAIL_AT: '', ...env },
      timeout: 200_000,
    });
    return { ...r, ms: Date.now() - t0 };
  }

  it('the synthesized script has no package manager, strict mode, checked downloads', () => {
    expect(boot.script.startsWith('#!/bin/bash\nset -euo pipefail\n')).toBe(true);
    expect(boot.script).not.toMatch(/\b(dnf|yum|npm|npx|tsx)\b/);
    expect(boot.script).not.toMatch(/\|\|\s*true/);
    expect(Buffer.byteLength(boot.script)).toBeLessThan(16 * 1024); // EC2's user-data limit
    expect(boot.script).toMatch(/\naws s3 cp --only-show-errors s3:\/\/cdk-[a-z0-9]+-assets-111111111111-us-east-1\/[0-9a-f]{64}\.gz \/opt\/spillway\/bundle\.tar\.gz\n/);
  });

  it('boots: unpacks the bundle, starts the server from it and reports SPILLWAY_BOOT_OK; real inference over loopback', async () => {
    const root = mkdtempSync(join(dir, 'ok-'));
    const r = runBoot(root);
    expect(r.status, `${r.stdout}\n${r.stderr}\n${existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8') : ''}`).toBe(0);
    expect(r.stdout).toMatch(/SPILLWAY_BOOT_OK service=spillway-server boot_ms=\d+/);
    expect(readFileSync(join(root, 'console'), 'utf8')).toMatch(/SPILLWAY_BOOT_OK/);
    const steps = [...r.stdout.matchAll(/spillway-boot: step=(\S+) t_ms=(\d+)/g)].map((m) => [m[1], Number(m[2])] as const);
    expect(steps.map((s) => s[0])).toEqual(['imds', 'bundle-download', 'bundle-unpack', 'models', 'systemd', 'start', 'wait-ready']);
    const okMs = Number(/boot_ms=(\d+)/.exec(r.stdout)?.[1]);
    console.log(`[vm-boot twin] steps (ms from script start): ${steps.map(([s, t]) => `${s}@${t}`).join(' ')}; ready at ${okMs} ms`);
    // Self-contained: the server runs the bundle's node from the unpacked tree, not the repo's.
    const cmdline = readFileSync(`/proc/${readFileSync(join(dir, 'server.pid'), 'utf8').trim()}/cmdline`, 'utf8');
    expect(cmdline).toContain(join(root, 'opt', 'node', 'bin', 'node'));
    expect(cmdline).not.toContain(REPO_ROOT);

    const image = readFileSync(join(REPO_ROOT, 'functions', 'models', 'samples', 'ort_cat.jpg')).toString('base64');
    const res = await fetch(`http://127.0.0.1:${port}/v1/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: VARIANT, inputs: [{ image }], topK: 3 }),
    });
    const body = (await res.json()) as { model: string; outputs: Array<{ top: unknown[] }>; backend: { kind: string } };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.model).toBe(VARIANT);
    expect(body.backend.kind).toBe('vm');
    expect(body.outputs[0]?.top).toHaveLength(3);
    const ready = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { status: string };
    expect(ready.status).toBe('ready');
  }, 240_000);

  it('a server that cannot start (unknown variant tag) fails the boot at wait-ready within seconds, with its log as the reason', () => {
    // The healthy server of the boot test holds the port: stop it first (as a new instance would not have it).
    const pidFile = join(dir, 'server.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      try {
        process.kill(pid, 'SIGTERM');
        for (let i = 0; i < 100 && spawnSync('kill', ['-0', String(pid)]).status === 0; i++) spawnSync('sleep', ['0.1']);
      } catch {
        // already gone
      }
    }
    const root = mkdtempSync(join(dir, 'badvariant-'));
    const r = runBoot(root, { TWIN_VARIANT: 'no-such-variant' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/SPILLWAY_BOOT_FAILED service=spillway-server step=wait-ready exit=1 line=\d+/);
    expect(r.stderr).toMatch(/restarted 3 times without answering/);
    expect(r.stderr).toMatch(/no-such-variant/); // the server's own error, from the journal
    expect(r.ms).toBeLessThan(60_000);
  }, 120_000);

  it.each([
    ['s3 cp', 'bundle-download'],
    ['s3 sync', 'models'],
    ['imds', 'imds'],
  ])('a failed %s stops the boot at step %s, loudly, and starts no server', (failAt, step) => {
    const root = mkdtempSync(join(dir, 'fail-'));
    const before = existsSync(join(dir, 'server.pid')) ? readFileSync(join(dir, 'server.pid'), 'utf8') : '';
    const r = runBoot(root, { FAIL_AT: failAt });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`SPILLWAY_BOOT_FAILED service=spillway-server step=${step} exit=[1-9]\\d* line=\\d+`));
    expect(r.stderr.match(/SPILLWAY_BOOT_FAILED/g)).toHaveLength(1); // reported once, by the shell
    expect(readFileSync(join(root, 'console'), 'utf8')).toContain(`step=${step}`);
    expect(r.stdout).not.toContain('SPILLWAY_BOOT_OK');
    expect(existsSync(join(dir, 'server.pid')) ? readFileSync(join(dir, 'server.pid'), 'utf8') : '').toBe(before);
    expect(existsSync(join(root, 'opt', 'node'))).toBe(step === 'models');
  });
});


/** `Environment=K=V` lines of the synthesized controller host's unit; CloudFormation references as '<token>'. */
function controllerHostEnvironment(): Record<string, string> {
  const built = synthApp({ 'spillway:modelDir': join(tmpdir(), 'no-such-model-dir') });
  const instances = Object.values(Template.fromStack(built.serving).findResources('AWS::EC2::Instance')) as Array<{
    Properties: { UserData: { 'Fn::Base64': string | { 'Fn::Join': [string, unknown[]] } } };
  }>;
  const ud = instances[0]!.Properties.UserData['Fn::Base64'];
  const text = typeof ud === 'string' ? ud : ud['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : '<token>')).join(ud['Fn::Join'][0]);
  expect(text).toContain('ExecStart=/opt/spillway/node/bin/node --max-semi-space-size=64 /opt/spillway/app/dist/controller.mjs');
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^Environment=([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

describe.skipIf(!motoAvailable)('controller host as deployed: the bundled controller (its own Node) in the aws world against moto', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-ctlboot-'));
  let moto: Moto;
  let child: ChildProcess | undefined;
  let url = '';
  let log = '';
  const KEY = 'k3y-for-the-bundled-controller';

  beforeAll(async () => {
    moto = await startMoto();
    const info = buildVmBundleSync(REPO_ROOT, 'x86_64');
    const t0 = Date.now();
    execFileSync('tar', ['-xzf', info.path, '-C', dir, '--strip-components=1']);
    const unpackMs = Date.now() - t0;
    const port = await freePort();
    const env = {
      ...controllerHostEnvironment(),
      // What the host adds (the key from Secrets Manager via the EnvironmentFile, the region from
      // the stack) and what this machine needs instead of EC2: loopback, moto, a scratch home.
      SPILLWAY_API_KEY: KEY,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      SPILLWAY_FLEET: uniqueName('bundle'),
      SPILLWAY_LAMBDA_CONCURRENCY: '10', // moto has no GetAccountSettings
      SPILLWAY_MAX_VMS: '0',
      SPILLWAY_HOME: join(dir, 'home'),
      SPILLWAY_SHARED_DIR: 'none',
      PORT: String(port),
      HOST: '127.0.0.1',
      PATH: '/usr/bin:/bin',
    };
    const started = Date.now();
    child = spawn(join(dir, 'node', 'bin', 'node'), [join(dir, 'app', 'dist', 'controller.mjs')], {
      cwd: join(dir, 'app'),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d) => {
      log += d;
    });
    child.stderr?.on('data', (d) => {
      log += d;
    });
    url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 600; i++) {
      if (child.exitCode !== null) throw new Error(`bundled controller exited with ${child.exitCode}: ${log}`);
      try {
        if ((await fetch(`${url}/healthz`)).ok) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`[controller twin] unpack ${unpackMs} ms; /healthz 200 after ${Date.now() - started} ms`);
  }, 240_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await moto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers /healthz, and /v1/status with the key (fleet described through EC2 on moto); /metrics and /openapi.json need the key', async () => {
    expect((await fetch(`${url}/healthz`)).status, log).toBe(200);
    const status = await fetch(`${url}/v1/status`, { headers: { 'x-api-key': KEY } });
    expect(status.status, log).toBe(200);
    const body = (await status.json()) as Record<string, unknown>;
    expect(JSON.stringify(body)).toContain('fleet');
    for (const p of ['/metrics', '/openapi.json', '/v1/status']) expect((await fetch(`${url}${p}`)).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { 'x-api-key': KEY } })).status).toBe(200);
    expect(log).toMatch(/AWS world: fleet/);
  });
});
