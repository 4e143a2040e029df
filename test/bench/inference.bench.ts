/**
 * Inference serving benchmark (`npm run bench:inference`; BENCH_QUICK=1 for a short run).
 * Same model, same intra-op threads, same run, three measurements:
 *   (a) raw: onnxruntime-node session.run at batch 1 in a closed loop (the ceiling for one session)
 *   (b) VM server over loopback HTTP, 1 client, closed loop, batch 1, the same tensor as
 *       `dataBase64` (its float32 bytes: the honest wire format for a preprocessed tensor)
 *       -> serving overhead = throughput(b) / throughput(a)   (target >= 0.9)
 *   (c) VM server saturated by a few concurrent clients (2 x max batch) with dynamic batching
 *       -> throughput(c) / throughput(a)                      (target >= 1.0)
 *   (d) extra row: as (b) but the tensor as a JSON number array (~1 MB of text to parse)
 * The server runs as its own process (functions/server/main.ts, as on a VM); this process only
 * generates load: prebuilt request bytes, keep-alive sockets, replies not parsed after the first.
 * The load generator is a third process (this file with --loadgen, niced by BENCH_LOADGEN_NICE,
 * default 5); the raw session lives in this process and is idle while the HTTP phases run.
 * Results: test/bench/results/inference.json and inference.md (with the machine description and
 * the load average, since a busy machine skews every figure).
 *
 * Env: BENCH_QUICK=1, BENCH_VARIANT (default mobilenet-v2-10-int8-zoo), BENCH_THREADS (default 1),
 * BENCH_CLIENTS (default 2 x max batch), BENCH_MAX_BATCH (default 8), BENCH_MAX_WAIT_MS (default 2).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { readFileSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, freemem, loadavg, totalmem, platform, release, arch, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as hdr from 'hdr-histogram-js';
import * as ort from 'onnxruntime-node';
import { resolveModelFile } from '../../functions/engine/model-sources.js';
import { loadRegistry, repoRoot } from '../../functions/engine/registry.js';
import { ortSessionOptions } from '../../functions/engine/session-cache.js';
import { BackendInferResponseSchema } from '../../functions/engine/protocol.js';
import { parseJsonBody } from '../../functions/server/fast-json.js';
import { validateInferRequest } from '../../functions/server/validate.js';
import { pickVariant } from '../serving/helpers.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
const THREADS = Number(process.env['BENCH_THREADS'] ?? 1);
const MAX_BATCH = Number(process.env['BENCH_MAX_BATCH'] ?? 8);
/** Enough requests in flight to fill one batch while the previous one runs; more only adds client CPU. */
const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 2 * MAX_BATCH);
const MAX_WAIT_MS = Number(process.env['BENCH_MAX_WAIT_MS'] ?? 2);
/**
 * The HTTP load generator is its own process (fork of this file with --loadgen), niced by this
 * much: on a machine with spare cores it changes nothing; on an oversubscribed one (this shared
 * 2-core box) it keeps the client from taking CPU share from the server's threads, as a client on
 * another machine would. 0 disables.
 */
const LOADGEN_NICE = Number(process.env['BENCH_LOADGEN_NICE'] ?? 5);
const WARMUP_MS = QUICK ? 1_000 : 3_000;
/** Phases are interleaved in rounds (raw, single, saturated, raw, ...) so load drift on a shared
 * machine hits all three alike; ratios are reported overall and per round (median). */
// Short slices, many rounds: on a shared machine the load drifts within seconds, and finer
// interleaving lets every phase see the same mix (4 x 1 s quick, 10 x 3 s full per phase).
const ROUNDS = QUICK ? 4 : 10;
const SLICE_MS = QUICK ? 1_000 : 3_000;

interface Phase {
  name: string;
  requests: number;
  seconds: number;
  throughputRps: number;
  p50Ms: number;
  p99Ms: number;
  meanBatchSize?: number;
  cpuMsPerRequest?: number;
  /** Server: its busiest thread (the inference worker) vs the rest (HTTP, parsing, GC helpers). */
  inferenceThreadCpuMsPerRequest?: number;
  otherThreadsCpuMsPerRequest?: number;
}

