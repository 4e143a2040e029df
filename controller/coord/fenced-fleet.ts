/**
 * A VmFleetPort that acts only while its planner holds the lease (issue 12). Before every launch and
 * terminate it reads the lease and checks `holdsLease(lease, holderId, fence, nowMs)` (same holder,
 * same fence, unexpired at the injected clock); otherwise it refuses with StaleFenceError and the
 * inner fleet is never called. So a planner that was paused past its lease (SIGSTOP) and resumes
 * cannot launch or terminate on the successor's fleet, even before it notices it was deposed.
 *
 * Launches also carry the fence: `clientToken` gets `-f<fence>` appended (a successor's tokens never
 * collide with a deposed planner's) and LaunchSpec.fence is set, which the EC2 fleet tags as
 * `spillway:fence` (aws/ec2-fleet.ts TAG_FENCE), so instances show which planner launched them.
 *
 * The check and the action are two calls, so a lease lost between them is not caught: the window is
 * one lease read (~ms), far under any ttl, and the successor waits a full ttl before taking over an
 * unreleased lease. `describe` and `close` are not fenced: reading is always safe.
 */
import type { LaunchSpec, VmFleetPort, VmRecord } from '../ports.js';
import { type CoordinationStore, StaleFenceError } from './coordination-port.js';
import { holdsLease } from './lease.js';

export interface FencedFleetOptions {
  inner: VmFleetPort;
  store: Pick<CoordinationStore, 'readLease'>;
  holderId: string;
  /** The fence this planner got with its lease (LeaseResult.lease.fence). */
  fence: number;
  /** The planner's clock (a manual one in tests). */
  nowMs: () => number;
}

export class FencedFleet implements VmFleetPort {
  constructor(private readonly opts: FencedFleetOptions) {}

  async launch(spec: LaunchSpec): Promise<VmRecord[]> {
    await this.checkLease('launch');
    const { fence } = this.opts;
    return this.opts.inner.launch({ ...spec, clientToken: `${spec.clientToken}-f${fence}`, fence });
  }

  async terminate(ids: readonly string[]): Promise<void> {
    await this.checkLease('terminate');
    return this.opts.inner.terminate(ids);
  }

  describe(): Promise<VmRecord[]> {
    return this.opts.inner.describe();
  }

  close(): Promise<void> {
    return this.opts.inner.close();
  }

  private async checkLease(action: string): Promise<void> {
    const { holderId, fence } = this.opts;
    const nowMs = this.opts.nowMs();
    const lease = await this.opts.store.readLease();
    if (!holdsLease(lease, holderId, fence, nowMs)) {
      const why = !lease
        ? 'there is no lease'
        : lease.holderId !== holderId || lease.fence !== fence
          ? `the lease is held by ${lease.holderId} with fence ${lease.fence}`
          : `the lease expired at ${lease.expiresAtMs} (now ${nowMs})`;
      throw new StaleFenceError(
        `${action} refused for ${holderId} with fence ${fence}: ${why}`,
        lease?.fence ?? 0,
      );
    }
  }
}
