import { describe, expect, it } from 'vitest';
import { nextRestart, RESTART_HEALTHY_RUN_MS, RESTART_MAX_DELAY_MS, RESTART_MIN_DELAY_MS } from '../../controller/cluster/restart-backoff.js';

describe('router restart backoff (pure rule)', () => {
  it('quick after a healthy run; doubling while a router keeps dying young; capped', () => {
    let s = { youngDeaths: 0 };
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      const r = nextRestart(s, 1_000);
      delays.push(r.delayMs);
      s = r.next;
    }
    expect(delays).toEqual([250, 500, 1_000, 2_000, 4_000, 8_000, RESTART_MAX_DELAY_MS, RESTART_MAX_DELAY_MS]);
    // One healthy run resets it.
    expect(nextRestart(s, RESTART_HEALTHY_RUN_MS)).toEqual({ delayMs: RESTART_MIN_DELAY_MS, next: { youngDeaths: 0 } });
  });
});
