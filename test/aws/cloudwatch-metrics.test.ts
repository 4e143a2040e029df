import { CloudWatchClient, GetMetricStatisticsCommand, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudWatchMetrics, toEmfLines } from '../../controller/aws/cloudwatch-metrics.js';
import { METRICS } from '../../controller/aws/metric-names.js';
import { MOTO_CREDENTIALS, type Moto, motoAvailable, startMoto, uniqueName } from './moto.js';

function feed(m: CloudWatchMetrics): void {
  m.request({ variant: 'mobilenet', backend: 'vm', latencyMs: 20, violated: false });
  m.request({ variant: 'mobilenet', backend: 'vm', latencyMs: 40, violated: false });
  m.request({ variant: 'mobilenet', backend: 'lambda', latencyMs: 900, violated: true });
  m.request({ variant: 'resnet', backend: 'rejected', latencyMs: 0, violated: true });
  m.fleet({ vmCount: 3, lambdaShare: 0.25, dollarsPerHour: 0.42 });
}

describe('CloudWatchMetrics aggregation and EMF (no AWS)', () => {
  it('aggregates per variant+backend into statistic sets plus fleet totals', () => {
    const m = new CloudWatchMetrics({ fleetName: 'f1', mode: 'emf', now: () => 1_700_000_000_000 });
    feed(m);
    const data = m.pendingData();
    const fleetTotal = data.find((d) => d.MetricName === METRICS.requests && d.Dimensions?.length === 1);
    expect(fleetTotal?.Value).toBe(4);
    const violations = data.find((d) => d.MetricName === METRICS.sloViolations && d.Dimensions?.length === 1);
    expect(violations?.Value).toBe(2);
    expect(data.find((d) => d.MetricName === METRICS.lambdaRequests)?.Value).toBe(1);
    const vmLatency = data.find(
      (d) => d.MetricName === METRICS.latencyMs && d.Dimensions?.some((x) => x.Value === 'vm'),
    );
    expect(vmLatency?.StatisticValues).toEqual({ SampleCount: 2, Sum: 60, Minimum: 20, Maximum: 40 });
  });

  it('emits one valid EMF line per datum and resets after flush', async () => {
    const lines: string[] = [];
    const m = new CloudWatchMetrics({ fleetName: 'f1', mode: 'emf', emfSink: (l) => lines.push(l) });
    feed(m);
    await m.flush();
    expect(lines.length).toBeGreaterThan(5);
    const share = lines.map((l) => JSON.parse(l)).find((o) => METRICS.lambdaShare in o);
    expect(share[METRICS.lambdaShare]).toBe(0.25);
    expect(share.Fleet).toBe('f1');
    expect(share._aws.CloudWatchMetrics[0].Namespace).toBe('Spillway');
    expect(share._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Fleet']]);
    lines.length = 0;
    await m.flush();
    expect(lines).toEqual([]);
    expect(toEmfLines('Spillway', [])).toEqual([]);
  });

  it('rejects a bad batch size naming the value', () => {
    expect(() => new CloudWatchMetrics({ fleetName: 'f', batchSize: 5000 })).toThrow(/1\.\.1000, got 5000/);
  });
});

describe.skipIf(!motoAvailable)('CloudWatchMetrics against moto (PutMetricData)', () => {
  let moto: Moto;
  let cw: CloudWatchClient;
  beforeAll(async () => {
    moto = await startMoto();
    cw = new CloudWatchClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: MOTO_CREDENTIALS });
  });
  afterAll(async () => {
    cw?.destroy();
    await moto?.stop();
  });

  it('flush() sends batched PutMetricData that CloudWatch returns under the dashboard names', async () => {
    const fleetName = uniqueName('cwfleet');
    // batchSize 4 forces several PutMetricData calls for the ~15 data.
    const m = new CloudWatchMetrics({ endpoint: moto.endpoint, fleetName, batchSize: 4 });
    feed(m);
    await m.flush();
    const listed = await cw.send(
      new ListMetricsCommand({ Namespace: 'Spillway', Dimensions: [{ Name: 'Fleet', Value: fleetName }] }),
    );
    const names = new Set((listed.Metrics ?? []).map((x) => x.MetricName));
    for (const n of Object.values(METRICS)) expect(names.has(n)).toBe(true);
    // Full dimension set: moto matches dimension supersets (AWS matches exactly), so query the
    // most specific series to get an unambiguous sum.
    const sumFor = async (backend: string) => {
      const stats = await cw.send(
        new GetMetricStatisticsCommand({
          Namespace: 'Spillway',
          MetricName: METRICS.requests,
          Dimensions: [
            { Name: 'Fleet', Value: fleetName },
            { Name: 'Variant', Value: 'mobilenet' },
            { Name: 'Backend', Value: backend },
          ],
          StartTime: new Date(Date.now() - 3_600_000),
          EndTime: new Date(Date.now() + 60_000),
          Period: 60,
          Statistics: ['Sum'],
        }),
      );
      return (stats.Datapoints ?? []).reduce((a, d) => a + (d.Sum ?? 0), 0);
    };
    expect(await sumFor('vm')).toBe(2);
    expect(await sumFor('lambda')).toBe(1);
  });
});

describe('AWS world wiring from the controller host environment', () => {
  it('builds the three adapters with the stack names; bad values are named', async () => {
    const { createAwsAdapters } = await import('../../controller/aws/world.js');
    const { loadAppConfig } = await import('../../controller/app-config.js');
    const config = loadAppConfig({
      SPILLWAY_WORLD: 'aws',
      SPILLWAY_FLEET: 'prod',
      SPILLWAY_VARIANTS: 'a,b',
      SPILLWAY_INSTANCE_TYPES: 'c5.large,c6g.large',
      SPILLWAY_VM_SUBNETS: 'subnet-1,subnet-2',
      SPILLWAY_METRICS_MODE: 'emf',
    });
    if (config.world !== 'aws') throw new Error('expected the aws world');
    const w = createAwsAdapters(config);
    expect(w.pool.functionName('a')).toBe('prod-a');
    expect(w.fleet.launchTemplateName('c5.large')).toBe('prod-c5.large');
    expect(w.fleet.fallbackOrder('c5.large')).toEqual(['c5.large', 'c6g.large']);
    expect(w.metrics).toBeDefined();
    w.fleet.client.destroy();
    w.pool.client.destroy();
    expect(() =>
      loadAppConfig({ SPILLWAY_WORLD: 'aws', SPILLWAY_INSTANCE_TYPES: 'c5.large', SPILLWAY_METRICS_MODE: 'loud' }),
    ).toThrow(/SPILLWAY_METRICS_MODE/);
  });
});
