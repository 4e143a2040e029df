/**
 * Child processes of the benchmarks: start one (a tsx entry printing `{"port": N}` or
 * `{"event":"listening","port": N}` on a stdout line) and wait for a backend's /readyz.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { repoRoot } from '../../functions/engine/registry.js';
import { ROUTER_NODE_FLAGS } from '../../controller/server/router-node-flags.js';

const ROOT = repoRoot();

/**
 * `cpus` (taskset's list, e.g. '1'): the child runs on those cores only (benchmarks that give the
 * process they measure a core of its own, as it would have its own host). `nodeFlags`: node's own
 * flags, as the process users run gets them (ROUTER_NODE_FLAGS for a router).
 */
export function startChild(
  args: string[],
  env: Record<string, string> = {},
  opts: { cpus?: string; nodeFlags?: readonly string[] } = {},
): Promise<{ proc: ChildProcess; port: number; healthPort?: number }> {
  return new Promise((resolve, reject) => {
    const argv = [...(opts.nodeFlags ?? []), '--import', 'tsx', ...args];
    const proc = spawn(opts.cpus ? 'taskset' : process.execPath, opts.cpus ? ['-c', opts.cpus, process.execPath, ...argv] : argv, {
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

/**
 * Pins this process (all its threads) and every child it starts from now on to `cpus`; false when
 * taskset is missing or refused (the benchmark then runs unpinned and says so).
 */
export function pinSelf(cpus: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-cp', cpus, String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
