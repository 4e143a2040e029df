/** Shared helpers for the local adapter tests. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LambdaClient } from '@aws-sdk/client-lambda';

export const STAND_IN_HANDLER = fileURLToPath(new URL('./fixtures/stand-in-handler.ts', import.meta.url));
export const STAND_IN_SERVER = fileURLToPath(new URL('./fixtures/stand-in-server.ts', import.meta.url));
export const STUCK_HANDLER = fileURLToPath(new URL('./fixtures/stuck-handler.ts', import.meta.url));
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The SDK client exactly as an application would build it, pointed at the local runtime. No retries: a throttle must surface. */
export function lambdaClient(endpoint: string): LambdaClient {
  return new LambdaClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

/**
 * True while the process exists and is not a zombie. An orphan that exited stays a zombie until
 * pid 1 reaps it (seconds in some containers); it runs nothing and holds no port, so it counts as gone.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..." — the state letter follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no procfs (not Linux): signal 0 succeeded, so it exists
  }
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export interface Report {
  durationMs: number;
  billedMs: number;
  memoryMb: number;
  initMs?: number;
}

/** Parses the REPORT line out of X-Amz-Log-Result (base64 tail). */
export function parseReport(logResultB64: string | undefined): Report {
  const text = Buffer.from(logResultB64 ?? '', 'base64').toString('utf8');
  const line = text.split('\n').find((l) => l.startsWith('REPORT '));
  if (!line) throw new Error(`no REPORT line in log tail: ${text}`);
  const num = (label: string): number | undefined => {
    const m = new RegExp(`${label}: ([0-9.]+)`).exec(line);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  };
  const r: Report = { durationMs: num('Duration') ?? Number.NaN, billedMs: num('Billed Duration') ?? Number.NaN, memoryMb: num('Memory Size') ?? Number.NaN };
  const init = num('Init Duration');
  if (init !== undefined) r.initMs = init;
  return r;
}

export const decode = (p: Uint8Array | undefined): unknown => JSON.parse(new TextDecoder().decode(p));

/** A sample photo with its expected ImageNet top-1 label (committed samples first, then ../shared). */
export function samplePhoto(): { path: string; label: string } | undefined {
  const candidates = [join(REPO, 'functions/models/samples/ort_goldfish.jpg'), join(REPO, '../shared/models/images/ort_goldfish.jpg')];
  const path = candidates.find((p) => existsSync(p));
  return path ? { path, label: 'goldfish, Carassius auratus' } : undefined;
}

/**
 * The variant the real-handler/real-server tests use: a real pretrained model when its file is
 * available (../shared/models or $SPILLWAY_MODEL_DIR), else an architecture-faithful synthetic one
 * that the engine builds offline (real latency, meaningless predictions: only the shape is checked).
 */
export async function pickTestVariant(): Promise<{ variant: string; real: boolean }> {
  const { defaultModelDir } = await import('../../functions/engine/model-sources.js');
  const { loadRegistry } = await import('../../functions/engine/registry.js');
  const real = loadRegistry().get('mobilenet-v1-050-128-quant');
  const dir = defaultModelDir();
  if (dir && existsSync(join(dir, real.file))) return { variant: real.name, real: true };
  return { variant: 'resnet18-w025-s112-synthetic', real: false };
}
