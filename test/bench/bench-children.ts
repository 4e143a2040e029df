/**
 * Child processes of the benchmarks: start one (a tsx entry printing `{"port": N}` or
 * `{"event":"listening","port": N}` on a stdout line) and wait for a backend's /readyz.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { repoRoot } from '../../functions/engine/registry.js';

const ROOT = repoRoot();

export function startChild(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ proc: ChildProcess; port: number; healthPort?: number }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const rl = createInterface({ input: proc.stdout! });
    const timer = setTimeout(() => reject(new Error(`child ${args.join(' ')} did not start`)), 120_000);
    rl.on('line', (line) => {
      try {
        const m = JSON.parse(line) as { port?: number; healthPort?: number };
        if (m.port) {
          clearTimeout(timer);
          resolve({ proc, port: m.port, ...(m.healthPort !== undefined ? { healthPort: m.healthPort } : {}) });
        }
      } catch {
        // not our line
      }
    });
    proc.on('exit', (code) => reject(new Error(`child ${args.join(' ')} exited with ${code}`)));
  });
}

export async function waitReady(url: string): Promise<void> {
  const end = Date.now() + 120_000;
  while (Date.now() < end) {
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.status === 200) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('backend never became ready');
}
