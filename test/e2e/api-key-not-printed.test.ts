/**
 * No secret in any log (issue 11, item 4): the controller's start-up output is its log (journald
 * on the deployed host). Started as a real child process with SPILLWAY_API_KEY set, it must print
 * neither the key nor anything containing it, at info log level, and the curl it prints must still
 * work once the key is in the caller's environment.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../functions/engine/registry.js';
import { SMALL_VARIANT } from './helpers.js';

describe('controller start-up output', () => {
  const key = `k-${randomBytes(16).toString('hex')}`;
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
  });

  it('never prints the API key; the printed curl works with SPILLWAY_API_KEY exported', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'controller/main.ts'], {
      cwd: repoRoot(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PORT: '0',
        SPILLWAY_API_KEY: key,
        SPILLWAY_VARIANTS: SMALL_VARIANT,
        SPILLWAY_VM_BOOT_DELAY_MS: '1000',
        SPILLWAY_TICK_MS: '1000',
        SPILLWAY_LOG_LEVEL: 'info',
      },
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const exited = new Promise<string>((resolve) => child!.on('exit', (code, signal) => resolve(`${code}/${signal}`)));
    const deadline = Date.now() + 90_000;
    while (!out.includes('spillway: ready') && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(out).toContain('spillway: ready');
    const curl = out.split('\n').find((l) => l.includes('base64 -w0'))?.trim();
    expect(curl).toContain('x-api-key: $SPILLWAY_API_KEY');
    const env = { ...process.env, SPILLWAY_API_KEY: key };
    const body = JSON.parse(execFileSync('bash', ['-c', curl!], { cwd: repoRoot(), encoding: 'utf8', env, timeout: 60_000 })) as {
      model?: string;
    };
    expect(body.model).toBe(SMALL_VARIANT);
    process.kill(-child.pid!, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    // Everything it wrote, start to stop, at info level.
    expect(out).not.toContain(key);
  }, 150_000);
});
