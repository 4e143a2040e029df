/**
 * Overload benchmark (`npm run bench:overload`; BENCH_QUICK=1 for a short run): issue 12 item 4's
 * figures. One router process (the router benchmark's: the real API server, policy and
 * HttpVmClient, Node process metrics on as the cluster routers run) in front of the no-op stand-in
 * backend, with 100 KB images. In the same run:
 *  1. capacity: wrk, 32 connections, closed loop -> C req/s answered 200;
 *  2. flood: wrk with FLOOD_CONNECTIONS connections for FLOOD_SECONDS; a refused request costs the
 *     router little (503 from the headers, body not read), so the offered rate climbs far above C;
 *     meanwhile /healthz is probed every 100 ms on its own connection and the router's RSS read
 *     from /proc every 200 ms; the router's event-loop delay over the flood is its own
 *     `nodejs_eventloop_lag_p99_seconds` (prom-client, reset at each scrape: scraped just before
 *     and right after).
 * Reported: offered rate / C, the status mix, RSS idle and peak, /healthz p50/p99/max, event-loop
 * delay p99/max. Results: test/bench/results/overload.json and overload.md. Needs wrk (Debian).
 */
import { ROUTER_NODE_FLAGS } from '../../controller/server/router-node-flags.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRegistry, repoRoot, sharedDir } from '../../functions/engine/registry.js';
import { startChild } from './bench-children.js';
import { wrkPath, wrkThroughput } from './wrk.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
const FLOOD_CONNECTIONS = Number(process.env['BENCH_FLOOD_CONNECTIONS'] ?? 2048);
const FLOOD_SECONDS = QUICK ? 5 : 20;
const ROOT = repoRoot();
const ROUTER_BENCH = fileURLToPath(new URL('./router.bench.ts', import.meta.url));

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function probe(agent: Agent, url: string): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = request(url, { agent, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve(res.statusCode === 200 ? performance.now() - t0 : Number.POSITIVE_INFINITY),
      );
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(Number.POSITIVE_INFINITY));
    req.end();
  });
}

