/**
 * Graceful shutdown of the real server process: spawn functions/server/main.ts as a child (as
 * LOCAL and systemd do), queue N concurrent requests, SIGTERM while they are still queued: every
 * accepted request gets 200, new connections are refused (or answered 503 'draining'), the
 * process exits 0. Also checks the listening line and the boot delay contract.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../../functions/engine/registry.js';
import { NO_MODEL_MSG, SERVED, samples } from './helpers.js';

const served = SERVED;
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function spawnServer(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'functions/server/main.ts'], {
    cwd: repoRoot(),
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += String(d);
  });
  const lines = createInterface({ input: child.stdout! });
  const stdoutLines: string[] = [];
  const listening = new Promise<{ event: string; host: string; port: number }>((resolve, reject) => {
    lines.on('line', (l) => {
      stdoutLines.push(l);
      if (stdoutLines.length === 1) resolve(JSON.parse(l));
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code} before listening: ${stderr}`)));
  });
  return { child, listening, stdoutLines, stderr: () => stderr };
}

function httpPost(port: number, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/v1/infer', method: 'POST', agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let data = '';
        res.on('data', (d) => {
          data += String(d);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function queueDepth(port: number, model: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = text.match(new RegExp(`spillway_queue_depth\\{model="${model}"\\} (\\d+)`));
  return m ? Number(m[1]) : 0;
}

describe.skipIf(!served)(`server process drain (${served?.name ?? NO_MODEL_MSG})`, () => {
  const model = served!.name;

  it('SIGTERM mid-way: accepted requests all get 200, new connections are refused, exit 0', async () => {
    const srv = await spawnServer({ SPILLWAY_VARIANTS: model, SPILLWAY_MAX_BATCH: '1', SPILLWAY_MAX_WAIT_MS: '0' });
    const addr = await srv.listening;
    expect(addr).toEqual({ event: 'listening', host: '127.0.0.1', port: addr.port });
    for (let i = 0; i < 600 && (await fetch(`http://127.0.0.1:${addr.port}/readyz`)).status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const photo = samples()[0]!;
    const body = JSON.stringify({ model, inputs: [{ image: photo.bytes.toString('base64') }], topK: 3 });
    const N = 8;
    let done = 0;
    const replies = Array.from({ length: N }, () =>
      httpPost(addr.port, body).then((r) => {
        done++;
        return r;
      }),
    );
    // SIGTERM once every request has been accepted (answered, queued, or the one running) and
    // most are still queued: that is "mid-way".
    for (let i = 0; i < 2000; i++) {
      const depth = await queueDepth(addr.port, model);
      if (done + depth >= N - 1 && depth >= 2) break;
      if (done === N) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const exited = once(srv.child, 'exit');
    const doneAtSigterm = done;
    srv.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 50));
    const late = await httpPost(addr.port, body).catch((e: NodeJS.ErrnoException) => ({ status: 0, body: e.code ?? '' }));
    if (late.status !== 0) {
      expect(late.status).toBe(503);
      expect(JSON.parse(late.body).error.code).toBe('draining');
    } else expect(late.body).toMatch(/ECONNREFUSED|ECONNRESET/);
    const results = await Promise.all(replies);
    expect(results.map((r) => r.status)).toEqual(Array(N).fill(200));
    expect(done).toBe(N);
    expect(doneAtSigterm).toBeLessThan(N - 1); // really mid-way: at least 2 were still queued or running
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(srv.stdoutLines).toHaveLength(1); // exactly one JSON line on stdout
  });

  it('waits SPILLWAY_BOOT_DELAY_MS before listening; bad env fails fast naming the variable', async () => {
    const srv = await spawnServer({ SPILLWAY_VARIANTS: model, SPILLWAY_BOOT_DELAY_MS: '300' });
    const t0 = Date.now();
    await srv.listening;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300); // lower bound only: the contract's sleep happened
    srv.child.kill('SIGTERM');
    const [code] = await once(srv.child, 'exit');
    expect(code).toBe(0);

    const bad = await spawnServer({ SPILLWAY_VARIANTS: model, SPILLWAY_QUEUE_LIMIT: 'lots' });
    await expect(bad.listening).rejects.toThrow(/SPILLWAY_QUEUE_LIMIT='lots' is invalid/);
    expect(bad.child.exitCode).toBe(1);
  });
});
