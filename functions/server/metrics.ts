/** Prometheus metrics of one VM server (own Registry, so several servers in one process don't collide). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServerMetrics {
  registry: Registry;
  requests: Counter<'status' | 'model'>;
  latency: Histogram<'model'>;
  batchSize: Histogram<'model'>;
  queueDepth: Gauge<'model'>;
}

export function createServerMetrics(opts: { defaultMetrics?: boolean } = {}): ServerMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: 'spillway_requests_total',
      help: 'Inference requests by HTTP status and model',
      labelNames: ['status', 'model'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'spillway_request_duration_seconds',
      help: 'Inference request latency from arrival to reply',
      labelNames: ['model'],
      // 1 ms .. 10 s: the small models answer in ~2-15 ms, a saturated queue in seconds.
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'spillway_batch_size',
      help: 'Inputs per session.run batch',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'spillway_queue_depth',
      help: 'Requests waiting in the batch queue',
      labelNames: ['model'],
      registers: [registry],
    }),
  };
}
