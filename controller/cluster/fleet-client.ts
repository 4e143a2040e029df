/**
 * The planner's VmFleetPort in the local cluster: the supervisor's fleet service over loopback
 * (fleet-service.ts). Every launch and terminate carries the planner's fence; a 409 from the
 * service becomes StaleFenceError, which the control loop logs as a failed act (the deposed
 * planner's action is refused, nothing is bought).
 */
import { INTERNAL_TOKEN_HEADER } from '../../functions/server/internal-token.js';
import { StaleFenceError } from '../coord/coordination-port.js';
import type { LaunchSpec, VmFleetPort, VmRecord } from '../ports.js';

export interface FleetClientOptions {
  url: string;
  internalToken: string;
  /** The fence of the lease this planner holds (read at each call). */
  fence: () => number;
  timeoutMs?: number;
}

export class FleetClient implements VmFleetPort {
  constructor(private readonly o: FleetClientOptions) {}

  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.o.url}${path}`, {
      method,
      headers: { [INTERNAL_TOKEN_HEADER]: this.o.internalToken, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status === 409) throw new StaleFenceError(String(json['message']), -1);
    if (!res.ok) throw new Error(`fleet service ${method} ${path}: ${res.status} ${String(json['message'])}`);
    return json;
  }

  async launch(spec: LaunchSpec): Promise<VmRecord[]> {
    return (await this.call('POST', '/launch', { fence: this.o.fence(), spec })).records as VmRecord[];
  }
  async terminate(ids: readonly string[]): Promise<void> {
    await this.call('POST', '/terminate', { fence: this.o.fence(), ids });
  }
  async describe(): Promise<VmRecord[]> {
    return (await this.call('GET', '/describe')).records as VmRecord[];
  }
  /** The supervisor owns the VMs: a planner going away stops none of them. */
  async close(): Promise<void> {}
}
