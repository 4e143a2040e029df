/**
 * makeDrainable on a real node:http server with real keep-alive clients: clients in a tight request
 * loop across the drain get complete answers (200 or 503 shutting_down) and, once the listener is
 * closed, ECONNREFUSED; never a reset. Repeated, because the race it guards against (a request
 * written into an idle keep-alive socket as the server closes it) is a matter of timing.
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { makeDrainable } from '../../controller/server/drain.js';

type Outcome = { kind: 'answer'; status: number } | { kind: 'error'; code: string };

function get(port: number, agent: Agent): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ kind: 'answer', status: res.statusCode ?? 0 }));
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ kind: 'error', code: e.code ?? e.message }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ kind: 'error', code: e.code ?? e.message }));
    req.end();
  });
}

async function oneDrain(): Promise<Outcome[]> {
  // Answers after 0-3 ms, like a fast backend: sockets go idle and are reused all the time.
  const server = createServer((_req, res) => {
    setTimeout(() => res.end('ok'), Math.floor(Math.random() * 4));
  });
  const drainable = makeDrainable(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const agent = new Agent({ keepAlive: true, maxSockets: 6 });
  const outcomes: Outcome[] = [];
  const worker = async () => {
    for (;;) {
      const o = await get(port, agent);
      outcomes.push(o);
      if (o.kind === 'error') return;
    }
  };
  const workers = Array.from({ length: 6 }, worker);
  while (outcomes.length < 200) await new Promise((r) => setTimeout(r, 5));
  const result = await drainable.drain(5_000);
  await Promise.all(workers);
  agent.destroy();
  expect(result.abandoned).toBe(0);
  return outcomes;
}

describe('drain: keep-alive clients in a loop see answers or a refused connection, never a reset', () => {
  it('10 drains x 6 looping clients', async () => {
    for (let i = 0; i < 10; i++) {
      const outcomes = await oneDrain();
      const errors = outcomes.filter((o): o is Extract<Outcome, { kind: 'error' }> => o.kind === 'error');
      expect(errors.filter((e) => e.code !== 'ECONNREFUSED')).toEqual([]);
      const answers = outcomes.filter((o): o is Extract<Outcome, { kind: 'answer' }> => o.kind === 'answer');
      expect(answers.every((a) => a.status === 200 || a.status === 503)).toBe(true);
    }
  }, 60_000);
});
