/**
 * Prometheus metrics for the public API (prom-client). One Registry per server instance, not
 * the global default, so several stacks in one process (tests, bench) do not collide.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'backend' | 'variant' | 'status'>;
  readonly latency: Histogram<'backend' | 'variant'>;
  readonly sloViolations: Counter<'backend'>;
  readonly retries: Counter<'reason'>;
  readonly vms: Gauge<'state'>;
  readonly lambdaInFlight: Gauge;
  readonly forecastRps: Gauge;
  readonly costUsd: Gauge<'tier'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'spillway_requests_total',
      help: 'Inference requests answered, by backend (vm, lambda, rejected, failed), variant and HTTP status',
      labelNames: ['backend', 'variant', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'spillway_request_duration_seconds',
      help: 'End-to-end latency seen at the router',
      labelNames: ['backend', 'variant'],
      // 1 ms .. 10 s: VM answers land in 2-50 ms, Lambda cold starts in 0.5-5 s.
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.sloViolations = new Counter({
      name: 'spillway_slo_violations_total',
      help: 'Answered requests slower than their SLO',
      labelNames: ['backend'],
      registers,
    });
    this.retries = new Counter({
      name: 'spillway_retries_total',
      help: 'Requests re-dispatched to another backend, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.vms = new Gauge({ name: 'spillway_vms', help: 'VMs by state', labelNames: ['state'], registers });
    this.lambdaInFlight = new Gauge({ name: 'spillway_lambda_in_flight', help: 'Lambda invocations in flight', registers });
    this.forecastRps = new Gauge({ name: 'spillway_forecast_rps', help: 'Forecast load the plan was made for', registers });
    this.costUsd = new Gauge({ name: 'spillway_cost_usd', help: 'Dollars spent so far by tier', labelNames: ['tier'], registers });
  }
}
