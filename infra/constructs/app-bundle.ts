/**
 * AppBundle: the self-contained app the VMs and the controller host boot from, one S3 file asset
 * per CPU architecture (infra/bundling/vm-bundle.mjs builds it at synth time): a pinned Node.js
 * runtime for linux/<arch>, the inference server and the controller bundled by esbuild, and only
 * the native packages esbuild cannot bundle (onnxruntime-node pruned to linux/<arch>, sharp with
 * its libvips, onnx-proto). A host downloads one tar.gz from the CDK asset bucket and unpacks it:
 * no npm, no dnf, no registry at boot. Why a shipped runtime rather than a baked AMI: Amazon
 * Linux 2023 offers Node only through dnf (a repository reachable at boot), and an Image Builder
 * pipeline is a second build system to run, version and pay for; a 120 MB Node binary inside
 * the asset costs nothing at idle, changes with the code in one deploy and boots the same way on
 * every stock AL2023 AMI.
 *
 * When the stack is not bundled (`aws:cdk:bundling-stacks` excludes it, as the unit tests do) a
 * placeholder file stands in, so assertions on the template stay fast, unless the context key
 * `spillway:buildAppBundle` is true (the LocalStack suite: real app bundles, no Lambda bundling).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';

export type BundleArch = 'x86_64' | 'arm64';

/** Context key: build the real app bundle even where the stack's bundling is skipped. */
export const BUILD_APP_BUNDLE_CONTEXT = 'spillway:buildAppBundle';

/** Where a host unpacks the bundle, and the paths inside it. */
export const BUNDLE_ROOT = '/opt/spillway';
export const BUNDLE_NODE = `${BUNDLE_ROOT}/node/bin/node`;
export const BUNDLE_APP = `${BUNDLE_ROOT}/app`;

export interface VmBundleInfo {
  readonly path: string;
  readonly key: string;
  readonly arch: 'x64' | 'arm64';
  readonly nodeVersion: string;
  readonly bytes: number;
  readonly unpackedBytes: number;
  readonly entries: Record<string, string>;
  readonly packages: readonly string[];
}

const built = new Map<string, VmBundleInfo>();

/** Builds (or takes from the bundle cache) the bundle for one architecture; memoised per process. */
export function buildVmBundleSync(repoRoot: string, arch: BundleArch): VmBundleInfo {
  const nodeArch = arch === 'arm64' ? 'arm64' : 'x64';
  const memo = `${repoRoot}\0${nodeArch}`;
  const known = built.get(memo);
  if (known) return known;
  const script = join(repoRoot, 'infra', 'bundling', 'vm-bundle.mjs');
  let out: string;
  try {
    out = execFileSync(process.execPath, [script, repoRoot, nodeArch], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1024 * 1024,
    });
  } catch (err) {
    throw new Error(`AppBundle: building the linux/${nodeArch} app bundle failed (see the vm-bundle output above): ${(err as Error).message}`);
  }
  const path = out.trim().split('\n').pop() ?? '';
  const meta = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as Omit<VmBundleInfo, 'path' | 'bytes'>;
  const info: VmBundleInfo = { ...meta, path, bytes: statSync(path).size };
  built.set(memo, info);
  return info;
}

let placeholderDir: string | undefined;
function placeholder(arch: BundleArch): string {
  placeholderDir ??= mkdtempSync(join(tmpdir(), 'spillway-bundle-placeholder-'));
  mkdirSync(placeholderDir, { recursive: true });
  const p = join(placeholderDir, `spillway-vm-${arch}-not-bundled.tar.gz`);
  writeFileSync(p, `placeholder for the ${arch} app bundle: this stack was synthesized without bundling\n`);
  return p;
}

export interface AppBundleProps {
  /** Repository root (sources, package-lock.json, node_modules). */
  readonly repoRoot: string;
}

export class AppBundle extends Construct {
  private readonly assets = new Map<BundleArch, s3assets.Asset>();
  /** Build facts per architecture (undefined when the stack is not bundled). */
  readonly info = new Map<BundleArch, VmBundleInfo>();

  constructor(
    scope: Construct,
    id: string,
    private readonly props: AppBundleProps,
  ) {
    super(scope, id);
  }

  /** The asset for one architecture, built on first use. */
  assetFor(arch: BundleArch): s3assets.Asset {
    const known = this.assets.get(arch);
    if (known) return known;
    let path: string;
    if (Stack.of(this).bundlingRequired || this.node.tryGetContext(BUILD_APP_BUNDLE_CONTEXT) === true) {
      const info = buildVmBundleSync(this.props.repoRoot, arch);
      this.info.set(arch, info);
      path = info.path;
    } else {
      path = placeholder(arch);
    }
    const asset = new s3assets.Asset(this, arch === 'arm64' ? 'Arm64' : 'X86_64', { path });
    this.assets.set(arch, asset);
    return asset;
  }

