/** The agreement rule and the ISA classifier, with hand-made numbers (no models needed). */
import { describe, expect, it } from 'vitest';
import { CROSS_ISA, compareAnswers, SAME_ISA } from '../../functions/engine/answer-agreement.js';
import { classifyIsa, isaKey, readCpuFlags } from '../../functions/engine/cpu-isa.js';
import { chooseReference, loadReferenceAnswers } from '../../functions/engine/reference-answers.js';
import { loadRegistry } from '../../functions/engine/registry.js';

const ref = {
  a: { top1: 1, score: 0.9 },
  b: { top1: 2, score: 0.5 },
  c: { top1: 3, score: 0.3 },
  d: { top1: 4, score: 0.95 },
  e: { top1: 5, score: 0.8 },
};

describe('compareAnswers', () => {
  it('same answers agree under both tolerances', () => {
    expect(compareAnswers(ref, ref, SAME_ISA)).toMatchObject({ ok: true, compared: 5, top1Agree: 5, meanScoreDelta: 0 });
  });

  it('same ISA: any flip or score drift beyond 0.016 fails', () => {
    const flip = { ...ref, c: { top1: 9, score: 0.31 } };
    expect(compareAnswers(flip, ref, SAME_ISA).ok).toBe(false);
    const drift = Object.fromEntries(Object.entries(ref).map(([k, v]) => [k, { ...v, score: v.score - 0.02 }]));
    expect(compareAnswers(drift, ref, SAME_ISA).problems.join()).toMatch(/mean \|score change\| 0.020 exceeds 0.016/);
  });

  it('cross ISA: an unsure answer may flip, a confident one may not', () => {
    // 4/5 = 0.8 agree, the flip's reference score 0.3 < 0.65: ok
    expect(compareAnswers({ ...ref, c: { top1: 9, score: 0.4 } }, ref, CROSS_ISA).ok).toBe(true);
    const confident = compareAnswers({ ...ref, d: { top1: 9, score: 0.6 } }, ref, CROSS_ISA);
    expect(confident.ok).toBe(false);
    expect(confident.problems[0]).toMatch(/d: top-1 9, reference 4 with score 0.95/);
    // two flips of 5: 3/5 < 0.8
    const two = compareAnswers({ ...ref, b: { top1: 9, score: 0.4 }, c: { top1: 8, score: 0.4 } }, ref, CROSS_ISA);
    expect(two.problems[0]).toBe('top-1 agrees on 3/5; needs >= 4');
  });

  it('only inputs present in both count; none in common is a failure', () => {
    expect(compareAnswers({ a: ref.a }, ref, SAME_ISA)).toMatchObject({ compared: 1, ok: true });
    expect(compareAnswers({ z: ref.a }, ref, SAME_ISA).problems).toContain('no input in common with the reference');
  });
});

describe('classifyIsa', () => {
  it.each([
    ['x64', ['sse4_1', 'avx2', 'fma'], 'x86_64/avx2'],
    ['x64', ['avx2', 'avx512f'], 'x86_64/avx512'],
    ['x64', ['avx2', 'avx512f', 'avx512_vnni'], 'x86_64/avx512-vnni'],
    ['x64', ['avx2', 'avx_vnni'], 'x86_64/avx-vnni'],
    ['x64', ['avx2', 'avx512f', 'avx512_vnni', 'avx_vnni', 'amx_int8', 'amx_tile'], 'x86_64/avx512-vnni+amx'],
    ['x64', ['sse4_1'], 'x86_64/sse4'],
    ['arm64', ['fp', 'asimd'], 'arm64/neon'],
    ['arm64', ['asimd', 'asimddp'], 'arm64/dotprod'],
    ['arm64', ['asimd', 'asimddp', 'i8mm', 'sve'], 'arm64/i8mm'],
  ])('%s %j -> %s', (arch, flags, key) => {
    expect(isaKey(classifyIsa(arch, flags))).toBe(key);
  });

  it('reads flags from a cpuinfo file and gives [] when there is none', () => {
    expect(readCpuFlags('/nonexistent/cpuinfo')).toEqual([]);
  });
});

describe('reference answers file', () => {
  const refs = loadReferenceAnswers();
  it('names only registered variants and ImageNet classes, one record per ISA', () => {
    const reg = loadRegistry();
    for (const [name, records] of Object.entries(refs.variants)) {
      expect(reg.has(name), name).toBe(true);
      expect(new Set(records.map((r) => r.isa)).size).toBe(records.length);
      for (const r of records) for (const a of Object.values(r.answers)) expect(a.top1).toBeLessThan(1000);
    }
  });

  it('chooses the same-ISA record exactly, else the first with the cross-ISA tolerance', () => {
    const recs = refs.variants['mobilenet-v2-10-int8-zoo']!;
    expect(chooseReference(recs, 'x86_64/avx2')).toMatchObject({ sameIsa: true, tolerance: SAME_ISA });
    expect(chooseReference(recs, 'arm64/i8mm')).toMatchObject({ sameIsa: false, tolerance: CROSS_ISA, record: recs[0] });
    expect(chooseReference(undefined, 'x86_64/avx2')).toBeUndefined();
  });
});
