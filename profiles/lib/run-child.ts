/**
 * Parent side of per-variant isolation: forks measure-child.ts (under tsx), sends the request,
 * relays progress, returns the result. The child is killed on timeout or when the parent aborts,
 * so no orphan outlives a profiling run.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../../functions/engine/registry.js';
import { ProfilingError } from './errors.js';
import type { MeasureRequest, MeasureResult, ProgressFn } from './measure.js';
import type { ChildMessage } from './measure-child.js';

const CHILD = fileURLToPath(new URL('./measure-child.ts', import.meta.url));

export interface RunChildOptions {
  onProgress?: ProgressFn;
  /** Kill the child after this long (default 15 min: a full profile of a large synthetic model). */
  timeoutMs?: number;
}

export function measureInChild(req: MeasureRequest, opts: RunChildOptions = {}): Promise<MeasureResult> {
  const name = req.variant.name;
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [], {
      execArgv: ['--import', 'tsx'],
      cwd: repoRoot(),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: process.env,
    });
    let stderrTail = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString()).slice(-2000);
    });
    let settled = false;
    const finish = (err: Error | undefined, result?: MeasureResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      process.off('exit', killChild);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (err) reject(err);
      else resolve(result!);
    };
    const killChild = () => child.kill('SIGKILL');
    process.on('exit', killChild);
    const timeoutMs = opts.timeoutMs ?? 15 * 60_000;
    const timer = setTimeout(
      () => finish(new ProfilingError(name, `measuring took longer than ${timeoutMs} ms; child killed`)),
      timeoutMs,
    );
    child.on('message', (msg: ChildMessage) => {
      if (msg.type === 'progress') opts.onProgress?.(msg.cellsDone, msg.cellsTotal, msg.label);
      else if (msg.type === 'result') finish(undefined, msg.result);
      else if (msg.type === 'error') finish(new ProfilingError(name, msg.message));
    });
    child.on('error', (err) => finish(new ProfilingError(name, `child process failed: ${err.message}`, { cause: err })));
    child.on('close', (code, signal) => {
      finish(
        new ProfilingError(
          name,
          `measuring child exited (code ${code}, signal ${signal}) without a result${stderrTail ? `: ${stderrTail.trim()}` : ''}`,
        ),
      );
    });
    child.send({ type: 'measure', request: req });
  });
}
