/**
 * `npm start` as a real child process: it prints the endpoint and a curl that works; the printed
 * curl answers with a real prediction; SIGINT (Ctrl-C to the process group) shuts it down with
 * exit code 0 and leaves no orphan (no VM server, no Lambda instance process).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../functions/engine/registry.js';
import { SMALL_VARIANT } from './helpers.js';

function descendants(pid: number): number[] {
  const out: number[] = [];
  let frontier = [pid];
  while (frontier.length > 0) {
    const next: number[] = [];
    for (const p of frontier) {
      let text = '';
      try {
        text = execFileSync('ps', ['-o', 'pid=', '--ppid', String(p)], { encoding: 'utf8' });
      } catch {
        // ps exits 1 when there are no children
      }
      for (const s of text.split('\n')) {
        const c = Number(s.trim());
        if (c > 0) next.push(c);
      }
    }
    out.push(...next);
    frontier = next;
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const freshHome = mkdtempSync(join(tmpdir(), 'spillway-fresh-'));
const CASES = [
  { name: 'this checkout', variant: SMALL_VARIANT, env: {} as Record<string, string>, weights: undefined as string | undefined },
  {
    // A fresh clone: no ../shared (no real models, no traces), empty SPILLWAY_HOME -> the first
    // start builds the synthetic variant and says so.
    name: 'fresh clone without ../shared',
    variant: 'resnet18-w025-s112-synthetic',
    env: { SPILLWAY_SHARED_DIR: 'none', SPILLWAY_HOME: freshHome },
    weights: 'synthetic',
  },
];

describe.each(CASES)('npm start (child process): $name', ({ variant, env, weights }) => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.pid && alive(child.pid)) process.kill(-child.pid, 'SIGKILL');
    if (env['SPILLWAY_HOME']) rmSync(env['SPILLWAY_HOME'], { recursive: true, force: true });
  });

  it('prints the endpoint and a working curl, then exits cleanly on SIGINT with no orphans', async () => {
    child = spawn('npm', ['start', '--silent'], {
      cwd: repoRoot(),
      detached: true, // own process group, so SIGINT reaches it the way Ctrl-C would
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...env,
        PORT: '0',
        SPILLWAY_VARIANTS: variant,
        SPILLWAY_VM_BOOT_DELAY_MS: '1000',
        SPILLWAY_TICK_MS: '1000',
        SPILLWAY_LOG_LEVEL: 'warn',
      },
    });
    let stdout = '';
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<string>((resolve) => child!.on('exit', (code, signal) => resolve(`${code}/${signal}`)));
    const deadline = Date.now() + 90_000;
    while (!stdout.includes('spillway: ready') && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(stdout, stderr).toContain('spillway: ready');
    const url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stdout).toContain(variant);
    if (weights === 'synthetic') expect(stdout).toMatch(/built resnet18-w025-s112-synthetic/);
    const curl = stdout.split('\n').find((l) => l.includes('base64 -w0'))?.trim();
    expect(curl).toBeDefined();

    const answer = execFileSync('bash', ['-c', curl!], { cwd: repoRoot(), encoding: 'utf8', timeout: 60_000 });
    const body = JSON.parse(answer) as {
      model: string;
      weights: string;
      predictions: Array<{ label: string }>;
      backend: { kind: string };
    };
    expect(body.model).toBe(variant);
    if (weights) expect(body.weights).toBe(weights);
    expect(body.predictions.length).toBeGreaterThan(0);
    expect(['vm', 'lambda']).toContain(body.backend.kind);
    // The live dashboard is announced and served at / (test/e2e/dashboard.test.ts drives it in Chromium).
    expect(stdout).toContain(`live dashboard: ${url}/`);
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<figure class="chart" id="chart-load">');

    const kids = descendants(child.pid!);
    // npm -> node (controller) -> at least the Lambda instance that served the curl.
    expect(kids.length).toBeGreaterThanOrEqual(2);
    process.kill(-child.pid!, 'SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
    // npm itself re-raises SIGINT on Ctrl-C (exit by signal); the controller under it must exit 0
    // after a clean shutdown, which it reports on stdout just before process.exit(0).
    expect(['0/null', 'null/SIGINT', '130/null']).toContain(code);
    const waitStopped = Date.now() + 20_000;
    while (!stdout.includes('spillway: stopped') && Date.now() < waitStopped) await new Promise((r) => setTimeout(r, 100));
    expect(stdout).toContain('spillway: stopped');
    // Give the OS a moment to reap, then nothing the stack started may still run.
    await new Promise((r) => setTimeout(r, 500));
    expect(kids.filter(alive)).toEqual([]);
  }, 150_000);
});
