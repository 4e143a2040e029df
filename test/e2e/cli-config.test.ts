/**
 * App config fails fast with messages naming the variable; `spillway replay` (the real CLI in a
 * child process) drives a running stack and prints the JSON report and writes the HTML report.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../../controller/app-config.js';
import { ConfigError } from '../../controller/errors.js';
import { repoRoot } from '../../functions/engine/registry.js';
import type { Stack } from '../../controller/server/stack.js';
import { startTestStack } from './helpers.js';

const run = promisify(execFile);

describe('app config (fail fast)', () => {
  it('reads env and flags, flags win', () => {
    const c = loadAppConfig({ PORT: '9000', SPILLWAY_VARIANTS: 'a-1, b-2', SPILLWAY_MAX_VMS: '1' }, ['--port', '9100']);
    expect(c.port).toBe(9100);
    expect(c.variants).toEqual(['a-1', 'b-2']);
    expect(c.maxVms).toBe(1);
    expect(c.sloMs).toBe(250);
  });

  it('names the variable and the limit on a bad value', () => {
    expect(() => loadAppConfig({ SPILLWAY_MAX_VMS: '-3' })).toThrow(ConfigError);
    expect(() => loadAppConfig({ SPILLWAY_MAX_VMS: '-3' })).toThrow(/SPILLWAY_MAX_VMS \(--max-vms\).*>=0/);
    expect(() => loadAppConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadAppConfig({}, ['--no-such-flag', '1'])).toThrow(/bad command line/);
  });
});

describe('spillway replay (CLI, child process)', () => {
  let stack: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'spillway-replay-'));
  beforeAll(async () => {
    stack = await startTestStack({ lambdaConcurrency: 8, sloMs: 10_000, backendTimeoutMs: 60_000 });
  });
  afterAll(async () => {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--json prints the final report; --report writes the HTML report', async () => {
    const html = join(dir, 'replay.html');
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'controller/cli/spillway.ts',
        'replay',
        '--target',
        stack.url,
        '--trace',
        'builtin:steady',
        '--mean-rps',
        '3',
        '--duration',
        '5s',
        '--slo-ms',
        '10000',
        '--json',
        '--report',
        html,
      ],
      { cwd: repoRoot(), timeout: 170_000 },
    );
    const report = JSON.parse(stdout) as {
      sent: number;
      lost: number;
      sloAttainment: number;
      dollars: { ec2: number; lambda: number; total: number };
      perSecond: unknown[];
      traceSynthetic: boolean;
    };
    expect(report.sent).toBeGreaterThan(0);
    expect(report.lost).toBe(0);
    expect(report.perSecond).toHaveLength(5);
    expect(report.traceSynthetic).toBe(true);
    expect(report.dollars.total).toBeCloseTo(report.dollars.ec2 + report.dollars.lambda, 12);
    expect(existsSync(html)).toBe(true);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<svg');
    expect(page).toMatch(/synthetic workload/i);
  }, 180_000);
});
