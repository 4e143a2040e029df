/**
 * POST /v1/vms/{id}/reclaim: inject EC2's Spot interruption into the local world, as a user or a
 * fault test would (`npx spillway reclaim <id>`). The VM gets the notice from its metadata
 * stand-in at once and is killed `noticeMs` later (default the configured notice, EC2's 120 s);
 * the router moves its share at once and the planner launches a replacement, as on AWS.
 * Answers 404 `not_found` where no world injects faults (AWS: EC2 gives the notice), for an
 * unknown or terminated VM; 409 `not_spot` for an on-demand VM; 400 naming the field for a bad body.
 */
import type { VmView } from '../core/policy-types.js';
import type { FaultInjectionPort } from '../ports.js';
import { ApiError } from './errors.js';
import { type ReclaimResponse, ReclaimRequestSchema } from './schemas.js';
import { parseJsonBody } from './http-util.js';
import { SPOT_SUFFIX } from '../../profiles/catalog.js';

export const RECLAIM_ROUTE = /^\/v1\/vms\/([^/]+)\/reclaim$/;

export function reclaimVm(
  deps: { faults?: FaultInjectionPort | undefined; runtime: { readonly vms: readonly VmView[] } },
  rawId: string,
  body: Buffer,
): ReclaimResponse {
  if (!deps.faults) {
    throw new ApiError(404, 'not_found', 'Spot reclaims are injected by the single-process local stack only (npm start without --routers); on AWS, EC2 gives the notice', 'id');
  }
  const id = decodeURIComponent(rawId);
  const req = body.length === 0 ? {} : parseJsonBody(body, ReclaimRequestSchema);
  // The host's own view of the fleet (refreshed every tick): no I/O, and a VM the host has
  // already dropped cannot be reclaimed twice.
  const vm = deps.runtime.vms.find((v) => v.id === id);
  if (!vm) throw new ApiError(404, 'not_found', `no running VM '${id.slice(0, 128)}'; see GET /v1/status for the fleet`, 'id');
  if (!vm.instanceType.endsWith(SPOT_SUFFIX)) {
    throw new ApiError(409, 'not_spot', `VM '${id}' is ${vm.instanceType}, on-demand: only a Spot VM (<type>${SPOT_SUFFIX}) can be reclaimed`, 'id');
  }
  const r = deps.faults.reclaimVm(id, req.noticeMs !== undefined ? { noticeMs: req.noticeMs } : {});
  return { id, time: r.time, noticeMs: r.noticeMs };
}
