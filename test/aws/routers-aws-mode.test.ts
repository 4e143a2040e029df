/**
 * Two routers in aws mode (issue 12) against moto's DynamoDB and EC2, with the local Lambda
 * runtime as the Lambda API (as the deploy twin does): each runs controller/cluster/router-main.ts
 * with the environment the synthesized router-group user data sets (its systemd unit, parsed with
 * the twin's helpers), and only what an EC2 host gets from its surroundings substituted: the
 * instance id (IMDS), endpoints and credentials (the SDK's config and the instance profile), a
 * loopback port, a writable home. Exactly one becomes planner (its lease in the table), both
 * answer /readyz, the follower applies the plan the planner published, and the metrics reach
 * moto's CloudWatch (requests from the router that served them, fleet gauges from the planner).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CloudWatchClient, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { METRIC_NAMESPACE, METRICS } from '../../controller/aws/metric-names.js';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinationTable, DynamoDbCoordinationStore } from '../../controller/coord/dynamodb-store.js';
import {
  type LocalLambdaRuntime,
  startLocalLambdaRuntime,
} from '../../controller/local/lambda-runtime/index.js';
import { CONTROLLER_HOME } from '../../infra/constructs/controller-unit.js';
import { synthApp } from '../infra/synth-helper.js';
import { resourcesOfType, scriptWithTokens, unitFromScript } from '../twin/template.js';
import { MOTO_CREDENTIALS, type Moto, motoAvailable, motoSkipReason, startMoto, uniqueName } from './moto.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const ROUTER_IDS = ['i-0000000000000000a', 'i-0000000000000000b'];

interface Router {
  id: string;
  child: ChildProcess;
  port: number;
  events: Array<Record<string, unknown>>;
}

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The router unit's environment from the synthesized template (spillway:routers=2). */
function routerUnitEnvironment(instanceId: string): Record<string, string> {
  const { serving } = synthApp({ 'spillway:routers': '2' });
  const routerLt = resourcesOfType(
    Template.fromStack(serving).toJSON() as never,
    'AWS::EC2::LaunchTemplate',
  ).find(([, p]) => JSON.stringify(p.LaunchTemplateName).includes('-router'));
  if (!routerLt) throw new Error('no router launch template in the Serving template');
  const script = scriptWithTokens((routerLt[1].LaunchTemplateData as { UserData: never }).UserData);
  return unitFromScript(script, { INSTANCE_ID: instanceId }).environment;
}