  grantRead(arch: BundleArch, grantee: iam.IGrantable): void {
    this.assetFor(arch).grantRead(grantee);
  }
}

/**
 * Boot-script lines shared by the VMs and the controller host: strict mode, a step marker that
 * an ERR trap reports (with the line and exit code) on the console and in the journal, the
 * bundle download and unpack. Nothing is masked: any failed command stops the boot with
 * `SPILLWAY_BOOT_FAILED`. `set -x` is off on purpose (the controller fetches a secret).
 * `onFailure` runs once after the report (its own failure ignored): a router tells CloudFormation
 * at once (signal FAILURE), so a bad rolling update rolls back in the boot's seconds rather than
 * after the 10-minute signal timeout.
 */
export function bootPreamble(service: string, opts: { onFailure?: string } = {}): string[] {
  const hook = opts.onFailure ? ` ( ${opts.onFailure} ) || :;` : '';
  return [
    'set -euo pipefail',
    'set -o errtrace',
    `SPILLWAY_SERVICE=${service}`,
    'BOOT_T0=$(date +%s%3N)',
    'STEP=start',
    'step() { STEP="$1"; echo "spillway-boot: step=$STEP t_ms=$(( $(date +%s%3N) - BOOT_T0 ))"; }',
    // /dev/console is what GetConsoleOutput (EC2 console "system log") shows.
    // Inside a command substitution (errtrace) only exit: the shell itself reports, once.
    `fail() { local rc=$?; [ "$BASH_SUBSHELL" = 0 ] || exit "$rc"; local msg="SPILLWAY_BOOT_FAILED service=$SPILLWAY_SERVICE step=$STEP exit=$rc line=$1"; echo "$msg" >&2; echo "$msg" > /dev/console 2>/dev/null || :; logger -t spillway-boot "$msg" 2>/dev/null || :;${hook} exit "$rc"; }`,
    'trap \'fail $LINENO\' ERR',
  ];
}

/**
 * IMDSv2 reads into boot-script variables, e.g. { INSTANCE_ID: 'instance-id' } (paths under
 * latest/meta-data/): a session token first, then one GET per variable.
 */
export function imdsLines(vars: Readonly<Record<string, string>>): string[] {
  const curl = 'curl -fsS --retry 5 --retry-connrefused --max-time 5';
  return [
    'step imds',
    `TOKEN=$(${curl} -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 300")`,
    ...Object.entries(vars).map(([name, path]) => `${name}=$(${curl} -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/${path})`),
  ];
}

/** Download + unpack lines of the bundle (an S3 URL of the asset). */
export function bundleFetchLines(bundleUrl: string): string[] {
  return [
    'step bundle-download',
    `mkdir -p ${BUNDLE_ROOT}`,
    `aws s3 cp --only-show-errors ${bundleUrl} ${BUNDLE_ROOT}/bundle.tar.gz`,
    'step bundle-unpack',
    `tar -xzf ${BUNDLE_ROOT}/bundle.tar.gz -C ${BUNDLE_ROOT} --strip-components=1 --no-same-owner`,
    `rm -f ${BUNDLE_ROOT}/bundle.tar.gz`,
    `${BUNDLE_NODE} --version`,
  ];
}

/** systemd restarts of the unit after which the boot is reported failed instead of waiting on. */
export const BOOT_MAX_RESTARTS = 3;

/**
 * Waits for a local HTTP route to answer 2xx, then logs readiness. Fails the boot on timeout, or
 * as soon as systemd has restarted the unit BOOT_MAX_RESTARTS times (a server that cannot start:
 * bad variant, unreadable model), with the unit's last journal lines as the reason.
 */
export function readinessLines(url: string, timeoutS: number): string[] {
  const why = 'systemctl status --no-pager "$SPILLWAY_SERVICE" >&2 || :; journalctl -u "$SPILLWAY_SERVICE" -n 30 --no-pager >&2 || :';
  return [
    'step wait-ready',
    `for i in $(seq 1 ${timeoutS}); do curl -fsS -o /dev/null --max-time 2 ${url} && break; ` +
      `if [ "$(systemctl show -p NRestarts --value "$SPILLWAY_SERVICE")" -ge ${BOOT_MAX_RESTARTS} ]; then echo "$SPILLWAY_SERVICE restarted ${BOOT_MAX_RESTARTS} times without answering ${url}" >&2; ${why}; false; fi; ` +
      `if [ "$i" = ${timeoutS} ]; then echo "no 2xx from ${url} after ${timeoutS} s" >&2; ${why}; false; fi; sleep 1; done`,
    'MSG="SPILLWAY_BOOT_OK service=$SPILLWAY_SERVICE boot_ms=$(( $(date +%s%3N) - BOOT_T0 ))"',
    'echo "$MSG"; echo "$MSG" > /dev/console 2>/dev/null || :; logger -t spillway-boot "$MSG" 2>/dev/null || :',
  ];
}