function histogram() {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

function phase(name: string, h: ReturnType<typeof histogram>, requests: number, seconds: number): Phase {
  return {
    name,
    requests,
    seconds: round(seconds, 3),
    throughputRps: round(requests / seconds, 1),
    p50Ms: round(h.getValueAtPercentile(50) / 1000, 3),
    p99Ms: round(h.getValueAtPercentile(99) / 1000, 3),
  };
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

/** Deterministic pseudo-random item (a stand-in for a preprocessed photo; values in [-2, 2]). */
function makeItem(dtype: string, count: number): number[] {
  const out = new Array<number>(count);
  let s = 12345;
  for (let i = 0; i < count; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const u = s / 2 ** 32;
    // 3 decimals: what a careful client sends (full float64 text would triple the body).
    out[i] = dtype === 'uint8' ? Math.floor(u * 256) : Math.round((u * 4 - 2) * 1000) / 1000;
  }
  return out;
}

/** A measured phase: closed-loop runner called once per round, results accumulated. */
class Meter {
  readonly h = histogram();
  requests = 0;
  seconds = 0;
  /** CPU time spent by the serving side (raw: this process; server: its process, all threads). */
  cpuMs = 0;
  /** Server only: CPU of its busiest thread (the inference worker) and of all the others. */
  busiestThreadCpuMs = 0;
  otherThreadsCpuMs = 0;
  readonly perRoundRps: number[] = [];
  add(n: number, seconds: number): void {
    this.requests += n;
    this.seconds += seconds;
    this.perRoundRps.push(n / seconds);
  }
  phase(name: string): Phase {
    const p: Phase = phase(name, this.h, this.requests, this.seconds);
    if (this.cpuMs > 0) p.cpuMsPerRequest = round(this.cpuMs / this.requests, 3);
    if (this.busiestThreadCpuMs > 0) {
      p.inferenceThreadCpuMsPerRequest = round(this.busiestThreadCpuMs / this.requests, 3);
      p.otherThreadsCpuMsPerRequest = round(this.otherThreadsCpuMs / this.requests, 3);
    }
    return p;
  }
}

async function closedLoopSlice(
  ms: number,
  workers: number,
  once: () => Promise<boolean>,
  meter: Meter | undefined,
): Promise<void> {
  const end = performance.now() + ms;
  let n = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        const ok = await once();
        if (ok && meter) {
          meter.h.recordValue(Math.max(1, Math.round((performance.now() - s) * 1000)));
          n++;
        }
      }
    }),
  );
  meter?.add(n, (performance.now() - t0) / 1000);
}

async function rawRunner(modelPath: string, dtype: string, shape: number[], data: number[]) {
  const session = await ort.InferenceSession.create(modelPath, ortSessionOptions({ intraOpThreads: THREADS }));
  const typed = dtype === 'uint8' ? Uint8Array.from(data) : Float32Array.from(data);
  const tensor = new ort.Tensor(dtype as 'float32', typed as Float32Array, [1, ...shape]);
  const feeds = { [session.inputNames[0]!]: tensor };
  return {
    once: async () => {
      await session.run(feeds);
      return true;
    },
    release: () => session.release(),
  };
}

