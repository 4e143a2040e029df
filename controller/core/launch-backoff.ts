/**
 * Backoff after the world refused a launch for a quota (EC2 VcpuLimitExceeded,
 * InstanceLimitExceeded, MaxSpotInstanceCountExceeded): a quota does not lift within a tick, so
 * retrying every 5 s tick only adds refused calls (and RequestLimitExceeded for everything else the
 * controller does). Launches are held for base x 2^(refusals-1), capped: base 30 s, cap 10 min ->
 * 30 s, 60 s, 120 s, 240 s, 480 s, 600 s, 600 s ... A launch that succeeds clears it. No jitter:
 * one controller per fleet, so there is no herd of callers to spread. Pure: time is an argument.
 */

export interface LaunchBackoffOptions {
  /** @default 30 000 */
  baseMs?: number;
  /** @default 600 000 */
  capMs?: number;
}

export interface LaunchBackoff {
  /** The world's error code, e.g. 'VcpuLimitExceeded'. */
  code: string;
  /** The world's message (names the limit), for /v1/status. */
  message: string;
  /** Refusals in a row. */
  refusals: number;
  /** First refusal of this run. */
  sinceMs: number;
  /** No launch before this. */
  untilMs: number;
}

/** The backoff after one more refusal at `nowMs`. */
export function launchBackoffAfterRefusal(
  prev: LaunchBackoff | undefined,
  refusal: { code: string; message: string },
  nowMs: number,
  opts: LaunchBackoffOptions = {},
): LaunchBackoff {
  const baseMs = opts.baseMs ?? 30_000;
  const capMs = opts.capMs ?? 600_000;
  const refusals = (prev?.refusals ?? 0) + 1;
  // 2^(refusals-1) overflows to Infinity after ~1000 refusals; min() keeps the cap.
  const delayMs = Math.min(capMs, baseMs * 2 ** (refusals - 1));
  return { code: refusal.code, message: refusal.message, refusals, sinceMs: prev?.sinceMs ?? nowMs, untilMs: nowMs + delayMs };
}

/** Whether launches may be tried at `nowMs`. */
export function launchAllowed(backoff: LaunchBackoff | undefined, nowMs: number): boolean {
  return backoff === undefined || nowMs >= backoff.untilMs;
}
