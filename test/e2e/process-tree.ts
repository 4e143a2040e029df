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

/**
 * A loopback port nobody listens on, for a child told to listen there. Drawn at random below the
 * kernel's ephemeral range (ip_local_port_range, 32768-60999 by default), never twice in this
 * process: a port from `listen(0)` is an ephemeral one, which the kernel may hand to an outgoing
 * connection or another `listen(0)` between the probe closing it and the child binding it.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  const lo = 10_000;
  const hi = Math.max(lo + 1_000, low);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = lo + Math.floor(Math.random() * (hi - lo));
    if (handedOut.has(port)) continue;
    if (await portFree(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port found in ${lo}-${hi}`);
}

const handedOut = new Set<number>();

function ephemeralRange(): [number, number] {
  try {
    const [a, b] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (a && b) return [a, b];
  } catch {
    // not Linux: the IANA range
  }
  return [49_152, 65_535];
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
