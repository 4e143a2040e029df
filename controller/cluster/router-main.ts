/**
 * One cluster router process (started by supervisor.ts locally, by systemd on a router-group
 * instance on AWS; cluster-env.ts reads which): the public API and
 * per-request routing of the single-process stack (createApiServer, the same dispatch), on a
 * follower policy host that routes with the newest plan from the store; its observations go to
 * the store each tick; a planner candidate runs in a worker thread (planner-worker.ts), so the
 * plan never runs on this event loop. Prints one JSON line `{"event":"router-ready",...}` on
 * stdout once it listens; SIGTERM drains it and releases the lease if its worker holds it.
 */
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Worker } from 'node:worker_threads';
import { startTsWorker } from '../../functions/server/ts-worker.js';
import type { PlanDoc } from '../coord/coordination-port.js';
import { HttpVmClient } from '../local/vm-client.js';
import { silenceSdkNodeVersionNotice } from '../node-notices.js';
import { createApiServer } from '../server/app.js';
import { makeDrainable } from '../server/drain.js';
import { healthThreadOf } from '../server/health-thread.js';
import { ApiMetrics } from '../server/metrics.js';
import { apiOptionsOf, newControllerRuntime, policyOf } from '../server/stack.js';
import { readClusterEnv } from './cluster-env.js';
import { ObservationLog } from './observation-log.js';
import { applyPlanBody, type PlanBody } from './plan-doc.js';
import { processParts } from './process-parts.js';

/** How often a router looks for a newer plan: a plan reaches every router within 250 ms. */
const PLAN_POLL_MS = 250;

async function main(): Promise<void> {
  silenceSdkNodeVersionNotice();
  const cluster = readClusterEnv(process.env);
  const { config, routerId } = cluster;
  const log = pino({ level: config.logLevel, base: { svc: 'spillway-router', router: routerId } }, pino.destination(2));
  const { served, env, store, pool, vmInternalToken, metrics } = await processParts(cluster);
  const runtime = newControllerRuntime(policyOf(config), env, served, config);
  // This router's requests (processParts: CloudWatch on AWS); sent with each observation publish.
  runtime.metricsSink = metrics;
  const flushMetrics = () =>
    metrics?.flush().catch((err: unknown) => log.warn({ err }, 'metrics: CloudWatch did not take the batch'));
  const observations = new ObservationLog();
  observations.install(runtime.host);

  const server = createApiServer({
    runtime,
    vmClient: new HttpVmClient(vmInternalToken ? { internalToken: vmInternalToken } : {}),
    pool,
    metrics: new ApiMetrics({ defaultMetrics: true }),
    log: log.child({ component: 'router' }),
    ...apiOptionsOf(config),
  });
  const drainable = makeDrainable(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Locally behind the supervisor's balancer on an ephemeral loopback port; on AWS on the
    // configured port and host the load balancer's target group points at.
    if (cluster.mode === 'aws') server.listen(config.port, config.host, () => resolve());
    // Port 0 on first start; a restarted router gets its old port back (supervisor.ts), so the balancer's backend stays valid.
    else server.listen(config.port, '127.0.0.1', () => resolve());
  });

  // ---- follow the plan
  let planVersion = 0;
  let following = false;
  const follow = setInterval(() => {
    if (following) return;
    following = true;
    store
      .readPlan()
      .then((plan: PlanDoc | undefined) => {
        if (!plan || plan.version <= planVersion) return;
        const first = planVersion === 0;
        planVersion = plan.version;
        applyPlanBody(runtime.host, plan.body as PlanBody, routerId, Date.now());
        // The first plan at info (a router follows from here on), every later one at debug.
        (first ? log.info : log.debug).call(log, { event: 'plan-applied', version: plan.version, fence: plan.fence }, 'plan applied');
      })
      .catch((err: unknown) => log.warn({ err }, 'plan: the store did not answer'))
      .finally(() => {
        following = false;
      });
  }, PLAN_POLL_MS);

  // ---- publish observations (a failed publish is retried with the next interval's events merged in)
  let seq = 0;
  let fromMs = Date.now();
  const publish = setInterval(() => {
    const toMs = Date.now();
    const doc = { routerId, seq: seq + 1, fromMs, toMs, body: observations.take() };
    void flushMetrics();
    store.publishObservations(doc).then(
      () => {
        seq = doc.seq;
        fromMs = toMs;
      },
      (err: unknown) => {
        observations.restore(doc.body);
        log.warn({ err }, 'observations: the store did not answer; kept for the next interval');
      },
    );
  }, config.tickIntervalMs);

  // ---- the planner candidate, off this event loop
  // The worker reads the same environment (a worker inherits process.env). The app bundle's banner
  // names its bundled planner-worker.mjs (infra/bundling/vm-bundle.mjs); from source, tsx loads it.
  const bundledPlanner = (globalThis as { __spillwayPlannerEntry?: string }).__spillwayPlannerEntry;
  const worker: Worker = bundledPlanner
    ? new Worker(new URL(bundledPlanner))
    : startTsWorker(new URL('./planner-worker.ts', import.meta.url), {});
  worker.on('error', (err) => log.error({ err }, 'planner worker failed'));
  worker.on('message', (m: unknown) => log.debug({ m }, 'planner worker'));

  // The balancer's health check, off this event loop (health-thread.ts); a restarted router gets its old health port back.
  const health = await healthThreadOf(config, 'spillway-router');
  health?.setReady(true);
  const port = (server.address() as AddressInfo).port;
  process.stdout.write(
    `${JSON.stringify({ event: 'router-ready', routerId, port, pid: process.pid, ...(health ? { healthPort: health.port } : {}) })}\n`,
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    health?.setReady(false);
    clearInterval(follow);
    clearInterval(publish);
    const closed = new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.postMessage('close');
      setTimeout(() => {
        void worker.terminate();
      }, 5_000).unref();
    });
    await Promise.all([closed, drainable.drain(config.drainTimeoutMs)]);
    await flushMetrics();
    await health?.close();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`spillway router: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
