/**
 * The health listener on its own thread (controller/server/health-thread.ts), probed by curl (a
 * real client in another process) while this test's own event loop is blocked on purpose, as a
 * flood blocks a router's: it answers at once while the block is short, and says `stalled` once
 * the block outlasts stalledAfterMs. /readyz follows setReady.
 */
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HealthThread, startHealthThread } from '../../controller/server/health-thread.js';

const HAS_CURL = spawnSync('curl', ['--version']).status === 0;

/** Starts curl now; its answer (status, body, seconds) is read once the caller's block is over. */
function curlLater(url: string): Promise<{ status: number; body: string; timeS: number }> {
  const p = spawn('curl', ['-s', '-o', '-', '-w', '\n%{http_code} %{time_total}', '--max-time', '10', url]);
  let out = '';
  p.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  return new Promise((resolve) =>
    p.on('close', () => {
      const lines = out.trim().split('\n');
      const [code, time] = lines.pop()!.split(' ');
      resolve({ status: Number(code), body: lines.join('\n'), timeS: Number(time) });
    }),
  );
}

/** Blocks this thread's event loop (what a saturated request loop does to an in-loop /healthz). */
function blockMs(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!HAS_CURL)('health listener on its own thread', () => {
  let h: HealthThread;
  let base = '';
  beforeAll(async () => {
    h = await startHealthThread({ host: '127.0.0.1', port: 0, service: 'test', stalledAfterMs: 1_000 });
    base = `http://127.0.0.1:${h.port}`;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('/readyz is 503 not-ready until setReady(true), then 200; /healthz 200 ok', async () => {
    let r = await curlLater(`${base}/readyz`);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toMatchObject({ status: 'not-ready' });
    h.setReady(true);
    r = await curlLater(`${base}/readyz`);
    expect(r.status).toBe(200);
    r = await curlLater(`${base}/healthz`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ status: 'ok', service: 'test' });
  });

  it('answers within the block while the main loop is blocked for 600 ms (an in-loop /healthz would wait it out)', async () => {
    await sleep(200); // a fresh heartbeat
    const answer = curlLater(`${base}/healthz`);
    await sleep(50); // curl is connecting
    const t0 = Date.now();
    blockMs(600);
    const blockedMs = Date.now() - t0;
    const r = await answer;
    expect(r.status).toBe(200);
    // curl's total time includes its start-up; it finished while this thread was still blocked.
    expect(r.timeS * 1000).toBeLessThan(blockedMs + 50);
  });

  it('says stalled once the main loop has been blocked longer than stalledAfterMs, and recovers', async () => {
    await sleep(200);
    blockMs(1_500);
    // The heartbeat is now ~1.5 s old: a probe started right away (before the next beat) sees it.
    const r = spawnSync('curl', ['-s', '-w', '\n%{http_code}', `${base}/healthz`], { encoding: 'utf8' });
    const [body, code] = r.stdout.trim().split('\n');
    expect(Number(code)).toBe(503);
    expect(JSON.parse(body!)).toMatchObject({ status: 'stalled' });
    await sleep(300);
    const after = await curlLater(`${base}/healthz`);
    expect(after.status).toBe(200);
  });

  it('unknown paths 404 and other methods 405, as JSON', async () => {
    expect((await curlLater(`${base}/v1/infer`)).status).toBe(404);
    const r = spawnSync(
      'curl',
      ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', `${base}/healthz`],
      { encoding: 'utf8' },
    );
    expect(r.stdout).toBe('405');
  });
});
