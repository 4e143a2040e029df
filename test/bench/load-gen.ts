/**
 * The benchmarks' load generators, maintained ones instead of hand-written node:http loops:
 *  - autocannon (npm; one request per connection at a time, prebuilt request bytes, its own light
 *    HTTP parser): fixed-rate runs (`overallRate`) and closed loops. Its own latency histogram has
 *    whole-millisecond resolution, so every answer's time (a float in ms, from its 'response'
 *    event) goes into our own HDR histogram in microseconds.
 *  - wrk (Debian's `wrk`, C, epoll): closed loops only (wrk 4 has no fixed rate); the least CPU per
 *    request of the three, which matters on a 2-core machine where the generator shares the cores
 *    with what it measures.
 *  - the previous hand-written node:http generator stays as `node` so a run can compare them.
 * The router benchmark measures the bare proxy with each and keeps the one that drives it fastest.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';

export type Generator = 'autocannon' | 'wrk' | 'node';

export interface LatencyResult {
  sent: number;
  ok: number;
  errors: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  achievedRps: number;
}

export interface Load {
  url: URL;
  body: string;
  headers?: Record<string, string>;
}

function histogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

function summarise(h: hdr.Histogram, sent: number, ok: number, errors: number, elapsedS: number): LatencyResult {
  const r: LatencyResult = {
    sent,
    ok,
    errors,
    p50Ms: h.getValueAtPercentile(50) / 1000,
    p90Ms: h.getValueAtPercentile(90) / 1000,
    p99Ms: h.getValueAtPercentile(99) / 1000,
    maxMs: h.maxValue / 1000,
    meanMs: h.mean / 1000,
    achievedRps: ok / elapsedS,
  };
  h.destroy();
  return r;
}

/**
 * autocannon run: `rps` fixed overall rate (undefined: closed loop) over `connections`. The latency
 * of every 2xx answer is recorded in µs. `onStatus` sees every status (overload runs count 503s).
 */
export async function autocannonRun(
  load: Load,
  o: { connections: number; seconds: number; rps?: number; onStatus?: (status: number) => void },
): Promise<LatencyResult> {
  const h = histogram();
  let ok = 0;
  let sent = 0;
  const t0 = performance.now();
  const instance = autocannon({
    url: load.url.toString(),
    method: 'POST',
    headers: { 'content-type': 'application/json', ...load.headers },
    body: load.body,
    connections: o.connections,
    duration: o.seconds,
    pipelining: 1,
    ...(o.rps !== undefined ? { overallRate: o.rps } : {}),
    timeout: 30,
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    sent++;
    o.onStatus?.(status);
    if (status >= 200 && status < 300) {
      ok++;
      h.recordValue(Math.max(1, Math.round(ms * 1000)));
    }
  });
  const result = await instance;
  const elapsedS = (performance.now() - t0) / 1000;
  return summarise(h, sent + result.errors, ok, result.errors + result.timeouts + (sent - ok), elapsedS);
}

/** wrk closed loop: `connections` over `threads` for `seconds`; requests/s of 2xx answers. */
export async function wrkRun(load: Load, o: { connections: number; seconds: number; threads?: number }): Promise<{ rps: number; errors: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-wrk-'));
  const bodyFile = join(dir, 'body.json');
  writeFileSync(bodyFile, load.body);
  const headers = { 'content-type': 'application/json', ...load.headers };
  // The body is read once by Lua; non-2xx answers are counted by wrk ("Non-2xx or 3xx responses").
  const script = join(dir, 'post.lua');
  writeFileSync(
    script,
    [
      `local f = assert(io.open(${JSON.stringify(bodyFile)}, "rb"))`,
      'wrk.method = "POST"',
      'wrk.body = f:read("*a")',
      'f:close()',
      ...Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
    ].join('\n'),
  );
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      'wrk',
      ['-t', String(o.threads ?? 1), '-c', String(o.connections), '-d', `${o.seconds}s`, '-s', script, load.url.toString()],
      { timeout: (o.seconds + 30) * 1000 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    ),
  );
  const m = /(\d+) requests in ([\d.]+)(m?s)/.exec(out);
  const total = m ? Number(m[1]) : Number.NaN;
  const seconds = m ? Number(m[2]) / (m[3] === 'ms' ? 1000 : 1) : o.seconds;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sockErr ? sockErr.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  if (!Number.isFinite(total)) throw new Error(`wrk output not understood:\n${out}`);
  return { rps: (total - non2xx) / seconds, errors };
}

// ---------------------------------------------------------------- the previous node:http generator

function post(agent: Agent, load: Load, onBody?: (text: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = httpRequest(
      load.url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(load.body), ...load.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        if (onBody) res.on('data', (c: Buffer) => chunks.push(c));
        else res.resume();
        res.on('end', () => {
          const ms = res.statusCode === 200 ? performance.now() - t0 : -1;
          if (onBody && ms >= 0) onBody(Buffer.concat(chunks).toString('utf8'));
          resolve(ms);
        });
      },
    );
    req.on('error', () => resolve(-1));
    req.end(load.body);
  });
}

/** Open loop at `rps` (node:http, new sockets as needed): requests go on schedule whatever the answers do. */
export async function nodeFixedRate(load: Load, rps: number, seconds: number, onBody?: (text: string) => void): Promise<LatencyResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const h = histogram();
  const total = Math.round(rps * seconds);
  const pending: Array<Promise<void>> = [];
  let errors = 0;
  const t0 = performance.now();
  let i = 0;
  while (i < total) {
    const due = Math.floor(((performance.now() - t0) * rps) / 1000);
    while (i < Math.min(due + 1, total)) {
      i++;
      pending.push(
        post(agent, load, onBody).then((ms) => {
          if (ms < 0) errors++;
          else h.recordValue(Math.max(1, Math.round(ms * 1000)));
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  const elapsedS = (performance.now() - t0) / 1000;
  agent.destroy();
  return summarise(h, total, total - errors, errors, elapsedS);
}

/** Closed loop (node:http): `concurrency` clients back to back for `seconds`. */
export async function nodeClosedLoop(load: Load, concurrency: number, seconds: number): Promise<{ rps: number; errors: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const end = performance.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const ms = await post(agent, load);
      if (ms < 0) errors++;
      else done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return { rps: done / ((performance.now() - t0) / 1000), errors };
}

/** Closed-loop throughput with the named generator. */
export async function closedLoop(gen: Generator, load: Load, connections: number, seconds: number): Promise<{ rps: number; errors: number }> {
  if (gen === 'wrk') return wrkRun(load, { connections, seconds });
  if (gen === 'node') return nodeClosedLoop(load, connections, seconds);
  const r = await autocannonRun(load, { connections, seconds });
  return { rps: r.achievedRps, errors: r.errors };
}
