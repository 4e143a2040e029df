/**
 * Process-tree helpers for tests that start `npm start` as users do and check that every process
 * under it is gone afterwards: /proc walks (no ps parsing), liveness that counts zombies as gone,
 * loopback ports, and polling with a bound.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Every process whose ancestry leads to `root`, from /proc (no ps parsing). */
export function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    const pid = Number(d);
    if (!Number.isInteger(pid)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the ppid; the command name (field 2) may hold spaces, so split after ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parentOf.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited while we looked
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parentOf) {
      if (pp !== p) continue;
      out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie (exited, not yet reaped by its new parent) no longer runs anything.
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export async function portFree(port: number): Promise<boolean> {
  const s = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export async function waitUntil(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

/** SIGKILLs `root` and every process under it (a test's cleanup after a failed assertion). */
export function killTree(root: number): void {
  for (const p of [...descendants(root), root]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
