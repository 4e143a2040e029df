/**
 * CloudWatch metrics adapter (MetricsPort). Requests are aggregated in memory per
 * (variant, backend) into statistic sets and sent in batches on flush(), so a busy controller
 * makes one PutMetricData call per flush instead of one per request: e.g. 2,000 requests/minute
 * over 3 variants x 2 backends -> 6 statistic sets x 3 metrics + fleet-level metrics per flush.
 *
 * mode 'api' calls PutMetricData (endpoint from SDK config or the option); mode 'emf' writes
 * CloudWatch Embedded Metric Format JSON lines to a sink (stdout by default), which the
 * CloudWatch agent / Lambda log pipeline turns into the same metrics without API calls.
 */
import { CloudWatchClient, type MetricDatum, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { ConfigError } from '../errors.js';
import type { MetricsPort } from '../ports.js';
import { type AwsClientOptions, resolveClientConfig } from './client-config.js';
import { DIM_BACKEND, DIM_FLEET, DIM_VARIANT, METRIC_NAMESPACE, METRICS } from './metric-names.js';

export interface CloudWatchMetricsOptions extends AwsClientOptions {
  client?: CloudWatchClient;
  /** Value of the Fleet dimension. */
  fleetName: string;
  /** @default 'api' */
  mode?: 'api' | 'emf';
  /** EMF line sink. @default process.stdout.write */
  emfSink?: (line: string) => void;
  /** @default 'Spillway' */
  namespace?: string;
  /** Max metric data per PutMetricData call (AWS allows 1,000). @default 500 */
  batchSize?: number;
  /** @default Date.now */
  now?: () => number;
}

interface Stat {
  count: number;
  violations: number;
  sum: number;
  min: number;
  max: number;
}

interface Gauge {
  vmCount: number;
  lambdaShare: number;
  dollarsPerHour: number;
}

export class CloudWatchMetrics implements MetricsPort {
  readonly client?: CloudWatchClient;
  private readonly namespace: string;
  private readonly batchSize: number;
  private readonly now: () => number;
  private stats = new Map<string, Stat & { variant: string; backend: string }>();
  private gauge: Gauge | undefined;

  constructor(private readonly opts: CloudWatchMetricsOptions) {
    if (!opts.fleetName) throw new ConfigError('CloudWatchMetrics fleetName must be a non-empty string');
    const batchSize = opts.batchSize ?? 500;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1000) {
      throw new ConfigError(`CloudWatchMetrics batchSize must be an integer in 1..1000, got ${batchSize}`);
    }
    this.batchSize = batchSize;
    this.namespace = opts.namespace ?? METRIC_NAMESPACE;
    this.now = opts.now ?? Date.now;
    if ((opts.mode ?? 'api') === 'api') {
      this.client = opts.client ?? new CloudWatchClient(resolveClientConfig(opts));
    }
  }

  request(r: { variant: string; backend: 'vm' | 'lambda' | 'rejected'; latencyMs: number; violated: boolean }): void {
    const key = `${r.variant}\u0000${r.backend}`;
    let s = this.stats.get(key);
    if (!s) {
      s = { variant: r.variant, backend: r.backend, count: 0, violations: 0, sum: 0, min: Infinity, max: -Infinity };
      this.stats.set(key, s);
    }
    s.count++;
    if (r.violated) s.violations++;
    s.sum += r.latencyMs;
    s.min = Math.min(s.min, r.latencyMs);
    s.max = Math.max(s.max, r.latencyMs);
  }

  fleet(f: { vmCount: number; lambdaShare: number; dollarsPerHour: number }): void {
    this.gauge = { ...f };
  }

  /** The metric data a flush would send now (pure; exposed for tests and EMF). */
  pendingData(): MetricDatum[] {
    const ts = new Date(this.now());
    const fleetDim = { Name: DIM_FLEET, Value: this.opts.fleetName };
    const data: MetricDatum[] = [];
    let total = 0;
    let violations = 0;
    let lambda = 0;
    for (const s of this.stats.values()) {
      const dims = [fleetDim, { Name: DIM_VARIANT, Value: s.variant }, { Name: DIM_BACKEND, Value: s.backend }];
      data.push(
        { MetricName: METRICS.requests, Dimensions: dims, Timestamp: ts, Unit: 'Count', Value: s.count },
        { MetricName: METRICS.sloViolations, Dimensions: dims, Timestamp: ts, Unit: 'Count', Value: s.violations },
        {
          MetricName: METRICS.latencyMs,
          Dimensions: dims,
          Timestamp: ts,
          Unit: 'Milliseconds',
          StatisticValues: { SampleCount: s.count, Sum: s.sum, Minimum: s.min, Maximum: s.max },
        },
      );
      total += s.count;
      violations += s.violations;
      if (s.backend === 'lambda') lambda += s.count;
    }
    if (this.stats.size > 0) {
      // Fleet-level totals: what the dashboard and alarms read (no per-variant math in alarms).
      const dims = [fleetDim];
      data.push(
        { MetricName: METRICS.requests, Dimensions: dims, Timestamp: ts, Unit: 'Count', Value: total },
        { MetricName: METRICS.sloViolations, Dimensions: dims, Timestamp: ts, Unit: 'Count', Value: violations },
        { MetricName: METRICS.lambdaRequests, Dimensions: dims, Timestamp: ts, Unit: 'Count', Value: lambda },
      );
    }
    if (this.gauge) {
      const dims = [fleetDim];
      data.push(
        { MetricName: METRICS.vmCount, Dimensions: dims, Timestamp: ts, Unit: 'Count', Value: this.gauge.vmCount },
        { MetricName: METRICS.lambdaShare, Dimensions: dims, Timestamp: ts, Unit: 'None', Value: this.gauge.lambdaShare },
        {
          MetricName: METRICS.dollarsPerHour,
          Dimensions: dims,
          Timestamp: ts,
          Unit: 'None',
          Value: this.gauge.dollarsPerHour,
        },
      );
    }
    return data;
  }

  async flush(): Promise<void> {
    const data = this.pendingData();
    this.stats = new Map();
    this.gauge = undefined;
    if (data.length === 0) return;
    if ((this.opts.mode ?? 'api') === 'emf') {
      const sink = this.opts.emfSink ?? ((line: string) => process.stdout.write(line));
      for (const line of toEmfLines(this.namespace, data)) sink(`${line}\n`);
      return;
    }
    for (let i = 0; i < data.length; i += this.batchSize) {
      await this.client!.send(
        new PutMetricDataCommand({ Namespace: this.namespace, MetricData: data.slice(i, i + this.batchSize) }),
      );
    }
  }
}

/** One EMF JSON line per metric datum (statistic sets become their mean; EMF has no sets). */
export function toEmfLines(namespace: string, data: readonly MetricDatum[]): string[] {
  return data.map((d) => {
    const dims = d.Dimensions ?? [];
    const value =
      d.Value ?? (d.StatisticValues ? d.StatisticValues.Sum! / Math.max(1, d.StatisticValues.SampleCount!) : 0);
    const line: Record<string, unknown> = {
      _aws: {
        Timestamp: (d.Timestamp ?? new Date()).getTime(),
        CloudWatchMetrics: [
          {
            Namespace: namespace,
            Dimensions: [dims.map((x) => x.Name!)],
            Metrics: [{ Name: d.MetricName!, Unit: d.Unit ?? 'None' }],
          },
        ],
      },
      [d.MetricName!]: value,
    };
    for (const x of dims) line[x.Name!] = x.Value;
    return JSON.stringify(line);
  });
}
