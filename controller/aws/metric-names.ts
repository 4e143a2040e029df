/**
 * CloudWatch metric names and dimensions, shared by the metrics adapter (cloudwatch-metrics.ts)
 * and the dashboard/alarms in infra/ so the two cannot drift apart.
 */
export const METRIC_NAMESPACE = 'Spillway';

export const METRICS = {
  /** Completed requests (Count), dims Fleet+Variant+Backend and Fleet. */
  requests: 'Requests',
  /** Requests late or failed (Count). */
  sloViolations: 'SloViolations',
  /** End-to-end latency (Milliseconds). */
  latencyMs: 'LatencyMs',
  /** Requests answered by Lambda (Count), for the Lambda share. */
  lambdaRequests: 'LambdaRequests',
  /** VMs in the fleet (Count gauge), dim Fleet. */
  vmCount: 'VmCount',
  /** Share of requests on Lambda over the last tick (None, 0..1). */
  lambdaShare: 'LambdaShare',
  /** Current spend rate, EC2 + Lambda (None, dollars per hour). */
  dollarsPerHour: 'DollarsPerHour',
} as const;

export const DIM_FLEET = 'Fleet';
export const DIM_VARIANT = 'Variant';
export const DIM_BACKEND = 'Backend';
