/**
 * The committed measured profiles (profiles/*.json) must validate, belong to registry variants,
 * and carry estimates consistent with their own latency model. The loader must name a bad file.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../functions/engine/registry.js';
import { loadCatalog } from '../../profiles/catalog.js';
import { COMMITTED_PROFILES_DIR, loadProfiles, profileFilesIn, readProfileFile } from '../../profiles/lib/load.js';
import { mapePct } from '../../profiles/lib/fit.js';

const files = profileFilesIn(COMMITTED_PROFILES_DIR);
const emptyHome = mkdtempSync(join(tmpdir(), 'spillway-empty-home-'));
afterAll(() => rmSync(emptyHome, { recursive: true, force: true }));

describe('committed profiles', () => {
  it('exist for at least the real registry variants (run `npm run profile` to create them)', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files.map((f) => [f.slice(f.lastIndexOf('/') + 1), f]))('%s validates, names a registry variant, and is self-consistent', (_n, file) => {
    const p = readProfileFile(file);
    const registry = loadRegistry({ home: emptyHome });
    expect(registry.has(p.variant)).toBe(true);
    const v = registry.get(p.variant);
    expect(p.weights).toBe(v.weights);
    expect(p.task).toBe(v.task);
    // never claim an architecture's accuracy for synthetic weights
    if (v.weights === 'synthetic') expect(p.accuracyTop1).toBeNull();
    // the stored MAPE is the MAPE of the stored model over the stored measurements
    expect(mapePct(p.latencyModel, p.measurements)).toBeCloseTo(p.latencyModel.fitMapePct, 1);
    // more Lambda memory never slower, never a cheaper-per-GB-s illusion of negative cost
    for (let i = 1; i < p.lambda.length; i++) {
      expect(p.lambda[i]!.memoryMb).toBeGreaterThan(p.lambda[i - 1]!.memoryMb);
      expect(p.lambda[i]!.p50Ms).toBeLessThanOrEqual(p.lambda[i - 1]!.p50Ms);
    }
    const catalog = loadCatalog();
    expect(p.instances.map((e) => e.instanceType).sort()).toEqual(catalog.ec2.instanceTypes.map((t) => t.name).sort());
    for (const e of p.instances) expect(e.replicas * e.intraOpThreads).toBe(e.vcpu);
  });

  it('loadProfiles returns one profile per committed file', () => {
    const all = loadProfiles({ home: emptyHome });
    expect(all.size).toBe(files.length);
  });
});

describe('loadProfiles', () => {
  it('names the file and the issue for a bad user profile', () => {
    const home = mkdtempSync(join(tmpdir(), 'spillway-bad-home-'));
    try {
      mkdirSync(join(home, 'profiles'));
      writeFileSync(join(home, 'profiles', 'broken.json'), '{"schemaVersion": 1, "variant": "broken"}');
      expect(() => loadProfiles({ home })).toThrow(/broken\.json: invalid profile: .*task/);
      writeFileSync(join(home, 'profiles', 'broken.json'), '{not json');
      expect(() => loadProfiles({ home })).toThrow(/broken\.json: not readable JSON/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('a user profile replaces the committed one for the same variant; a misnamed file is refused', () => {
    const [first] = files;
    if (!first) return;
    const p = readProfileFile(first);
    const home = mkdtempSync(join(tmpdir(), 'spillway-user-home-'));
    try {
      mkdirSync(join(home, 'profiles'));
      writeFileSync(join(home, 'profiles', `${p.variant}.json`), JSON.stringify({ ...p, sessionLoadMs: 12345 }));
      expect(loadProfiles({ home }).get(p.variant)?.sessionLoadMs).toBe(12345);
      writeFileSync(join(home, 'profiles', 'other-name.json'), JSON.stringify(p));
      expect(() => loadProfiles({ home })).toThrow(/holds variant .* but is named 'other-name.json'/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
