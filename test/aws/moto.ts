/**
 * moto server for the AWS adapter tests. Uses $MOTO_ENDPOINT when set (CI starts one, see
 * .ci/run); otherwise starts `python3 -m moto.server` on a free loopback port if moto is
 * importable; otherwise the suites report that they are skipped (describe.skipIf(!motoAvailable)).
 * Test files share one server, so every test uses unique names/tags instead of resetting state.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { crc32 } from 'node:zlib';
import { type DescribeInstancesCommandOutput, type EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { TAG_FLEET, TAG_INSTANCE_TYPE, TAG_VARIANT } from '../../controller/aws/ec2-fleet.js';

export const motoAvailable: boolean =
  Boolean(process.env.MOTO_ENDPOINT) ||
  spawnSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore', timeout: 20_000 }).status === 0;

export const motoSkipReason = 'moto not available: set MOTO_ENDPOINT or `pip install "moto[server]"`';
if (!motoAvailable) console.warn(`[test/aws] SKIPPED: ${motoSkipReason}`);

export interface Moto {
  endpoint: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitUp(endpoint: string, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`moto.server exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto server at ${endpoint} did not come up within 30 s`);
}

export async function startMoto(): Promise<Moto> {
  const existing = process.env.MOTO_ENDPOINT;
  if (existing) {
    await waitUp(existing);
    return { endpoint: existing, stop: async () => {} };
  }
  // moto.server cannot bind port 0 and say which it got: a probed port can be taken by a parallel
  // test before moto binds it, and moto then exits at once. Probe again and retry (5 tries).
  let child: ChildProcess | undefined;
  let endpoint = '';
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    endpoint = `http://127.0.0.1:${port}`;
    try {
      await waitUp(endpoint, child);
      break;
    } catch (err) {
      if (child.exitCode === null || attempt >= 5) {
        child.kill('SIGKILL');
        throw err;
      }
    }
  }
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        const c = child!;
        if (c.exitCode !== null) return resolve();
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
      }),
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * A c5.large carrying a fleet's tags, started with RunInstances (Spot: InstanceMarketOptions spot),
 * so an Ec2Fleet of that fleet adopts it on describe(). `typeTag` is its spillway:instance-type.
 */
export async function runFleetTaggedInstance(
  ec2: EC2Client,
  o: { imageId: string; fleetName: string; spot: boolean; typeTag?: string },
): Promise<string> {
  const out = await ec2.send(
    new RunInstancesCommand({
      ImageId: o.imageId,
      InstanceType: 'c5.large',
      MinCount: 1,
      MaxCount: 1,
      ...(o.spot ? { InstanceMarketOptions: { MarketType: 'spot' } } : {}),
      TagSpecifications: [
        {
          ResourceType: 'instance',
          Tags: [
            { Key: TAG_FLEET, Value: o.fleetName },
            { Key: TAG_VARIANT, Value: 'm' },
            { Key: TAG_INSTANCE_TYPE, Value: o.typeTag ?? 'c5.large' },
          ],
        },
      ],
    }),
  );
  return out.Instances![0]!.InstanceId!;
}

/**
 * moto makes no Spot request for a Spot RunInstances (mocked here, since moto has none): an SDK
 * middleware on `client` gives each Spot instance a request `sir-<instanceId>` in DescribeInstances
 * and answers DescribeSpotInstanceRequests for those with `statusOf(instanceId)`. Returns the
 * number of DescribeSpotInstanceRequests calls so far.
 */
export function injectSpotRequests(client: EC2Client, statusOf: (instanceId: string) => string = () => 'fulfilled'): { calls: number } {
  const count = { calls: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'DescribeSpotInstanceRequestsCommand') {
        count.calls++;
        const ids = (args.input as { SpotInstanceRequestIds?: string[] }).SpotInstanceRequestIds ?? [];
        const SpotInstanceRequests = ids.map((r) => {
          const InstanceId = r.replace(/^sir-/, '');
          return { SpotInstanceRequestId: r, InstanceId, Status: { Code: statusOf(InstanceId) } };
        });
        return { response: {}, output: { $metadata: {}, SpotInstanceRequests } } as never;
      }
      const out = await next(args);
      if (context.commandName === 'DescribeInstancesCommand') {
        for (const r of (out.output as DescribeInstancesCommandOutput).Reservations ?? []) {
          for (const i of r.Instances ?? []) if (i.InstanceLifecycle === 'spot') i.SpotInstanceRequestId = `sir-${i.InstanceId}`;
        }
      }
      return out;
    },
    { step: 'initialize', name: 'injectSpotRequests' },
  );
  return count;
}

/** Emulator credentials: moto accepts any. */
export const MOTO_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Creates an IAM role in moto through its IAM query API (no IAM SDK client in the project). */
export async function createMotoRole(endpoint: string, roleName: string): Promise<string> {
  const trust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  });
  const res = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: {
      // moto routes by the service in the credential scope; it does not verify signatures.
      Authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      Action: 'CreateRole',
      Version: '2010-05-08',
      RoleName: roleName,
      AssumeRolePolicyDocument: trust,
    }).toString(),
  });
  const text = await res.text();
  const arn = /<Arn>([^<]+)<\/Arn>/.exec(text)?.[1];
  if (!res.ok || !arn) throw new Error(`CreateRole in moto failed: ${res.status} ${text.slice(0, 300)}`);
  return arn;
}

/** A valid single-file zip (stored, no compression): enough for CreateFunction's ZipFile. */
export function zipOneFile(name: string, content: string): Uint8Array {
  const data = Buffer.from(content, 'utf8');
  const fname = Buffer.from(name, 'utf8');
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(fname.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(fname.length, 28);
  const centralOffset = local.length + fname.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + fname.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return new Uint8Array(Buffer.concat([local, fname, data, central, fname, end]));
}
