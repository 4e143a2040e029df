/**
 * `npm start -- --routers 3` exactly as the README documents it (controller/main.ts -> mainCluster):
 * the supervisor, three router processes and HAProxy come up and print one ready line; curl (a
 * real third-party client) is answered through the balancer; each router answers on its own port;
 * SIGTERM to the npm pid stops every process under it and frees the port. A lease shorter than two
 * ticks is refused at start with the variable named. Real processes on loopback; needs HAProxy
 * (`.ci/run` installs it), so outside CI it skips when HAProxy is missing.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { haproxyAvailable } from '../../controller/cluster/haproxy.js';
import { repoRoot } from '../../functions/engine/registry.js';
import { alive, descendants, freePort, killTree, portFree, waitUntil } from './process-tree.js';

const run = promisify(execFile);
const HAVE_HAPROXY = haproxyAvailable();

let child: ChildProcess | undefined;
afterEach(() => {
  if (child?.pid) killTree(child.pid);
  child = undefined;
});

function startNpm(args: string[], port: number): { npm: ChildProcess; out: () => string } {
  const npm = spawn('npm', ['start', '--silent', '--', ...args], {
    cwd: repoRoot(),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: String(port),
      SPILLWAY_LAMBDA_WARM_AT_START: '0',
      SPILLWAY_LOG_LEVEL: 'warn',
    },
  });
  child = npm;
  let text = '';
  npm.stdout!.on('data', (c: Buffer) => {
    text += c.toString();
  });
  npm.stderr!.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return { npm, out: () => text };
}

describe.skipIf(!HAVE_HAPROXY && !process.env['CI'])('npm start -- --routers 3', () => {
  it('serves through HAProxy and three routers; SIGTERM stops all of them', async () => {
    const port = await freePort();
    const { npm, out } = startNpm(['--routers', '3', '--tick-ms', '1000', '--lease-ttl-ms', '3000'], port);
    expect(await waitUntil(() => out().includes('spillway: ready'), 120_000), out()).toBe(true);
    const readyLine = out()
      .split('\n')
      .find((l) => l.startsWith('spillway: ready'))!;
    const ready = JSON.parse(readyLine.slice(readyLine.indexOf('{'), readyLine.lastIndexOf('}') + 1)) as {
      url: string;
      routers: Array<{ id: string; pid: number; port: number }>;
    };
    expect(ready.url).toBe(`http://127.0.0.1:${port}`);
    expect(ready.routers).toHaveLength(3);
    expect(new Set(ready.routers.map((r) => r.pid)).size).toBe(3);
    for (const r of ready.routers) {
      expect(alive(r.pid)).toBe(true);
      const h = await fetch(`http://127.0.0.1:${r.port}/healthz`);
      expect(h.status, `router ${r.id} /healthz`).toBe(200);
    }

    // curl through the balancer, the body from a file as a user would send it.
    const bodyFile = join(tmpdir(), `spillway-routers-${port}.json`);
    const image = readFileSync(join(repoRoot(), 'functions', 'models', 'samples', 'ort_cat.jpg')).toString(
      'base64',
    );
    writeFileSync(
      bodyFile,
      JSON.stringify({
        task: 'image-classification',
        sloMs: 10_000,
        minAccuracy: 0,
        acceptLate: true,
        input: { image },
      }),
    );
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) {
      const { stdout } = await run(
        'curl',
        [
          '-s',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '-H',
          'content-type: application/json',
          '--data-binary',
          `@${bodyFile}`,
          `${ready.url}/v1/infer`,
        ],
        { timeout: 30_000 },
      );
      statuses.push(Number(stdout));
    }
    expect(statuses, out()).toEqual(Array(9).fill(200));

    const tree = descendants(npm.pid!);
    for (const r of ready.routers) expect(tree).toContain(r.pid);
    process.kill(npm.pid!, 'SIGTERM');
    expect(await waitUntil(() => tree.every((p) => !alive(p)), 40_000), out()).toBe(true);
    expect(await waitUntil(() => portFree(port), 5_000)).toBe(true);
    await waitUntil(() => out().includes('spillway: stopped'), 10_000);
    expect(out()).toContain('spillway: stopped');
  }, 180_000);
});

describe('npm start -- --routers 3, bad lease', () => {
  it('refuses a lease shorter than two ticks, naming the variable and the accepted range', async () => {
    const port = await freePort();
    const { npm, out } = startNpm(['--routers', '3', '--tick-ms', '1000', '--lease-ttl-ms', '1500'], port);
    await waitUntil(() => npm.exitCode !== null, 60_000);
    expect(npm.exitCode).toBe(1);
    expect(out()).toMatch(
      /SPILLWAY_LEASE_TTL_MS \(--lease-ttl-ms\) = 1500 is shorter than two ticks.*accepted: >= 2000/,
    );
  }, 90_000);
});