async function startServer(variant: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'functions/server/main.ts'], {
    cwd: repoRoot(),
    env: {
      ...process.env,
      PORT: '0',
      LOG_LEVEL: 'warn',
      SPILLWAY_VARIANTS: variant,
      SPILLWAY_INTRA_OP_THREADS: String(THREADS),
      SPILLWAY_MAX_BATCH: String(MAX_BATCH),
      SPILLWAY_MAX_WAIT_MS: String(MAX_WAIT_MS),
      SPILLWAY_QUEUE_LIMIT: String(Math.max(256, CLIENTS * 2)),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  const { port } = JSON.parse(line) as { port: number };
  for (let i = 0; i < 1200; i++) {
    if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return { child, port };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server never became ready');
}

function post(agent: Agent, port: number, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/infer',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function httpRunner(port: number, body: Buffer, clients: number) {
  // A fresh agent per slice: sockets idle through the other phases (longer than the server's
  // keep-alive timeout) would otherwise be reused just as the server closes them (ECONNRESET).
  let agent = new Agent({ keepAlive: true, maxSockets: clients });
  let errors = 0;
  return {
    once: async () => {
      try {
        const r = await post(agent, port, body);
        if (r.status !== 200) errors++;
        return r.status === 200;
      } catch {
        errors++;
        return false;
      }
    },
    fresh: () => {
      agent.destroy();
      agent = new Agent({ keepAlive: true, maxSockets: clients });
    },
    clients,
    errors: () => errors,
    close: () => agent.destroy(),
  };
}

async function batchStats(port: number): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const get = (k: string) => Number(text.match(new RegExp(`spillway_batch_size_${k}\\{[^}]*\\} ([\\d.e+]+)`))?.[1] ?? 0);
  return { sum: get('sum'), count: get('count') };
}

type RunnerName = 'one' | 'many' | 'json';
type LoadgenMsg =
  | { type: 'init'; port: number; clients: number; body: string; jsonBody: string }
  | { type: 'slice'; runner: RunnerName; ms: number; measure: boolean }
  | { type: 'close' };
type LoadgenReply = { type: 'ready' } | { type: 'slice'; n: number; seconds: number; latUs: number[]; errors: number };

/** Child side: keep-alive HTTP runners, driven slice by slice over IPC. */
function loadgenMain(): void {
  let runners: Record<RunnerName, ReturnType<typeof httpRunner>> | undefined;
  const reply = (r: LoadgenReply) => process.send!(r);
  process.on('message', (m: LoadgenMsg) => {
    void (async () => {
      if (m.type === 'init') {
        const body = Buffer.from(m.body);
        runners = {
          one: httpRunner(m.port, body, 1),
          many: httpRunner(m.port, body, m.clients),
          json: httpRunner(m.port, Buffer.from(m.jsonBody), 1),
        };
        reply({ type: 'ready' });
      } else if (m.type === 'slice') {
        const r = runners![m.runner];
        r.fresh();
        const before = r.errors();
        const meter = new Meter();
        const lat: number[] = [];
        const rec = { h: { recordValue: (v: number) => lat.push(v) }, add: (n: number, sec: number) => meter.add(n, sec) };
        await closedLoopSlice(m.ms, m.runner === 'many' ? r.clients : 1, r.once, m.measure ? (rec as unknown as Meter) : undefined);
        reply({ type: 'slice', n: meter.requests, seconds: meter.seconds, latUs: lat, errors: r.errors() - before });
      } else {
        for (const r of Object.values(runners ?? {})) r.close();
        process.disconnect();
      }
    })();
  });
}

/** Parent side: fork the load generator (niced), and run its slices into local meters. */
async function startLoadgen(port: number, body: Buffer, jsonBody: Buffer) {
  const child = fork(fileURLToPath(import.meta.url), ['--loadgen'], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  if (LOADGEN_NICE && child.pid) {
    try {
      setPriority(child.pid, LOADGEN_NICE);
    } catch (err) {
      console.warn(`could not renice the load generator: ${(err as Error).message}`);
    }
  }
  const next = () =>
    new Promise<LoadgenReply>((resolve, reject) => {
      const onExit = (c: number | null) => reject(new Error(`load generator exited ${c}`));
      child.once('exit', onExit);
      child.once('message', (r) => {
        child.off('exit', onExit);
        resolve(r as LoadgenReply);
      });
    });
  let errors = 0;
  const ready = next();
  child.send({ type: 'init', port, clients: CLIENTS, body: body.toString(), jsonBody: jsonBody.toString() } satisfies LoadgenMsg);
  await ready;
  return {
    async slice(runner: RunnerName, ms: number, meter: Meter | undefined): Promise<void> {
      const done = next();
      child.send({ type: 'slice', runner, ms, measure: meter !== undefined } satisfies LoadgenMsg);
      const r = await done;
      if (r.type !== 'slice') throw new Error('load generator: unexpected reply');
      errors += r.errors;
      if (meter) {
        for (const v of r.latUs) meter.h.recordValue(v);
        meter.add(r.n, r.seconds);
      }
    },
    errors: () => errors,
    close(): void {
      if (child.connected) child.send({ type: 'close' } satisfies LoadgenMsg);
      setTimeout(() => child.kill(), 2_000).unref();
    },
  };
}

/**
 * CPU time of a process (all its threads) in ms, from /proc (Linux; undefined elsewhere). Unlike
 * throughput, CPU per request hardly depends on how busy the machine is, so it shows the serving
 * overhead even when other work shares the cores. Resolution: one clock tick (10 ms at 100 Hz),
 * summed over many requests.
 */
function procCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, CLK_TCK 100 on Linux
  } catch {
    return undefined;
  }
}

