/**
 * What a VM's GET /readyz says, and what that makes the VM's state: the one rule both fleets
 * (controller/local/vm-fleet.ts, controller/aws/ec2-fleet.ts) apply to their probes. Pure.
 *
 * - 200: the server is ready.
 * - 503 with status 'spot-notice' (functions/server/vm-server.ts): EC2 reclaims this Spot VM at
 *   `spotNotice.time`. The VM turns 'terminating' at once, so the router stops sending to it and
 *   the policy host counts it gone and launches a replacement, as the simulator does on a reclaim.
 *   Worked number: with 1 s IMDS polls and a 0.5 s fleet probe, the router moves within ~1.5 s of
 *   EC2's notice; the VM still has ~118 s of its 120 s to answer what it had accepted.
 * - anything else (503 loading/draining, no answer): not ready (yet); the state stays.
 */
import type { VmRecord } from '../ports.js';

export type ReadinessAnswer =
  | { kind: 'ready' }
  | { kind: 'not-ready' }
  | { kind: 'spot-notice'; action: string; time: string };

/** Reads one /readyz answer (status and parsed JSON body, undefined when none or not JSON). */
export function readinessAnswerOf(status: number, body: unknown): ReadinessAnswer {
  if (status === 200) return { kind: 'ready' };
  const b = body as { status?: unknown; spotNotice?: { action?: unknown; time?: unknown } } | undefined;
  if (b && b.status === 'spot-notice') {
    const action = typeof b.spotNotice?.action === 'string' ? b.spotNotice.action : 'terminate';
    const time = typeof b.spotNotice?.time === 'string' ? b.spotNotice.time : 'unknown';
    return { kind: 'spot-notice', action, time };
  }
  return { kind: 'not-ready' };
}

/**
 * The state a VM moves to on a probe answer: pending + ready -> ready; pending or ready +
 * spot-notice -> terminating; everything else keeps its state (a ready VM that misses one probe is
 * not taken out: the router's own failures say that; terminating and terminated never come back).
 */
export function stateAfterReadiness(state: VmRecord['state'], answer: ReadinessAnswer): VmRecord['state'] {
  if (state !== 'pending' && state !== 'ready') return state;
  if (answer.kind === 'spot-notice') return 'terminating';
  if (answer.kind === 'ready') return 'ready';
  return state;
}
