/**
 * Starting a local stand-in (a Lambda instance, a VM) at a lower CPU priority and serving at the
 * normal one. On AWS an instance's INIT or a VM's boot runs on its own CPU; here it shares the
 * 2 cores with the VMs and warm instances that are serving, and a 1-2 CPU-s model load stalled
 * them (README demo: a second VM booting took the serving VM from ~50 to ~30 answers/s for 6 s).
 * Linux niceness is per thread; going back to 0 needs CAP_SYS_NICE, hence root only.
 */
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/** 10 where a process may lower its niceness again (root on Linux), else 0. */
export function defaultInitNice(): number {
  return process.platform === 'linux' && process.getuid?.() === 0 ? 10 : 0;
}

/** `command args` as run under `nice -n N` (unchanged for N <= 0): [file, args]. */
export function nicedCommand(nice: number, file: string, args: readonly string[]): [string, string[]] {
  return nice > 0 ? ['nice', ['-n', String(nice), file, ...args]] : [file, [...args]];
}

/**
 * Sets every thread of `pid` ('self' = this process) to `nice`. Threads made later inherit their
 * creator's niceness, so a process reset after its start-up serves at `nice` from then on.
 */
export function reniceThreads(pid: number | 'self', nice: number): void {
  for (const tid of readdirSync(`/proc/${pid}/task`)) setPriority(Number(tid), nice);
}
