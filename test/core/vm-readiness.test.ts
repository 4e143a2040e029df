/** The one readiness rule both fleets apply (controller/core/vm-readiness.ts). Pure. */
import { describe, expect, it } from 'vitest';
import { readinessAnswerOf, stateAfterReadiness } from '../../controller/core/vm-readiness.js';

describe('readinessAnswerOf / stateAfterReadiness', () => {
  const notice = { status: 'spot-notice', spotNotice: { action: 'terminate', time: '2026-12-07T09:02:00Z' } };
  it('reads 200, 503 spot-notice and anything else', () => {
    expect(readinessAnswerOf(200, { status: 'ready' })).toEqual({ kind: 'ready' });
    expect(readinessAnswerOf(503, notice)).toEqual({
      kind: 'spot-notice',
      action: 'terminate',
      time: '2026-12-07T09:02:00Z',
    });
    expect(readinessAnswerOf(503, { status: 'loading' })).toEqual({ kind: 'not-ready' });
    expect(readinessAnswerOf(503, { status: 'draining' })).toEqual({ kind: 'not-ready' });
    expect(readinessAnswerOf(0, undefined)).toEqual({ kind: 'not-ready' });
  });
  it('pending/ready + notice -> terminating; ready stays on a missed probe; terminating never returns', () => {
    const n = readinessAnswerOf(503, notice);
    expect(stateAfterReadiness('pending', { kind: 'ready' })).toBe('ready');
    expect(stateAfterReadiness('pending', { kind: 'not-ready' })).toBe('pending');
    expect(stateAfterReadiness('ready', n)).toBe('terminating');
    expect(stateAfterReadiness('pending', n)).toBe('terminating');
    expect(stateAfterReadiness('ready', { kind: 'not-ready' })).toBe('ready');
    expect(stateAfterReadiness('terminating', { kind: 'ready' })).toBe('terminating');
    expect(stateAfterReadiness('terminated', { kind: 'ready' })).toBe('terminated');
  });
});