async function eventLoopLag(url: string): Promise<{ p99Ms: number; maxMs: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const get = (name: string) =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+-]+)$`, 'm').exec(text)?.[1] ?? Number.NaN) * 1000;
  return { p99Ms: get('nodejs_eventloop_lag_p99_seconds'), maxMs: get('nodejs_eventloop_lag_max_seconds') };
}

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
};

async function main(): Promise<void> {
  const wrk = wrkPath();
  if (!wrk) throw new Error("bench:overload needs wrk (Debian's package: apt-get install wrk)");
  const reg = loadRegistry();
  const variant =
    sharedDir() && reg.has('mobilenet-v1-050-128-quant')
      ? 'mobilenet-v1-050-128-quant'
      : 'resnet18-w025-s112-synthetic';
  const v = reg.get(variant);
  const sample = readFileSync(join(ROOT, 'functions', 'models', 'samples', 'ort_cat.jpg'));
  const jpg = Buffer.concat([sample, Buffer.alloc(100_000 - sample.length)]);
  const body = JSON.stringify({
    task: v.task,
    input: { image: jpg.toString('base64') },
    sloMs: 1000,
    minAccuracy: 0,
    topK: 1,
  });

  const standIn = await startChild([ROUTER_BENCH, 'stand-in', variant]);
  const router = await startChild([ROUTER_BENCH, 'router', `http://127.0.0.1:${standIn.port}`, variant], {}, { nodeFlags: ROUTER_NODE_FLAGS });
  const stop = () => {
    for (const c of [router.proc, standIn.proc]) c.kill('SIGKILL');
  };
  process.on('exit', stop);
  try {
    const base = `http://127.0.0.1:${router.port}`;
    const url = new URL('/v1/infer', base);
    const pid = router.proc.pid!;
    console.log(`overload bench (${QUICK ? 'quick' : 'full'}): router pid ${pid}, ${variant}, 100 KB images`);
    await wrkThroughput(wrk, url, body, 32, 2); // warm-up
    const capacity = await wrkThroughput(wrk, url, body, 32, QUICK ? 3 : 5);
    const idleRssMb = rssMb(pid);
    console.log(`  capacity ~${capacity.rps.toFixed(0)} req/s; router RSS ${idleRssMb.toFixed(0)} MB`);

    // The flood, with probes and RSS samples beside it.
    await eventLoopLag(base); // reset the router's lag histogram
    const probes: number[] = [];
    const healthProbes: number[] = [];
    const rss: number[] = [];
    let flooding = true;
    const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const healthAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const healthBase = `http://127.0.0.1:${router.healthPort}`;
    const prober = (async () => {
      while (flooding) {
        probes.push(await probe(probeAgent, `${base}/healthz`));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // The health thread's port (what the ALB and HAProxy check), probed the same way.
    const healthProber = (async () => {
      while (flooding) {
        healthProbes.push(await probe(healthAgent, `${healthBase}/readyz`));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const sampler = setInterval(() => rss.push(rssMb(pid)), 200);
    const flood = await wrkFlood(wrk, url, body, FLOOD_CONNECTIONS, FLOOD_SECONDS);
    flooding = false;
    clearInterval(sampler);
    const lag = await eventLoopLag(base);
    await prober;
    await healthProber;
    probeAgent.destroy();
    healthAgent.destroy();
    const alive = router.proc.exitCode === null;

    const result = {
      benchmark: 'overload',
      mode: QUICK ? 'quick' : 'full',
      measuredAt: new Date().toISOString(),
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        node: process.version,
        loadAvg1m: round(loadavg()[0]!, 2),
      },
      variant,
      bodyBytes: Buffer.byteLength(body),
      capacityRps: round(capacity.rps),
      flood: {
        connections: FLOOD_CONNECTIONS,
        seconds: FLOOD_SECONDS,
        offeredRps: round(flood.rps),
        offeredOverCapacity: round(flood.rps / capacity.rps, 2),
        answered200Rps: round(flood.ok / FLOOD_SECONDS),
        refused503: flood.status503,
        otherStatuses: flood.other,
        socketErrors: flood.socketErrors,
      },
      routerRssMb: { idle: round(idleRssMb), peak: round(Math.max(...rss)) },
      healthz: {
        probes: probes.length,
        p50Ms: round(pct(probes, 0.5), 2),
        p99Ms: round(pct(probes, 0.99), 2),
        maxMs: round(Math.max(...probes), 2),
        failed: probes.filter((x) => !Number.isFinite(x)).length,
      },
      healthThread: {
        probes: healthProbes.length,
        p50Ms: round(pct(healthProbes, 0.5), 2),
        p99Ms: round(pct(healthProbes, 0.99), 2),
        maxMs: round(Math.max(...healthProbes), 2),
        failed: healthProbes.filter((x) => !Number.isFinite(x)).length,
      },
      eventLoopDelay: { p99Ms: round(lag.p99Ms, 2), maxMs: round(lag.maxMs, 2) },
      routerAlive: alive,
    };
    console.log(JSON.stringify(result));
    const dir = join(ROOT, 'test', 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'overload.json'), `${JSON.stringify(result, null, 2)}\n`);
    const f = result.flood;
    writeFileSync(
      join(dir, 'overload.md'),
      [
        '# Overload benchmark (issue 12 item 4)',
        '',
        `Measured ${result.measuredAt} (${result.mode} mode) on ${result.machine.cpu}, ${result.machine.cores} cores, Node ${result.machine.node}, 1-min load ${result.machine.loadAvg1m}.`,
        `One router (real API server, policy, HttpVmClient) in front of a no-op stand-in backend; ${result.bodyBytes} B bodies (100 KB JPEG). wrk as the client.`,
        '',
        '| figure | value |',
        '|---|---:|',
        `| capacity (32 connections, closed loop) | ${result.capacityRps} req/s |`,
        `| flood offered (${f.connections} connections, ${f.seconds} s) | ${f.offeredRps} req/s = **${f.offeredOverCapacity}x capacity** |`,
        `| answered 200 during the flood | ${f.answered200Rps} req/s |`,
        `| refused 503 (overloaded / no capacity) | ${f.refused503} |`,
        `| other statuses; socket errors (wrk: mostly the connections the router closes after a refusal) | ${JSON.stringify(f.otherStatuses)}; ${f.socketErrors} |`,
        `| router RSS idle -> peak | ${result.routerRssMb.idle} -> **${result.routerRssMb.peak} MB** |`,
        `| /healthz on the API port during the flood (${result.healthz.probes} probes, 1 connection) | p50 ${result.healthz.p50Ms} / p99 **${result.healthz.p99Ms}** / max ${result.healthz.maxMs} ms, ${result.healthz.failed} failed |`,
        `| /readyz on the health thread's port (${result.healthThread.probes} probes; what the ALB and HAProxy check) | p50 ${result.healthThread.p50Ms} / p99 **${result.healthThread.p99Ms}** / max ${result.healthThread.maxMs} ms, ${result.healthThread.failed} failed |`,
        `| router event-loop delay over the flood | p99 ${result.eventLoopDelay.p99Ms} / max ${result.eventLoopDelay.maxMs} ms |`,
        `| router alive after | ${alive ? 'yes' : 'NO'} |`,
        '',
        'On a shared 2-core machine wrk, the stand-in and the router compete for CPU: the figures are pessimistic.',
        '',
      ].join('\n'),
    );
    console.log('  results: test/bench/results/overload.json, overload.md');
  } finally {
    stop();
  }
}

/** wrk flood with a status tally (a Lua `response` hook counts 200, 503 and others). */
async function wrkFlood(
  wrk: string,
  url: URL,
  body: string,
  connections: number,
  seconds: number,
): Promise<{
  rps: number;
  ok: number;
  status503: number;
  other: Record<string, number>;
  socketErrors: number;
}> {
  const r = await wrkThroughput(wrk, url, body, connections, seconds, {
    // response() runs in each thread's Lua state, done() in the main one: counts travel by thread:get.
    luaExtra: [
      'local threads = {}',
      'function setup(thread) table.insert(threads, thread) end',
      'function init(args) counts = {} end',
      'function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end',
      'function done(summary, latency, requests)',
      '  local all = {}',
      '  for _, t in ipairs(threads) do for k, v in pairs(t:get("counts")) do all[k] = (all[k] or 0) + v end end',
      '  for k, v in pairs(all) do io.write(string.format("STATUS %d %d\\n", k, v)) end',
      'end',
    ],
  });
  const byStatus: Record<string, number> = {};
  for (const m of (r.text ?? '').matchAll(/^STATUS (\d+) (\d+)$/gm)) byStatus[m[1]!] = Number(m[2]);
  const ok = byStatus['200'] ?? 0;
  const s503 = byStatus['503'] ?? 0;
  const other = Object.fromEntries(Object.entries(byStatus).filter(([k]) => k !== '200' && k !== '503'));
  return { rps: r.rps, ok, status503: s503, other, socketErrors: r.socketErrors ?? 0 };
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
