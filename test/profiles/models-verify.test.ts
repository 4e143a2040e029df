/**
 * `npx spillway models verify` end to end, as real child processes: each variant runs on the real
 * VM inference server (child process) and the real Lambda handler (local Lambda runtime workers),
 * over the sample photos. Synthetic variants only with SPILLWAY_SHARED_DIR=none (a fresh clone);
 * the real models too when ../shared is present. A user variant with a deliberately wrong
 * reference in a temporary $SPILLWAY_HOME shows 'disagree' in verify, `models list` and
 * GET /v1/models (the real API server of the local stack).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuIsa, isaKey } from '../../functions/engine/cpu-isa.js';
import { builtinVariants, repoRoot, saveUserVariant } from '../../functions/engine/registry.js';
import type { ModelVariant } from '../../functions/engine/registry-schema.js';
import { buildSyntheticModel } from '../../functions/engine/synthetic/build.js';
import { ModelsResponseSchema } from '../../controller/server/schemas.js';
import type { ModelRow } from '../../profiles/lib/list-models.js';
import type { VariantVerdict } from '../../profiles/lib/verify.js';
import { HAS_SHARED_MODELS, startTestStack } from '../e2e/helpers.js';

const run = promisify(execFile);
const ROOT = repoRoot();
const ISA = isaKey(cpuIsa());
const TINY = 'resnet18-w025-s112-synthetic';
const USER = 'my-verify-model';
const SAMPLES = ['ort_cat.jpg', 'ort_dog.jpg', 'ort_goldfish.jpg', 'wonnx_pelican.jpeg'];

interface VerifyJson {
  isaKey: string;
  inputs: string[];
  variants: VariantVerdict[];
  skipped: { variant: string; reason: string }[];
  recorded: string[];
  refused: string[];
  ok: boolean;
}

const homes: string[] = [];
afterAll(() => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});
function tempHome(): string {
  const h = mkdtempSync(join(tmpdir(), 'spillway-verify-home-'));
  homes.push(h);
  return h;
}

function spillway(
  args: string[],
  env: Record<string, string>,
): Promise<{ stdout: string; stderr: string; code: number }> {
  return run('npx', ['spillway', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    timeout: 300_000,
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    (r) => ({ ...r, code: 0 }),
    (e: { stdout: string; stderr: string; code: number }) => ({
      stdout: e.stdout,
      stderr: e.stderr,
      code: e.code,
    }),
  );
}

describe('spillway models verify, synthetic variants only (no ../shared)', () => {
  const env = () => ({ SPILLWAY_SHARED_DIR: 'none', SPILLWAY_HOME: home });
  let home: string;
  beforeAll(() => {
    home = tempHome();
  });

  it('verifies every synthetic variant on the VM server and the Lambda handler: backends agree, no reference (said so)', async () => {
    const r = await spillway(['models', 'verify', '--json'], env());
    expect(r.stderr).not.toMatch(/spillway models verify:/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as VerifyJson;
    expect(out.isaKey).toBe(ISA);
    expect(out.inputs).toEqual(SAMPLES);
    const synthetic = builtinVariants()
      .filter((v) => v.weights === 'synthetic')
      .map((v) => v.name);
    expect(out.variants.map((v) => v.variant).sort()).toEqual([...synthetic].sort());
    // Real variants have no file here: skipped with a reason, not failed.
    expect(out.skipped.every((s) => /model file .* not found/.test(s.reason))).toBe(true);
    for (const v of out.variants) {
      expect(v.ok, v.problems.join('; ')).toBe(true);
      expect(v.runs.map((x) => [x.kind, x.isa, x.answered])).toEqual([
        ['vm', ISA, 4],
        ['lambda', ISA, 4],
      ]);
      expect(v.backends[0]!.tolerance).toBe('same-isa');
      expect(v.backendsAgree).toBe('4/4');
      expect(v.references).toEqual([]);
      expect(v.referenceNote).toMatch(/synthetic weights/);
    }
    const saved = JSON.parse(readFileSync(join(home, 'verify.json'), 'utf8')) as {
      variants: Record<string, { ok: boolean; backendsAgree: string }>;
    };
    expect(saved.variants[TINY]).toMatchObject({
      ok: true,
      backendsAgree: '4/4',
      isa: ISA,
      referenceAgree: null,
    });
  }, 300_000);

  it('prints a readable table; an unknown name exits 2 naming the known ones', async () => {
    const r = await spillway(['models', 'verify', TINY], env());
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`CPU instruction set: ${ISA}`);
    expect(r.stdout).toMatch(
      new RegExp(
        `${TINY}\\s+synthetic\\s+\\S+\\s+\\S+\\s+4/4, mean \\|Δscore\\| 0\\.0\\d\\d\\s+none \\(synthetic weights\\)\\s+agree`,
      ),
    );
    const bad = await spillway(['models', 'verify', 'no-such-model'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown variant 'no-such-model'; known: .*resnet18-synthetic/);
    const rec = await spillway(['models', 'verify', TINY, '--record'], env());
    expect(rec.stdout).toMatch(/not recorded: synthetic weights have no reference/);
  }, 300_000);
});

describe('a user variant with a deliberately wrong reference in $SPILLWAY_HOME', () => {
  let home: string;
  const env = () => ({ SPILLWAY_SHARED_DIR: 'none', SPILLWAY_HOME: home });

  beforeAll(() => {
    home = tempHome();
    // A small real ONNX file (the synthetic builder's) registered as a user model, as `models add` would.
    const base = builtinVariants().find((v) => v.name === TINY)!;
    const built = buildSyntheticModel(base.synthetic!.recipe, base.synthetic!.seed);
    mkdirSync(join(home, 'models'), { recursive: true });
    writeFileSync(join(home, 'models', `${USER}.onnx`), built.bytes);
    const { synthetic: _s, sha256: _h, sizeBytes: _b, ...rest } = base;
    const user: ModelVariant = {
      ...rest,
      name: USER,
      file: `${USER}.onnx`,
      weights: 'real',
      accuracy: { top1: null, source: 'test fixture', appliesTo: 'user' },
    };
    saveUserVariant(user, { home });
  });

  it('records a reference, refuses to overwrite it without --force, then agrees exactly with it', async () => {
    const first = JSON.parse(
      (await spillway(['models', 'verify', USER, '--json'], env())).stdout,
    ) as VerifyJson;
    expect(first.variants[0]!.referenceNote).toMatch(/no recorded reference/);
    expect(first.ok).toBe(true);

    const rec = await spillway(['models', 'verify', USER, '--record'], env());
    expect(rec.code).toBe(0);
    expect(rec.stdout).toMatch(
      new RegExp(
        `added the ${ISA.replace(/[+/]/g, '\\$&')} record in ${join(home, 'reference-answers.json')}`,
      ),
    );
    const again = await spillway(['models', 'verify', USER, '--record'], env());
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds a record .* add --force to replace it/);

    const checked = JSON.parse(
      (await spillway(['models', 'verify', USER, '--json'], env())).stdout,
    ) as VerifyJson;
    const v = checked.variants[0]!;
    expect(v.ok).toBe(true);
    expect(
      v.references.map((r) => [r.referenceIsa, r.sameIsa, r.report.top1Agree, r.report.compared]),
    ).toEqual([
      [ISA, true, 4, 4],
      [ISA, true, 4, 4],
    ]);
  }, 300_000);

  it('a wrong reference: DISAGREE and exit 1 in verify, shown by models list and GET /v1/models', async () => {
    const path = join(home, 'reference-answers.json');
    const file = JSON.parse(readFileSync(path, 'utf8')) as {
      variants: Record<string, { answers: Record<string, { top1: number; score: number }> }[]>;
    };
    for (const rec of file.variants[USER]!) {
      for (const a of Object.values(rec.answers)) {
        a.top1 = (a.top1 + 1) % 1000;
        a.score = 0.99;
      }
    }
    writeFileSync(path, JSON.stringify(file));

    const r = await spillway(['models', 'verify', USER], env());
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`${USER}\\s+real .*0/4 exact .*DISAGREE`));
    expect(r.stdout).toMatch(/1 of 1 variant\(s\) DISAGREE/);
    expect(r.stdout).toMatch(/a confident answer must not change/);

    const listed = await spillway(['models', 'list', '--json'], env());
    expect(listed.code).toBe(0);
    const row = (JSON.parse(listed.stdout) as ModelRow[]).find((x) => x.name === USER)!;
    expect(row.verification).toMatchObject({
      status: 'disagree',
      backendsAgree: '4/4',
      referenceAgree: '0/4',
      referenceIsa: ISA,
      isa: ISA,
    });
    expect(row.machineIsa).toBe(ISA);
    const table = await spillway(['models', 'list'], env());
    expect(table.stdout).toMatch(new RegExp(`${USER} .*DISAGREE backends 4/4, ref 0/4`));
    expect(table.stdout).toMatch(new RegExp(`${TINY} .*not verified`));

    const stack = await startTestStack({ variants: [USER], home, maxVms: 1 });
    try {
      const res = await fetch(`${stack.url}/v1/models`);
      expect(res.status).toBe(200);
      const body = ModelsResponseSchema.parse(await res.json());
      expect(body.models.find((m) => m.name === USER)!.verification).toMatchObject({
        status: 'disagree',
        backendsAgree: '4/4',
        referenceAgree: '0/4',
        referenceIsa: ISA,
      });
    } finally {
      await stack.close();
    }

    // --record --force replaces the wrong record; verify agrees again.
    const fixed = await spillway(['models', 'verify', USER, '--record', '--force'], env());
    expect(fixed.stdout).toMatch(/replaced the .* record/);
    expect((await spillway(['models', 'verify', USER], env())).code).toBe(0);
  }, 300_000);
});

describe.skipIf(!HAS_SHARED_MODELS)(
  `spillway models verify, real models (${HAS_SHARED_MODELS ? '../shared present' : 'SKIPPED: ../shared/models not present'})`,
  () => {
    it('the smallest real models agree across backends and with their reference for this ISA (or within CROSS_ISA)', async () => {
      const home = tempHome();
      const names = ['mobilenet-v1-050-128-quant', 'shufflenet-v2-10-qdq'];
      const r = await spillway(['models', 'verify', ...names, '--json'], { SPILLWAY_HOME: home });
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as VerifyJson;
      expect(out.inputs).toHaveLength(13);
      for (const v of out.variants) {
        expect(v.ok, v.problems.join('; ')).toBe(true);
        expect(v.backendsAgree).toBe('13/13');
        expect(v.references).toHaveLength(2);
        for (const ref of v.references) {
          expect(ref.report.compared).toBe(13);
          if (ref.sameIsa) expect(ref.report.top1Agree).toBe(13);
          else expect(ref.report.top1Agree).toBeGreaterThanOrEqual(11);
        }
      }
    }, 300_000);
  },
);
