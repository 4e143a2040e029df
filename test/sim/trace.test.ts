import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TraceError } from '../../controller/sim/errors.js';
import { loadTrace, rateAt } from '../../controller/sim/trace.js';

const dir = mkdtempSync(join(tmpdir(), 'spillway-trace-'));
function csv(name: string, rows: Array<[number, number]>): string {
  const p = join(dir, name);
  writeFileSync(p, `t,rps\n${rows.map(([t, r]) => `${t},${r}`).join('\n')}\n`);
  return p;
}

describe('loadTrace', () => {
  it('holds a short gap at the previous rate and skips (compresses) a long one', () => {
    // 1 s rows: 0..4, gap of 10 s (t=5..14 missing), 15..19, gap of 1000 s, then 1020..1024.
    const rows: Array<[number, number]> = [];
    for (let t = 0; t < 5; t++) rows.push([t, 10]);
    for (let t = 15; t < 20; t++) rows.push([t, 20]);
    for (let t = 1020; t < 1025; t++) rows.push([t, 30]);
    const tr = loadTrace(csv('gaps_1s.csv', rows), { maxHoldGapS: 300 });
    expect(tr.stepS).toBe(1);
    expect(tr.gaps).toEqual({ held: 1, heldS: 10, skipped: 1, skippedS: 1000 });
    // 5 + 10 held + 5 + 5 = 25 steps; the long gap is not replayed, and not as zero.
    expect(tr.durationS).toBe(25);
    expect(rateAt(tr, 7)).toBe(10); // held value
    expect(rateAt(tr, 15)).toBe(20);
    expect(rateAt(tr, 20)).toBe(30); // right after the compressed gap
    expect(Array.from(tr.rps)).not.toContain(0);
    expect(tr.notes.join(' ')).toMatch(/skipped/);
  });

  it('takes the step from the file name and holds each value for the whole step', () => {
    const tr = loadTrace(csv('x_1min.csv', [[0, 1], [60, 2], [120, 3]]));
    expect(tr.stepS).toBe(60);
    expect(tr.durationS).toBe(180);
    expect(rateAt(tr, 59)).toBe(1);
    expect(rateAt(tr, 61)).toBe(2);
  });

  it('keeps a measured zero as zero', () => {
    const tr = loadTrace(csv('z_1s.csv', [[0, 5], [1, 0], [2, 5]]));
    expect(Array.from(tr.rps)).toEqual([5, 0, 5]);
  });

  it('rescales to a target mean and applies a window', () => {
    const rows: Array<[number, number]> = [];
    for (let t = 0; t < 7200; t += 60) rows.push([t, t < 3600 ? 1 : 3]);
    const p = csv('w_1min.csv', rows);
    const all = loadTrace(p, { meanRps: 100 });
    expect(all.meanRps).toBeCloseTo(100, 9);
    expect(all.scale).toBeCloseTo(50, 9);
    const second = loadTrace(p, { startHours: 1, hours: 1, scale: 2 });
    expect(second.durationS).toBe(3600);
    expect(second.meanRps).toBeCloseTo(6, 9);
    expect(second.startS).toBe(3600);
  });

  it('rejects bad input with a message naming the problem', () => {
    expect(() => loadTrace(csv('bad.csv', []).replace('bad', 'nope'))).toThrow(TraceError);
    const bad = join(dir, 'hdr.csv');
    writeFileSync(bad, 'time,rate\n0,1\n');
    expect(() => loadTrace(bad)).toThrow(/header must be "t,rps"/);
    const neg = join(dir, 'neg.csv');
    writeFileSync(neg, 't,rps\n0,1\n1,-3\n');
    expect(() => loadTrace(neg)).toThrow(/line 3/);
    expect(() => loadTrace('builtin:nope')).toThrow(/unknown builtin/);
    expect(() => loadTrace('builtin:steady', { scale: 2, meanRps: 3 })).toThrow(/either/);
  });

  it('builtin workloads are deterministic and labelled synthetic', () => {
    const a = loadTrace('builtin:diurnal-burst', { meanRps: 50 });
    const b = loadTrace('builtin:diurnal-burst', { meanRps: 50 });
    expect(a.synthetic).toBe(true);
    expect(a.notes[0]).toMatch(/SYNTHETIC/);
    expect(a.durationS).toBe(86400);
    expect(Array.from(a.rps.subarray(0, 1000))).toEqual(Array.from(b.rps.subarray(0, 1000)));
    expect(a.peakRps / a.meanRps).toBeGreaterThan(2); // it has bursts
  });
});

const TWITTER = sharedPath('traces', 'twitter_2021-08_d01-14_1s.csv') ?? '';
const NASA = sharedPath('traces', 'nasa_1995-07-01_1min.csv') ?? '';
import { existsSync } from 'node:fs';
import { sharedPath } from '../../functions/engine/registry.js';

describe.skipIf(!existsSync(TWITTER) || !existsSync(NASA))('real traces (shared/traces present)', () => {
  it('Twitter: the daily 29-minute hole is skipped, the 12-44 s holes are held', () => {
    const tr = loadTrace(TWITTER, { hours: 49 });
    // Days 1 and 2 end with 1,739 s holes (t = 84,661 and 171,061); day 2 has 5 holes of 12-41 s
    // (41 + 12 + 28 + 31 + 20 = 132 s); a 49 h window contains both long holes.
    expect(tr.gaps.skipped).toBe(2);
    expect(tr.gaps.skippedS).toBe(2 * 1739);
    expect(tr.gaps.held).toBe(5);
    expect(tr.gaps.heldS).toBe(132);
    expect(tr.durationS).toBe(49 * 3600 - tr.gaps.skippedS);
  });

  it('NASA: the multi-day outage is skipped, minutes are 60 s steps', () => {
    const tr = loadTrace(NASA, {});
    expect(tr.stepS).toBe(60);
    expect(tr.gaps.skippedS).toBeGreaterThan(3 * 86400);
    expect(tr.meanRps).toBeCloseTo(0.703, 1);
  });
});
