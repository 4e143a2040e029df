/**
 * Every way `npm start` is told to stop stops everything: a signal sent to the npm process ONLY
 * (what systemd, Docker and `timeout` do: no process group) - SIGTERM, SIGINT, SIGHUP, and npm
 * killed outright (SIGKILL: the controller notices it was orphaned). After each, every process
 * under npm (controller, Lambda instances, VM servers) is gone within a bound and the port is
 * free. SIGTERM under load: the drain answers every accepted request completely (no ECONNRESET).
 * Real processes on loopback.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../../functions/engine/registry.js';
import { SMALL_VARIANT } from './helpers.js';
import { alive, descendants, freePort, killTree, portFree, waitUntil } from './process-tree.js';

const BODY = JSON.stringify({
  task: 'image-classification',
  sloMs: 10_000,
  minAccuracy: 0,
  input: { image: readFileSync(`${repoRoot()}/functions/models/samples/ort_cat.jpg`).toString('base64') },
});

type Outcome = { kind: 'answer'; status: number; complete: boolean } | { kind: 'error'; code: string };

/** One POST on a keep-alive agent; an answer counts as complete when its JSON body parses. */
function infer(port: number, agent: Agent): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/infer',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => {
          let complete = true;
          try {
            JSON.parse(text);
          } catch {
            complete = false;
          }
          resolve({ kind: 'answer', status: res.statusCode ?? 0, complete });
        });
        res.on('error', (e: NodeJS.ErrnoException) => resolve({ kind: 'error', code: e.code ?? e.message }));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ kind: 'error', code: e.code ?? e.message }));
    req.end(BODY);
  });
}

let child: ChildProcess | undefined;
afterEach(() => {
  if (child?.pid) killTree(child.pid);
  child = undefined;
});

async function startNpm(port: number): Promise<{ npm: ChildProcess; out: () => string }> {
  const npm = spawn('npm', ['start', '--silent'], {
    cwd: repoRoot(),
    // Own process group so nothing the test runner does reaches it; signals go to npm's pid only.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: String(port),
      SPILLWAY_VARIANTS: SMALL_VARIANT,
      SPILLWAY_VM_BOOT_DELAY_MS: '500',
      SPILLWAY_TICK_MS: '1000',
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
  const ready = await waitUntil(() => text.includes('spillway: ready'), 90_000);
  expect(ready, text).toBe(true);
  return { npm, out: () => text };
}

describe.each(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGKILL'] as const)(
  'npm start, %s to the npm pid only',
  (signal) => {
    it('stops the controller and every child, frees the port', async () => {
      const port = await freePort();
      const { npm, out } = await startNpm(port);
      const agent = new Agent({ keepAlive: true });
      // One request so a Lambda instance (a child process) exists.
      const first = await infer(port, agent);
      expect(first).toMatchObject({ kind: 'answer', status: 200, complete: true });
      const tree = descendants(npm.pid!);
      // sh is exec'd away: npm -> controller -> at least one Lambda instance.
      expect(tree.length, out()).toBeGreaterThanOrEqual(2);
      agent.destroy();
      process.kill(npm.pid!, signal);
      const allGone = await waitUntil(() => tree.every((p) => !alive(p)), 30_000);
      expect(tree.filter(alive), out()).toEqual([]);
      expect(allGone).toBe(true);
      expect(await waitUntil(() => portFree(port), 5_000)).toBe(true);
      // The last line can reach the pipe after the processes are gone (a busy machine reads it late).
      await waitUntil(() => out().includes('spillway: stopped'), 10_000);
      expect(out()).toContain('spillway: stopped');
    }, 150_000);
  },
);

describe('npm start, SIGTERM under load', () => {
  // Under CI load this used to see 2 resets: server.close() closed idle keep-alive sockets while a
  // worker was writing its next request into one. drain.ts now lingers on idle sockets instead.
  it('drains: every accepted request gets a complete answer, none is reset', async () => {
    const port = await freePort();
    const { npm, out } = await startNpm(port);
    const agent = new Agent({ keepAlive: true, maxSockets: 6 });
    const outcomes: Outcome[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const o = await infer(port, agent);
        outcomes.push(o);
        // The listener is closed: nothing more can be accepted.
        if (o.kind === 'error' && o.code === 'ECONNREFUSED') break;
      }
    };
    const workers = Array.from({ length: 6 }, worker);
    await waitUntil(
      () => outcomes.filter((o) => o.kind === 'answer' && o.status === 200).length >= 20,
      60_000,
    );
    const before = outcomes.length;
    process.kill(npm.pid!, 'SIGTERM');
    await waitUntil(() => npm.exitCode !== null || npm.signalCode !== null, 40_000);
    stop = true;
    await Promise.all(workers);
    agent.destroy();
    const during = outcomes.slice(before);
    const resets = outcomes.filter((o) => o.kind === 'error' && o.code !== 'ECONNREFUSED');
    expect(resets, out()).toEqual([]);
    const answers = outcomes.filter((o): o is Extract<Outcome, { kind: 'answer' }> => o.kind === 'answer');
    expect(answers.every((a) => a.complete)).toBe(true);
    // Accepted requests are answered 200 (served), 503 shutting_down (arrived on an open connection
    // mid-drain) or 504 deadline_exceeded: on a CI machine running the whole suite on 2 cores, eight
    // parallel Lambda cold starts of the synthetic models can take longer than the 10 s budget, and
    // cutting a request at its deadline is the documented answer. Anything else (500, 502) is a defect.
    const odd = answers.map((a) => a.status).filter((s) => s !== 200 && s !== 503 && s !== 504);
    expect(odd, out()).toEqual([]);
    // Requests in flight at the signal were served, not dropped.
    expect(during.some((o) => o.kind === 'answer' && o.status === 200)).toBe(true);
    expect(out()).toContain('spillway: stopped');
  }, 150_000);
});
