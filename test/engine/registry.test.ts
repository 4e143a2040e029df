/** Registry: built-in entries are honest and consistent with ../shared/models; user entries merge safely. */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RegistryError, UnknownVariantError } from '../../functions/engine/errors.js';
import {
  builtinVariants,
  loadRegistry,
  repoRoot,
  saveUserVariant,
  sharedDir,
  spillwayHome,
} from '../../functions/engine/registry.js';
import { noSharedReason, sharedModels, tempDir } from './helpers.js';

const homes = tempDir('registry');
afterAll(() => homes.cleanup());
let k = 0;
const freshHome = () => join(homes.dir, `h${++k}`);

describe('built-in registry', () => {
  const all = builtinVariants();
  const real = all.filter((v) => v.weights === 'real');
  const syn = all.filter((v) => v.weights === 'synthetic');

  it('has the five real models and synthetic ResNets, names safe for Lambda function names', () => {
    expect(real).toHaveLength(5);
    expect(syn.map((v) => v.name)).toEqual(
      expect.arrayContaining(['resnet18-synthetic', 'resnet50-synthetic']),
    );
    // Lambda function names allow [A-Za-z0-9-_] only; 'spillway-' + name must stay within 64 chars.
    for (const v of all) expect(`spillway-${v.name}`).toMatch(/^[a-z0-9_-]{1,64}$/);
  });

  it('labels accuracy honestly', () => {
    for (const v of real) expect(v.accuracy.appliesTo).toBe('these-weights');
    for (const v of syn) {
      expect(v.accuracy.appliesTo).toBe('architecture');
      expect(v.accuracy.source).toMatch(/random/);
      expect(v.name).toMatch(/synthetic/);
      expect(v.architecture).toMatch(/SYNTHETIC/);
      expect(v.synthetic).toBeDefined();
    }
    expect(builtinVariants().find((v) => v.name === 'squeezenet-caffe2-fp16')!.accuracy.source).toMatch(
      /fp32 parent/,
    );
  });

  it('the synthetic-only family spans >= 20x in compute', () => {
    const g = syn.map((v) => v.gflops!);
    expect(Math.max(...g) / Math.min(...g)).toBeGreaterThanOrEqual(20);
  });

  it.skipIf(!sharedModels)(
    `real entries match models.json and the files (${sharedModels ? 'shared' : noSharedReason})`,
    () => {
      const mj = JSON.parse(readFileSync(join(sharedModels!, 'models.json'), 'utf8')) as {
        models: {
          file: string;
          sha256: string;
          sizeBytes: number;
          input: { name: string; dtype: string; shape: (number | string)[]; layout: string };
          output: { name: string; classOffset: number };
        }[];
      };
      for (const v of real) {
        const m = mj.models.find((x) => x.file === v.file)!;
        expect(m, v.file).toBeDefined();
        expect([v.sha256, v.sizeBytes]).toEqual([m.sha256, m.sizeBytes]);
        expect(v.input.name).toBe(m.input.name);
        expect(v.input.dtype).toBe(m.input.dtype);
        expect(v.input.layout).toBe(m.input.layout);
        expect(v.input.shape).toEqual(m.input.shape.map((d) => (typeof d === 'string' ? null : d)));
        expect([v.output.name, v.output.classOffset]).toEqual([m.output.name, m.output.classOffset]);
        const bytes = readFileSync(join(sharedModels!, v.file));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(v.sha256);
      }
    },
  );
});

describe('loadRegistry / saveUserVariant', () => {
  const user = { ...builtinVariants().find((v) => v.name === 'resnet18-synthetic')!, name: 'my-resnet' };

  it('merges user variants from $home/registry.json', () => {
    const home = freshHome();
    expect(loadRegistry({ home }).has('my-resnet')).toBe(false);
    saveUserVariant({ ...user, accuracy: { top1: 70, source: 'me', appliesTo: 'user' } }, { home });
    saveUserVariant({ ...user, accuracy: { top1: 71, source: 'me', appliesTo: 'user' } }, { home }); // replaces
    const reg = loadRegistry({ home });
    expect(reg.get('my-resnet').accuracy.top1).toBe(71);
    expect(reg.variants().filter((v) => v.name === 'my-resnet')).toHaveLength(1);
    expect(reg.byTask('image-classification').length).toBe(builtinVariants().length + 1);
  });

  it('refuses user entries that reuse a built-in name', () => {
    const home = freshHome();
    expect(() => saveUserVariant({ ...user, name: 'resnet18-synthetic' }, { home })).toThrow(RegistryError);
    saveUserVariant(user, { home });
    const path = join(home, 'registry.json');
    const file = JSON.parse(readFileSync(path, 'utf8'));
    file.variants[0].name = 'shufflenet-v2-10-qdq';
    writeFileSync(path, JSON.stringify(file));
    expect(() => loadRegistry({ home })).toThrow(/redefines built-in variant 'shufflenet-v2-10-qdq'/);
  });

  it('rejects a malformed user registry and invalid variants with RegistryError', () => {
    const home = freshHome();
    expect(() => saveUserVariant({ ...user, name: 'Bad Name!' }, { home })).toThrow(RegistryError);
    saveUserVariant(user, { home });
    writeFileSync(join(home, 'registry.json'), '{"schemaVersion":1,"variants":[{"name":"x"}]}');
    expect(() => loadRegistry({ home })).toThrow(RegistryError);
    writeFileSync(join(home, 'registry.json'), 'not json');
    expect(() => loadRegistry({ home })).toThrow(/not valid JSON/);
  });

  it('unknown variants name the known ones', () => {
    const err = (() => {
      try {
        loadRegistry({ home: freshHome() }).get('resnet999');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UnknownVariantError);
    expect((err as Error).message).toMatch(/'resnet999'.*resnet50-synthetic/);
  });
});

describe('paths', () => {
  it('repoRoot holds package.json; spillwayHome and sharedDir follow the env', () => {
    expect(JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')).name).toBe('spillway');
    const saved = { home: process.env['SPILLWAY_HOME'], shared: process.env['SPILLWAY_SHARED_DIR'] };
    try {
      process.env['SPILLWAY_HOME'] = homes.dir;
      expect(spillwayHome()).toBe(homes.dir);
      delete process.env['SPILLWAY_HOME'];
      expect(spillwayHome()).toBe(join(repoRoot(), '.spillway'));
      process.env['SPILLWAY_SHARED_DIR'] = 'none';
      expect(sharedDir()).toBeUndefined();
      process.env['SPILLWAY_SHARED_DIR'] = homes.dir;
      expect(sharedDir()).toBe(homes.dir);
    } finally {
      for (const [k, v] of [
        ['SPILLWAY_HOME', saved.home],
        ['SPILLWAY_SHARED_DIR', saved.shared],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
