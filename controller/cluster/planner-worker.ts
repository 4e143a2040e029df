/**
 * The planner candidate of one router process, in a worker thread (router-main.ts starts it):
 * every tick one ClusterPlanner.step() (lease, then plan if held), never overlapping. The message
 * 'close' gives the lease up and ends the thread. It reads the router's own environment
 * (cluster-env.ts), so both run one configuration.
 */
import pino from 'pino';
import { parentPort } from 'node:worker_threads';
import { readClusterEnv } from './cluster-env.js';
import { ClusterPlanner } from './planner.js';
import { processParts } from './process-parts.js';

async function run(): Promise<void> {
  const cluster = readClusterEnv(process.env);
  const { config, routerId } = cluster;
  const log = pino({ level: config.logLevel, base: { svc: 'spillway-planner', router: routerId } }, pino.destination(2));
  const parts = await processParts(cluster);
  const planner = new ClusterPlanner({
    plannerId: routerId,
    store: parts.store,
    config,
    env: parts.env,
    served: parts.served,
    fleetFor: parts.fleetFor,
    pool: parts.pool,
    log,
    leaseTtlMs: parts.leaseTtlMs,
    ...(parts.metrics ? { metrics: parts.metrics } : {}),
  });
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  parentPort?.on('message', (m: unknown) => {
    if (m !== 'close' || stopped) return;
    stopped = true;
    void current.then(() => planner.close()).finally(() => process.exit(0));
  });
  while (!stopped) {
    const startedMs = Date.now();
    current = planner.step();
    await current;
    await new Promise((r) => setTimeout(r, Math.max(0, config.tickIntervalMs - (Date.now() - startedMs))));
  }
}

run().catch((err: unknown) => {
  process.stderr.write(`spillway planner worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
