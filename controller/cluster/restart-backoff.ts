/**
 * When the supervisor restarts a router that died (a pure rule; supervisor.ts acts on it): at once
 * after a router that ran a while, and with a doubling delay while it keeps dying young, so a
 * router that cannot start (a bad model file, a port taken) does not spin 2 cores at 100 %.
 * Worked numbers: first death after 5 min -> 250 ms; three deaths within 10 s of their starts ->
 * 250, 500, 1,000 ms; capped at 10 s.
 */
export const RESTART_MIN_DELAY_MS = 250;
export const RESTART_MAX_DELAY_MS = 10_000;
/** A router that ran at least this long before dying counts as healthy: its next restart is quick again. */
export const RESTART_HEALTHY_RUN_MS = 10_000;

export interface RestartState {
  /** Deaths in a row of routers that ran less than RESTART_HEALTHY_RUN_MS. */
  youngDeaths: number;
}

export function nextRestart(state: RestartState, ranMs: number): { delayMs: number; next: RestartState } {
  const youngDeaths = ranMs >= RESTART_HEALTHY_RUN_MS ? 0 : state.youngDeaths + 1;
  const delayMs = Math.min(RESTART_MAX_DELAY_MS, RESTART_MIN_DELAY_MS * 2 ** Math.max(0, youngDeaths - 1));
  return { delayMs, next: { youngDeaths } };
}
