/**
 * When may a fleet forget a VM the world's listing no longer shows? EC2's DescribeInstances is
 * eventually consistent: a tag-filtered listing can omit an instance for seconds after
 * RunInstances returned it (and DescribeInstances by id can answer InvalidInstanceID.NotFound for
 * it too). Forgetting it there would make the planner see one VM fewer and launch a duplicate. So
 * an unlisted VM is asked for by id, and the answer decides:
 *   alive      -> keep (the listing lagged),
 *   gone       -> drop (terminated: the world is sure),
 *   not-found  -> keep while launched here less than the grace ago (120 s: EC2's lag is seconds,
 *                 rarely a minute), else drop (it never existed or vanished long ago),
 *   unknown    -> keep (the by-id call itself failed: no evidence either way).
 * The policy's fleet view (core/host/fleet-view.ts) keeps a launched-but-unlisted VM for the same grace.
 */

export const UNLISTED_VM_GRACE_MS = 120_000;

export type ByIdAnswer = 'alive' | 'gone' | 'not-found' | 'unknown';

export function keepUnlistedVm(
  vm: { launchedHere: boolean; launchedAtMs: number },
  byId: ByIdAnswer,
  nowMs: number,
  graceMs: number = UNLISTED_VM_GRACE_MS,
): boolean {
  switch (byId) {
    case 'alive':
    case 'unknown':
      return true;
    case 'gone':
      return false;
    case 'not-found':
      return vm.launchedHere && nowMs - vm.launchedAtMs < graceMs;
  }
}