/** CPU ms per thread of a process (Linux /proc/<pid>/task); empty elsewhere. */
function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, ((Number(f[11]) + Number(f[12])) * 1000) / 100);
    }
  } catch {
    // not Linux, or the process is gone: no per-thread figures
  }
  return out;
}

async function measured(
  meter: Meter,
  cpuNow: () => number | undefined,
  run: () => Promise<void>,
  threadsPid?: number,
): Promise<void> {
  const t0 = threadsPid ? threadCpuMs(threadsPid) : undefined;
  const c0 = cpuNow();
  await run();
  const c1 = cpuNow();
  if (c0 !== undefined && c1 !== undefined) meter.cpuMs += c1 - c0;
  if (t0 && threadsPid) {
    const deltas = [...threadCpuMs(threadsPid)].map(([tid, ms]) => ms - (t0.get(tid) ?? 0));
    const busiest = Math.max(0, ...deltas);
    meter.busiestThreadCpuMs += busiest;
    meter.otherThreadsCpuMs += deltas.reduce((a, b) => a + b, 0) - busiest;
  }
}

async function main(): Promise<void> {
  const registry = loadRegistry();
  const wanted = process.env['BENCH_VARIANT'];
  const name = wanted ?? pickVariant()?.name;
  if (!name) throw new Error('no servable variant (set BENCH_VARIANT)');
  const variant = registry.get(name);
  if (variant.input.dtype === 'float16') throw new Error('pick a float32 or uint8 variant for this bench');
  const shape = variant.input.shape.slice(1).map((d) => d ?? 1);
  const count = shape.reduce((a, b) => a * b, 1);
  const resolved = await resolveModelFile(variant);
  const data = makeItem(variant.input.dtype, count);
  const typed = variant.input.dtype === 'uint8' ? Uint8Array.from(data) : Float32Array.from(data);
  // Little-endian bytes of the dtype (this machine is little-endian, as every x86/ARM server is).
  const dataBase64 = Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength).toString('base64');
  const reqBody = (tensor: Record<string, unknown>) =>
    Buffer.from(JSON.stringify({ model: name, inputs: [{ tensor: { dtype: variant.input.dtype, shape, ...tensor } }], topK: 5 }));
  const body = reqBody({ dataBase64 });
  const jsonBody = reqBody({ data });
  // What the server's main thread does per request before inference can start (its own parser and
  // validator, run here in-process), and JSON.parse alone for the JSON-array body.
  const served = new Map([[name, variant]]);
  const cost = async (f: () => unknown): Promise<number> => {
    const h = histogram();
    for (let i = 0; i < (QUICK ? 20 : 100); i++) {
      const t = performance.now();
      await f();
      h.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000)));
    }
    return round(h.getValueAtPercentile(50) / 1000, 3);
  };
  const jsonText = jsonBody.toString('utf8');
  const jsonParseP50Ms = await cost(() => JSON.parse(jsonText));
  const serverPrepJsonP50Ms = await cost(() => validateInferRequest(parseJsonBody(jsonBody), served));
  const serverPrepBase64P50Ms = await cost(() => validateInferRequest(parseJsonBody(body), served));
  const loadStart = loadavg();
  console.log(
    `variant ${name} (${resolved.source}), threads ${THREADS}, body ${(body.length / 1e6).toFixed(2)} MB base64 / ${(jsonBody.length / 1e6).toFixed(2)} MB JSON, quick=${QUICK}`,
  );
  console.log(`server parse+validate p50: base64 ${serverPrepBase64P50Ms} ms, JSON ${serverPrepJsonP50Ms} ms (JSON.parse alone ${jsonParseP50Ms} ms)`);

  const rawR = await rawRunner(resolved.path, variant.input.dtype, shape, data);
  const server = await startServer(name);
  const rawM = new Meter();
  const singleM = new Meter();
  const satM = new Meter();
  const jsonM = new Meter();
  let singleBatch: number | undefined;
  let satBatch: number | undefined;
  const gen = await startLoadgen(server.port, body, jsonBody);
  try {
    const check = BackendInferResponseSchema.parse(JSON.parse((await post(new Agent(), server.port, body)).text));
    const checkJson = BackendInferResponseSchema.parse(JSON.parse((await post(new Agent(), server.port, jsonBody)).text));
    if (JSON.stringify(check.outputs) !== JSON.stringify(checkJson.outputs)) {
      throw new Error('dataBase64 and JSON data bodies gave different predictions');
    }
    // Warm-up of every path, unmeasured.
    await closedLoopSlice(WARMUP_MS, 1, rawR.once, undefined);
    await gen.slice('one', WARMUP_MS, undefined);
    await gen.slice('many', WARMUP_MS, undefined);
    await gen.slice('json', WARMUP_MS / 2, undefined);
    let singleSum = 0;
    let singleCount = 0;
    let satSum = 0;
    let satCount = 0;
    const selfCpu = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    const serverCpu = () => procCpuMs(server.child.pid!);
    for (let r = 0; r < ROUNDS; r++) {
      await measured(rawM, selfCpu, () => closedLoopSlice(SLICE_MS, 1, rawR.once, rawM));
      let m0 = await batchStats(server.port);
      await measured(singleM, serverCpu, () => gen.slice('one', SLICE_MS, singleM), server.child.pid);
      let m1 = await batchStats(server.port);
      singleSum += m1.sum - m0.sum;
      singleCount += m1.count - m0.count;
      m0 = m1;
      await measured(satM, serverCpu, () => gen.slice('many', SLICE_MS, satM), server.child.pid);
      m1 = await batchStats(server.port);
      satSum += m1.sum - m0.sum;
      satCount += m1.count - m0.count;
      await measured(jsonM, serverCpu, () => gen.slice('json', SLICE_MS / 2, jsonM), server.child.pid);
      console.log(
        `round ${r + 1}/${ROUNDS}: raw ${rawM.perRoundRps.at(-1)!.toFixed(1)} rps, 1 client ${singleM.perRoundRps.at(-1)!.toFixed(1)} rps, ${CLIENTS} clients ${satM.perRoundRps.at(-1)!.toFixed(1)} rps, 1 client JSON ${jsonM.perRoundRps.at(-1)!.toFixed(1)} rps`,
      );
    }
    singleBatch = singleCount > 0 ? round(singleSum / singleCount, 2) : undefined;
    satBatch = satCount > 0 ? round(satSum / satCount, 2) : undefined;
    const errors = gen.errors();
    if (errors > 0) console.error(`non-200 replies: ${errors}`);
  } finally {
    gen.close();
    server.child.kill('SIGTERM');
    await rawR.release();
  }
  const raw = rawM.phase('raw onnxruntime session.run, batch 1, closed loop');
  const single = { ...singleM.phase('VM server, 1 client, closed loop, batch 1, dataBase64'), meanBatchSize: singleBatch };
  const saturated = { ...satM.phase(`VM server, ${CLIENTS} clients, dynamic batching, dataBase64`), meanBatchSize: satBatch };
  const singleJson = jsonM.phase('(extra) VM server, 1 client, closed loop, JSON number array');
  const cpuRatio = (a: Phase, b: Phase) =>
    a.cpuMsPerRequest && b.cpuMsPerRequest ? round(a.cpuMsPerRequest / b.cpuMsPerRequest, 3) : Number.NaN;
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const perRound = rawM.perRoundRps.map((r, i) => ({
    singleClientVsRaw: round(singleM.perRoundRps[i]! / r, 3),
    saturatedVsRaw: round(satM.perRoundRps[i]! / r, 3),
    singleJsonVsRaw: round(jsonM.perRoundRps[i]! / r, 3),
  }));
  const loadEnd = loadavg();
  const ortVersion = (JSON.parse(readFileSync(join(repoRoot(), 'node_modules/onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;
  const result = {
    date: new Date().toISOString(),
    quick: QUICK,
    variant: name,
    weights: variant.weights,
    modelSource: resolved.source,
    intraOpThreads: THREADS,
    maxBatch: MAX_BATCH,
    maxWaitMs: MAX_WAIT_MS,
    clients: CLIENTS,
    loadgenNice: LOADGEN_NICE,
    requestBodyBytes: body.length,
    jsonRequestBodyBytes: jsonBody.length,
    jsonParseP50Ms,
    serverPrepBase64P50Ms,
    serverPrepJsonP50Ms,
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGb: round(totalmem() / 2 ** 30, 1),
      freeMemoryGb: round(freemem() / 2 ** 30, 1),
      os: `${platform()} ${release()} ${arch()}`,
      node: process.version,
      onnxruntimeNode: ortVersion,
      loadAverage1mStart: round(loadStart[0]!, 2),
      loadAverage1mEnd: round(loadEnd[0]!, 2),
    },
    phases: { raw, single, saturated, singleJson },
    rounds: ROUNDS,
    sliceMs: SLICE_MS,
    ratios: {
      singleClientVsRaw: round(single.throughputRps / raw.throughputRps, 3),
      saturatedVsRaw: round(saturated.throughputRps / raw.throughputRps, 3),
      medianPerRoundSingleClientVsRaw: median(perRound.map((r) => r.singleClientVsRaw)),
      medianPerRoundSaturatedVsRaw: median(perRound.map((r) => r.saturatedVsRaw)),
      singleClientJsonVsRaw: round(singleJson.throughputRps / raw.throughputRps, 3),
      // CPU-based, robust to a busy machine: raw CPU per run / server CPU per request (all threads).
      cpuSingleClientVsRaw: cpuRatio(raw, single),
      cpuSaturatedVsRaw: cpuRatio(raw, saturated),
      cpuSingleClientJsonVsRaw: cpuRatio(raw, singleJson),
    },
    perRound,
    targets: { singleClientVsRaw: 0.9, saturatedVsRaw: 1.0 },
  };
  const dir = join(repoRoot(), 'test/bench/results');
  mkdirSync(dir, { recursive: true });
  // The default variant writes inference.{json,md}; an explicit other BENCH_VARIANT gets its own files.
  const stem = wanted && wanted !== pickVariant()?.name ? `inference-${wanted}` : 'inference';
  writeFileSync(join(dir, `${stem}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(dir, `${stem}.md`), markdown(result));
  console.log(result.ratios);
}

function markdown(r: {
  date: string;
  quick: boolean;
  variant: string;
  weights: string;
  intraOpThreads: number;
  maxBatch: number;
  maxWaitMs: number;
  clients: number;
  loadgenNice: number;
  rounds: number;
  sliceMs: number;
  requestBodyBytes: number;
  jsonRequestBodyBytes: number;
  jsonParseP50Ms: number;
  serverPrepBase64P50Ms: number;
  serverPrepJsonP50Ms: number;
  machine: Record<string, string | number>;
  phases: Record<string, Phase>;
  ratios: Record<string, number>;
}): string {
  const rows = Object.values(r.phases)
    .map(
      (p) =>
        `| ${p.name} | ${p.throughputRps} | ${p.p50Ms} | ${p.p99Ms} | ${p.meanBatchSize ?? 1} | ${p.cpuMsPerRequest ?? '-'} | ${p.requests} |`,
    )
    .join('\n');
  const m = r.machine;
  return `# Inference serving benchmark

Run ${r.date}${r.quick ? ' (BENCH_QUICK=1: short run, indicative only)' : ''}. \`npm run bench:inference\` regenerates this file.

Variant \`${r.variant}\` (${r.weights} weights), ${r.intraOpThreads} intra-op thread(s), server max batch ${r.maxBatch},
max wait ${r.maxWaitMs} ms, ${r.clients} clients when saturated. Requests carry one preprocessed tensor as
\`dataBase64\` (its little-endian float bytes, ${(r.requestBodyBytes / 1e6).toFixed(2)} MB body); the extra row sends the same
tensor as a JSON number array (${(r.jsonRequestBodyBytes / 1e6).toFixed(2)} MB, 3 decimals per value). The server's own parse +
validate per request (p50, measured in-process): ${r.serverPrepBase64P50Ms} ms for dataBase64, ${r.serverPrepJsonP50Ms} ms for the JSON array
(JSON.parse alone: ${r.jsonParseP50Ms} ms), against the raw p50 of ${r.phases['raw']?.p50Ms} ms per inference. With one closed-loop
client nothing overlaps that work, so (b) is bounded by raw / (raw + parse + HTTP).

| phase | throughput (req/s) | p50 (ms) | p99 (ms) | mean batch | CPU ms / request | requests |
|---|---:|---:|---:|---:|---:|---:|
${rows}

- (b)/(a) single-client serving overhead ratio: **${r.ratios['singleClientVsRaw']}** (median of rounds ${r.ratios['medianPerRoundSingleClientVsRaw']}; target >= 0.9)
- (c)/(a) saturated throughput ratio: **${r.ratios['saturatedVsRaw']}** (median of rounds ${r.ratios['medianPerRoundSaturatedVsRaw']}; target >= 1.0)
- (d)/(a) extra, single client with the JSON number array: ${r.ratios['singleClientJsonVsRaw']}

CPU per request (raw: this process during the raw slices; server: its whole process, main thread
and inference worker, from /proc) is much less sensitive to other load than throughput. As
efficiency ratios (raw CPU per run / server CPU per request): with one client the server's work is
serial, so this bounds a quiet machine's (b)/(a) from above; saturated, the parsing overlaps the
inference on the second core, so it bounds (c)/(a) from below. Single client ${r.ratios['cpuSingleClientVsRaw']}, saturated with batching
${r.ratios['cpuSaturatedVsRaw']}, single client with the JSON array ${r.ratios['cpuSingleClientJsonVsRaw']}.

Per server thread (CPU ms per request, inference worker + all other threads): ${Object.values(r.phases)
  .filter((p) => p.inferenceThreadCpuMsPerRequest !== undefined)
  .map((p) => `${p.name}: ${p.inferenceThreadCpuMsPerRequest} + ${p.otherThreadsCpuMsPerRequest}`)
  .join('; ')}. The worker's share is the inference itself (compare the raw CPU per run); the rest is
the serving overhead (HTTP, parse, validate, V8 GC helpers), which at saturation runs beside the
worker on the second core.

The phases ran interleaved, ${r.rounds} rounds of ${r.sliceMs / 1000} s each, after a warm-up.

Machine: ${m['cpu']}, ${m['cores']} cores, ${m['memoryGb']} GB RAM, ${m['os']}, Node ${m['node']},
onnxruntime-node ${m['onnxruntimeNode']}. 1-minute load average ${m['loadAverage1mStart']} at start, ${m['loadAverage1mEnd']} at end
(anything near or above the core count means other work shared the CPU and the figures are pessimistic).
The server (functions/server/main.ts), the load generator (prebuilt bodies, keep-alive sockets, ${r.clients} clients at
most, replies not parsed; niced by ${r.loadgenNice}) and this process (raw session, idle during the HTTP phases) are
three separate processes.
`;
}

if (process.argv.includes('--loadgen')) loadgenMain();
else main().catch((err) => {
  console.error(err);
  process.exit(1);
});
