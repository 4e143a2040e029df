/**
 * The pure parts of `spillway models verify`: the verdict per variant (backends vs each other,
 * vs the recorded reference; synthetic weights have none), the verify.json summary, and the
 * reference file writer (byte-exact layout of the committed file, no overwrite without force).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Answers } from '../../functions/engine/answer-agreement.js';
import { loadReferenceAnswers, referenceAnswersPath } from '../../functions/engine/reference-answers.js';
import {
  formatReferenceFile,
  loadAllReferences,
  recordReference,
  userReferencePath,
} from '../../profiles/lib/reference-store.js';
import {
  type BackendRun,
  formatVerifyTable,
  judgeVariant,
  toVerifyEntry,
} from '../../profiles/lib/verify.js';
import { readVerifyStore, verificationSummary, writeVerifyEntries } from '../../profiles/lib/verify-store.js';

const ISA = 'x86_64/avx512-vnni+amx';
const answers: Answers = {
  'a.jpg': { top1: 281, score: 0.9 },
  'b.jpg': { top1: 1, score: 0.99 },
  'c.jpg': { top1: 207, score: 0.3 },
  'd.jpg': { top1: 144, score: 0.85 },
  'e.jpg': { top1: 21, score: 0.7 },
};
const run = (kind: string, a: Answers, isa: string | null = ISA, errors: string[] = []): BackendRun => ({
  kind,
  isa,
  answers: a,
  errors,
});
const judge = (
  runs: BackendRun[],
  references?: { isa: string; answers: Answers }[],
  weights: 'real' | 'synthetic' = 'real',
) =>
  judgeVariant({
    variant: 'm',
    weights,
    machineIsa: ISA,
    inputs: 5,
    runs,
    references: references?.map((r) => ({ ...r, source: 'test' })),
  });

const homes: string[] = [];
const tempHome = () => {
  const h = mkdtempSync(join(tmpdir(), 'spillway-verify-'));
  homes.push(h);
  return h;
};
afterAll(() => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

describe('judgeVariant', () => {
  it('identical answers on both backends and an exact same-ISA reference: agree', () => {
    const v = judge([run('vm', answers), run('lambda', answers)], [{ isa: ISA, answers }]);
    expect(v.ok).toBe(true);
    expect(v.backendsAgree).toBe('5/5');
    expect(v.backends[0]!.tolerance).toBe('same-isa');
    expect(v.references.map((r) => [r.backend, r.sameIsa, r.report.top1Agree])).toEqual([
      ['vm', true, 5],
      ['lambda', true, 5],
    ]);
    expect(toVerifyEntry(v, Date.UTC(2026, 11, 5))).toMatchObject({
      backendsAgree: '5/5',
      referenceAgree: '5/5',
      referenceIsa: ISA,
      ok: true,
      at: '2026-12-05T00:00:00.000Z',
    });
  });

  it('one top-1 flip between backends on the same ISA is a disagreement, even an unsure one', () => {
    const lambda = { ...answers, 'c.jpg': { top1: 208, score: 0.31 } };
    const v = judge([run('vm', answers), run('lambda', lambda)], [{ isa: ISA, answers }]);
    expect(v.ok).toBe(false);
    expect(v.backendsAgree).toBe('4/5');
    expect(v.problems.join('\n')).toMatch(/lambda vs vm: top-1 agrees on 4\/5/);
  });

  it('backends on different ISA classes and a reference of another class: CROSS_ISA allows an unsure flip', () => {
    const lambda = { ...answers, 'c.jpg': { top1: 208, score: 0.31 } };
    const v = judge(
      [run('vm', answers), run('lambda', lambda, 'arm64/dotprod')],
      [{ isa: 'x86_64/avx2', answers }],
    );
    expect(v.backends[0]!.tolerance).toBe('cross-isa');
    expect(v.references.every((r) => !r.sameIsa)).toBe(true);
    expect(v.ok).toBe(true);
    // ...but never a confident one
    const confident = { ...answers, 'b.jpg': { top1: 2, score: 0.99 } };
    const w = judge(
      [run('vm', answers), run('lambda', confident, 'arm64/dotprod')],
      [{ isa: 'x86_64/avx2', answers }],
    );
    expect(w.ok).toBe(false);
    expect(w.problems.join('\n')).toMatch(/b\.jpg: top-1 2, reference 1 with score 0\.99/);
  });

  it('a wrong reference (exact ISA record) is a disagreement; a missing one is only a note', () => {
    const wrong = Object.fromEntries(
      Object.entries(answers).map(([k, a]) => [k, { top1: (a.top1 + 1) % 1000, score: 0.99 }]),
    );
    const v = judge([run('vm', answers), run('lambda', answers)], [{ isa: ISA, answers: wrong }]);
    expect(v.ok).toBe(false);
    expect(toVerifyEntry(v, 0).referenceAgree).toBe('0/5');
    const none = judge([run('vm', answers), run('lambda', answers)]);
    expect(none.ok).toBe(true);
    expect(none.referenceNote).toMatch(/no recorded reference.*--record/);
  });

  it('synthetic weights: no reference (said so), backends still compared', () => {
    const v = judge(
      [run('vm', answers), run('lambda', { ...answers, 'a.jpg': { top1: 3, score: 0.2 } })],
      undefined,
      'synthetic',
    );
    expect(v.referenceNote).toMatch(/synthetic weights/);
    expect(v.references).toEqual([]);
    expect(v.ok).toBe(false);
    const table = formatVerifyTable([v], { isa: ISA, flags: ['avx2'], inputs: '5 photos' });
    expect(table).toMatch(/none \(synthetic weights\)\s+DISAGREE/);
    expect(table).toMatch(/CPU instruction set: x86_64\/avx512-vnni\+amx/);
  });

  it('a backend that failed inputs, or only one backend, is a disagreement', () => {
    const partial = { 'a.jpg': answers['a.jpg']! };
    const v = judge([run('vm', answers), run('lambda', partial, ISA, ['b.jpg: 502 handler crashed'])]);
    expect(v.ok).toBe(false);
    expect(v.problems).toContain('lambda: b.jpg: 502 handler crashed');
    expect(judge([run('vm', answers)]).ok).toBe(false);
  });

  it('property: identical runs always agree; any changed top-1 on one machine never does', () => {
    const answerArb = fc.record({
      top1: fc.integer({ min: 0, max: 999 }),
      score: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), answerArb, { minKeys: 1, maxKeys: 20 }),
        fc.nat(),
        (a, pick) => {
          const same = judge([run('vm', a), run('lambda', { ...a })]);
          expect(same.ok).toBe(true);
          const n = Object.keys(a).length;
          expect(same.backendsAgree).toBe(`${n}/${n}`);
          const key = Object.keys(a)[pick % n]!;
          const changed = { ...a, [key]: { ...a[key]!, top1: (a[key]!.top1 + 1) % 1000 } };
          const diff = judge([run('vm', a), run('lambda', changed)]);
          expect(diff.ok).toBe(false);
          expect(diff.backendsAgree).toBe(`${n - 1}/${n}`);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('verify.json', () => {
  it('round-trips entries, merges per variant, and says not-verified for the rest', () => {
    const home = tempHome();
    expect(verificationSummary(readVerifyStore(home), 'm').status).toBe('not-verified');
    const v = judge([run('vm', answers), run('lambda', answers)], [{ isa: ISA, answers }]);
    writeVerifyEntries(home, { m: toVerifyEntry(v, 0) });
    writeVerifyEntries(home, { other: { ...toVerifyEntry(v, 0), ok: false, problems: ['x'] } });
    const read = readVerifyStore(home);
    expect(verificationSummary(read, 'm')).toMatchObject({
      status: 'agree',
      backendsAgree: '5/5',
      referenceAgree: '5/5',
      isa: ISA,
    });
    expect(verificationSummary(read, 'other')).toMatchObject({ status: 'disagree', problems: ['x'] });
    expect(verificationSummary(read, 'nope').status).toBe('not-verified');
  });

  it('a corrupt verify.json is reported, never thrown', async () => {
    const home = tempHome();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(home, 'verify.json'), '{"schemaVersion": 2');
    const s = verificationSummary(readVerifyStore(home), 'm');
    expect(s.status).toBe('not-verified');
    expect(s.problems[0]).toMatch(/verify\.json is not a valid verify result/);
  });
});

describe('reference files', () => {
  it('the writer reproduces the committed file byte for byte (a new record is a small diff)', () => {
    const p = referenceAnswersPath();
    expect(formatReferenceFile(loadReferenceAnswers(p))).toBe(readFileSync(p, 'utf8'));
  });

  it('records into $SPILLWAY_HOME, refuses to overwrite an ISA record without force, lists home records first', () => {
    const home = tempHome();
    const path = userReferencePath(home);
    const rec = { isa: ISA, source: 'test', answers: { 'a.jpg': { top1: 1, score: 0.5 } } };
    expect(recordReference({ path, variant: 'mine', record: rec, force: false })).toBe('added');
    expect(() => recordReference({ path, variant: 'mine', record: rec, force: false })).toThrow(
      /already holds a record for x86_64\/avx512-vnni\+amx.*--force/,
    );
    expect(recordReference({ path, variant: 'mine', record: { ...rec, source: 'again' }, force: true })).toBe(
      'replaced',
    );
    recordReference({ path, variant: 'mobilenet-v1-050-128-quant', record: rec, force: false });
    const all = loadAllReferences(home);
    expect(all.get('mine')).toEqual([{ ...rec, source: 'again' }]);
    const mv1 = all.get('mobilenet-v1-050-128-quant')!;
    expect(mv1[0]).toEqual(rec);
    expect(mv1.length).toBeGreaterThan(1);
  });
});
