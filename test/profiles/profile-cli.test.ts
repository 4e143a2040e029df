/**
 * `npm run profile` (profiles/profile.ts) as a real child process: unknown variants are an error
 * that lists the known ones; a variant whose model file cannot be found is skipped with a message.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, saveUserVariant } from '../../functions/engine/registry.js';
import { readProfileFile } from '../../profiles/lib/load.js';
import { runProfile } from '../../profiles/lib/run-profile.js';
import { writeTinyModel } from './onnx-fixtures.js';

const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), 'spillway-profile-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function profileCli(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, ['--import', 'tsx', 'profiles/profile.ts', '--no-progress', ...args], {
    cwd: repoRoot(),
    env: { ...process.env, SPILLWAY_HOME: join(tmp, 'home'), ...env },
    timeout: 120_000,
  }).then(
    (r) => ({ ...r, code: 0 }),
    (e: { stdout: string; stderr: string; code: number }) => ({ stdout: e.stdout, stderr: e.stderr, code: e.code }),
  );
}

describe('npm run profile', () => {
  it('refuses an unknown variant and lists the known ones (in process: same runProfile the CLI calls)', async () => {
    await expect(
      runProfile({ variants: ['no-such-model'], gridName: 'quick', outDir: join(tmp, 'out1'), referenceSloMs: 200 }),
    ).rejects.toThrow(/unknown variant\(s\): no-such-model; known: .*mobilenet-v2-10-int8-zoo/);
  });

  it('skips a variant whose model file cannot be resolved, with a clear message, and writes nothing', async () => {
    const out = join(tmp, 'out2');
    const r = await profileCli(['--quick', '--variants', 'mobilenet-v2-10-int8-zoo', '--out', out], {
      SPILLWAY_MODEL_DIR: join(tmp, 'empty-model-dir'),
      SPILLWAY_SHARED_DIR: 'none',
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/skip mobilenet-v2-10-int8-zoo: model file 'mobilenetv2-12-int8.onnx' cannot be resolved/);
    expect(r.stdout).toMatch(/profiled 0, skipped 1, failed 0/);
    expect(() => readdirSync(out)).toThrow();
  });

  it('writes a user-added variant to the user profiles folder, never among the committed files', async () => {
    const home = join(tmp, 'home-user');
    mkdirSync(join(home, 'models'), { recursive: true });
    writeTinyModel(join(home, 'models', 'tiny-user.onnx'), [{ name: 'x', type: 'float32', dims: ['N', 8] }], {
      name: 'y',
      type: 'float32',
      dims: ['N', 8],
    });
    saveUserVariant(
      {
        name: 'tiny-user',
        task: 'vector-scoring',
        file: 'tiny-user.onnx',
        weights: 'real',
        architecture: 'Identity',
        input: { name: 'x', dtype: 'float32', shape: [null, 8], layout: 'other' },
        preprocessing: { kind: 'none' },
        output: { name: 'y', dtype: 'float32', kind: 'probabilities', classOffset: 0, numClasses: 8 },
        accuracy: { top1: null, source: 'none', appliesTo: 'user' },
      },
      { home },
    );
    const committedLike = join(tmp, 'committed');
    const userDir = join(tmp, 'user-profiles');
    const outcome = await runProfile({
      variants: ['tiny-user'],
      gridName: 'add',
      home,
      outDir: committedLike,
      userOutDir: userDir,
      referenceSloMs: 200,
      progress: false,
      log: () => {},
    });
    expect(outcome.failed).toEqual([]);
    expect(outcome.written[0]?.path).toBe(join(userDir, 'tiny-user.json'));
    expect(readProfileFile(join(userDir, 'tiny-user.json')).grid).toBe('add');
    expect(existsSync(join(committedLike, 'tiny-user.json'))).toBe(false);
  });
});