describe.skipIf(!motoAvailable)(
  `two routers in aws mode on moto ${motoAvailable ? '' : `(${motoSkipReason})`}`,
  () => {
    let moto: Moto;
    let lambda: LocalLambdaRuntime;
    let ddb: DynamoDBClient;
    let store: DynamoDbCoordinationStore;
    let home: string;
    const routers: Router[] = [];
    const table = uniqueName('routers-coord');

    beforeAll(async () => {
      moto = await startMoto();
      ddb = new DynamoDBClient({
        endpoint: moto.endpoint,
        region: 'us-east-1',
        credentials: MOTO_CREDENTIALS,
      });
      await createCoordinationTable(ddb, table);
      store = new DynamoDbCoordinationStore({ tableName: table, client: ddb });
      home = mkdtempSync(join(tmpdir(), 'spillway-routers-'));
      const unitEnv = routerUnitEnvironment(ROUTER_IDS[0]!);
      const variants = (unitEnv.SPILLWAY_VARIANTS ?? '').split(',');
      lambda = await startLocalLambdaRuntime({
        functions: variants.map((variant) => ({
          functionName: `spillway-${variant}`,
          variant,
          memoryMb: 1769,
        })),
        accountConcurrencyLimit: 8,
      });
      for (const id of ROUTER_IDS) {
        const env = routerUnitEnvironment(id);
        // Only subnet ids are deploy-time tokens here; VMs would launch into the template's subnets.
        const tokens = Object.entries(env)
          .filter(([, v]) => v.includes('TOKEN'))
          .map(([k]) => k);
        expect(tokens).toEqual(['SPILLWAY_VM_SUBNETS']);
        delete env.SPILLWAY_VM_SUBNETS;
        expect(env.SPILLWAY_HOME).toBe(CONTROLLER_HOME);
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', join(REPO, 'controller/cluster/router-main.ts')],
          {
            cwd: REPO,
            env: {
              PATH: process.env.PATH ?? '/usr/bin:/bin',
              ...env,
              // The table the stack names is spillway-coordination; each test run uses its own in the shared moto.
              SPILLWAY_COORD_TABLE: table,
              SPILLWAY_API_KEY: 'test-api-key-0123456789',
              SPILLWAY_HOME: join(home, id),
              // Ephemeral, read back from router-ready: a port probed free and closed here was
              // taken by a parallel test before the router bound it (EADDRINUSE in CI).
              PORT: '0',
              // The unit's 8090 is the instance's own; two routers share this machine.
              SPILLWAY_HEALTH_PORT: '0',
              HOST: '127.0.0.1',
              AWS_ENDPOINT_URL: moto.endpoint,
              AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
              AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
              AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
            },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        const r: Router = { id, child, port: 0, events: [] };
        for (const stream of [child.stdout!, child.stderr!]) {
          createInterface({ input: stream }).on('line', (line) => {
            try {
              r.events.push(JSON.parse(line) as Record<string, unknown>);
            } catch {
              r.events.push({ text: line });
            }
          });
        }
        routers.push(r);
      }
      await Promise.all(
        routers.map((r) =>
          until(`${r.id} router-ready`, 60_000, () => {
            if (r.child.exitCode !== null)
              throw new Error(`${r.id} exited ${r.child.exitCode}: ${JSON.stringify(r.events.slice(-5))}`);
            return r.events.find((e) => e.event === 'router-ready');
          }),
        ),
      );
      for (const r of routers) {
        const ready = r.events.find((e) => e.event === 'router-ready') as { port?: number };
        expect(ready.port).toBeGreaterThan(0);
        r.port = ready.port!;
      }
    }, 120_000);

    afterAll(async () => {
      // Errors the routers logged (pino level >= 50), shown for diagnosis; the tests assert behaviour.
      for (const r of routers) {
        const errors = r.events.filter((e) => typeof e.level === 'number' && e.level >= 50);
        if (errors.length > 0)
          console.log(
            `[routers] ${r.id}: ${errors.length} error line(s), first: ${JSON.stringify(errors[0]).slice(0, 600)}`,
          );
      }
      await Promise.all(
        routers.map(
          (r) =>
            new Promise<void>((resolve) => {
              if (r.child.exitCode !== null) return resolve();
              r.child.once('exit', () => resolve());
              r.child.kill('SIGTERM');
              setTimeout(() => r.child.kill('SIGKILL'), 15_000).unref();
            }),
        ),
      );
      await lambda?.close();
      ddb?.destroy();
      await moto?.stop();
      if (home) rmSync(home, { recursive: true, force: true });
    }, 60_000);

    it('exactly one router becomes planner, and the lease in the table names it', async () => {
      const lease = await until('a lease in the table', 60_000, () => store.readLease());
      expect(ROUTER_IDS).toContain(lease.holderId);
      const elected = await until('planner-elected', 30_000, () => {
        const e = routers.filter((r) => r.events.some((x) => x.event === 'planner-elected'));
        return e.length > 0 ? e : undefined;
      });
      // Give the other candidate a few more steps to (wrongly) take it.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(
        routers.filter((r) => r.events.some((x) => x.event === 'planner-elected')).map((r) => r.id),
      ).toEqual(elected.map((r) => r.id));
      expect(elected.map((r) => r.id)).toEqual([lease.holderId]);
    }, 120_000);

    it('both routers answer /readyz, on the API port and on the health port', async () => {
      for (const r of routers) {
        const res = await fetch(`http://127.0.0.1:${r.port}/readyz`);
        expect(res.status).toBe(200);
        expect(((await res.json()) as { status: string }).status).toBe('ready');
        // And on the health thread's port, where the ALB's target health check goes.
        const ready = r.events.find((e) => e.event === 'router-ready') as { healthPort?: number };
        expect(ready.healthPort).toBeGreaterThan(0);
        const h = await fetch(`http://127.0.0.1:${ready.healthPort}/readyz`);
        expect(h.status).toBe(200);
      }
    });

    it('the plan the planner published reaches the follower', async () => {
      const lease = await until('a lease', 30_000, () => store.readLease());
      const plan = await until('a published plan', 60_000, () => store.readPlan());
      expect(plan.fence).toBe(lease.fence);
      const follower = routers.find((r) => r.id !== lease.holderId)!;
      const applied = await until('plan-applied on the follower', 30_000, () =>
        follower.events.find((e) => e.event === 'plan-applied'),
      );
      expect(applied.version).toBeGreaterThanOrEqual(1);
      expect(applied.fence).toBe(lease.fence);
    }, 120_000);

    it('metrics reach CloudWatch as from the single host: requests from the router that served them, fleet gauges from the planner', async () => {
      const lease = await until('a lease', 30_000, () => store.readLease());
      const follower = routers.find((r) => r.id !== lease.holderId)!;
      // A few requests on the follower: with no VM they are served by the local Lambda runtime (acceptLate takes the cold start).
      const image = readFileSync(join(REPO, 'functions/models/samples/ort_cat.jpg')).toString('base64');
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`http://127.0.0.1:${follower.port}/v1/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': 'test-api-key-0123456789' },
          body: JSON.stringify({ task: 'image-classification', input: { image }, sloMs: 30_000, minAccuracy: 0, acceptLate: true }),
        });
        statuses.push(res.status);
        await res.arrayBuffer();
      }
      expect(statuses).toContain(200);
      const cw = new CloudWatchClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: MOTO_CREDENTIALS });
      try {
        const names = await until('Spillway metrics in CloudWatch', 30_000, async () => {
          const out = await cw.send(new ListMetricsCommand({ Namespace: METRIC_NAMESPACE }));
          const found = new Set((out.Metrics ?? []).map((m) => m.MetricName));
          return found.has(METRICS.requests) && found.has(METRICS.vmCount) ? found : undefined;
        });
        expect([...names]).toEqual(expect.arrayContaining([METRICS.requests, METRICS.latencyMs, METRICS.vmCount, METRICS.dollarsPerHour]));
      } finally {
        cw.destroy();
      }
    }, 120_000);
  },
);
