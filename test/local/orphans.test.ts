/**
 * No orphans when the controller dies without cleaning up: Lambda instances exit on IPC
 * disconnect, VM servers notice the re-parenting (parent-watch.ts). Real processes, SIGKILL.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { isAlive, REPO, waitFor } from './helpers.js';

const PARENT = fileURLToPath(new URL('./fixtures/orphan-parent.ts', import.meta.url));

it('stand-in handler + stand-in server: SIGKILL of the controller process takes its instances and VMs with it', async () => {
  const parent = spawn(process.execPath, ['--import', 'tsx', PARENT], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: parent.stdout });
      rl.once('line', resolve);
      parent.once('exit', (code) => reject(new Error(`fixture exited early (${code})`)));
    });
    const { workerPids, vmPids } = JSON.parse(line) as { workerPids: number[]; vmPids: number[] };
    expect(workerPids).toHaveLength(1);
    expect(vmPids).toHaveLength(1);
    const children = [...workerPids, ...vmPids];
    for (const pid of children) expect(isAlive(pid)).toBe(true);
    parent.kill('SIGKILL');
    await waitFor(() => children.every((pid) => !isAlive(pid)), 10_000, 'children of the killed controller to exit');
  } finally {
    if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
  }
});
