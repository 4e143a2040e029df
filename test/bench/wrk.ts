/**
 * wrk (Debian's `wrk` package, a C load generator) as the closed-loop client of the benchmarks,
 * when it is installed: at 100 KB bodies a Node client spends about as much CPU per request as the
 * server it measures, and on a 2-core machine that CPU comes out of the server's share. wrk spends
 * a fraction of it. Without wrk the benchmarks keep their Node client and say so in the results.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** wrk's path, or undefined when it is not installed. */
export function wrkPath(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Parses wrk's summary: requests/s, and errors (non-2xx answers + socket errors). */
export function parseWrkSummary(text: string): { rps: number; errors: number; socketErrors: number } {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!rps) throw new Error(`wrk printed no Requests/sec line:\n${text}`);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = sock ? sock.slice(1).reduce((a, x) => a + Number(x), 0) : 0;
  return { rps: Number(rps[1]), errors: non2xx + socketErrors, socketErrors };
}

/** Closed loop with wrk: `connections` keep-alive connections POSTing `body` (JSON) for `seconds`. */
export async function wrkThroughput(
  wrk: string,
  url: URL,
  body: string,
  connections: number,
  seconds: number,
  opts: { luaExtra?: readonly string[] } = {},
): Promise<{ rps: number; errors: number; socketErrors: number; text: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-wrk-'));
  try {
    const bodyFile = join(dir, 'body.json');
    writeFileSync(bodyFile, body);
    const script = join(dir, 'post.lua');
    writeFileSync(
      script,
      [
        `local f = io.open(${JSON.stringify(bodyFile)}, "rb")`,
        'wrk.body = f:read("*a")',
        'f:close()',
        'wrk.method = "POST"',
        'wrk.headers["content-type"] = "application/json"',
        ...(opts.luaExtra ?? []),
        '',
      ].join('\n'),
    );
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(wrk, ['-t1', `-c${connections}`, `-d${Math.max(1, Math.round(seconds))}s`, '-s', script, url.href], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let text = '';
      p.stdout.on('data', (c: Buffer) => {
        text += c.toString();
      });
      p.on('error', reject);
      p.on('exit', (code) =>
        code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}:\n${text}`)),
      );
    });
    return { ...parseWrkSummary(out), text: out };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
