/**
 * EC2's Spot interruption warning as EventBridge delivers it: the event's shape, its parser and
 * the notice the fleet acts on. Pure (no SDK): the CDK rule (infra/constructs/
 * spot-interruption-queue.ts) and the SQS adapter (spot-notice-queue.ts) share the detail-type.
 */

/** EventBridge's detail-type for the two-minute warning (EC2 user guide, "Spot Instance interruption notices"). */
export const SPOT_WARNING_DETAIL_TYPE = 'EC2 Spot Instance Interruption Warning';

export interface SpotNotice {
  instanceId: string;
  /** terminate, stop or hibernate: all three take the VM away. */
  action: string;
  /** When the warning was given (the event's time; else when it was received), epoch ms. */
  noticedAtMs: number;
}

/** Where the fleet gets Spot notices from (the SQS queue on AWS; a stand-in in tests). */
export interface SpotNoticeSource {
  /** Every notice waiting now; the source forgets what it returned. */
  poll(): Promise<SpotNotice[]>;
  /** Releases its client (the fleet's close() calls it). */
  close?(): void;
}

/**
 * One EventBridge event (the SQS message body) -> the notice, or a reason it is not one.
 * Shape: { "detail-type": "EC2 Spot Instance Interruption Warning", "source": "aws.ec2",
 * "time": "2026-12-08T09:00:00Z", "detail": { "instance-id": "i-0abc", "instance-action": "terminate" } }.
 */
export function parseSpotWarning(body: string, receivedAtMs: number): SpotNotice | { error: string } {
  let ev: unknown;
  try {
    ev = JSON.parse(body);
  } catch {
    return { error: 'not JSON' };
  }
  if (!ev || typeof ev !== 'object') return { error: 'not an object' };
  const e = ev as Record<string, unknown>;
  if (e['detail-type'] !== SPOT_WARNING_DETAIL_TYPE) return { error: `detail-type ${JSON.stringify(e['detail-type'])} is not '${SPOT_WARNING_DETAIL_TYPE}'` };
  const detail = e.detail as Record<string, unknown> | undefined;
  const id = detail?.['instance-id'];
  if (typeof id !== 'string' || !/^i-[0-9a-f]{1,32}$/.test(id)) return { error: `detail.instance-id ${JSON.stringify(id)} is not an instance id` };
  const at = typeof e.time === 'string' ? Date.parse(e.time) : Number.NaN;
  return {
    instanceId: id,
    action: typeof detail?.['instance-action'] === 'string' ? (detail['instance-action'] as string) : 'terminate',
    noticedAtMs: Number.isFinite(at) ? at : receivedAtMs,
  };
}
