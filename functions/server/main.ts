/**
 * VM inference server process (contract: COMMON.md "VM inference server process").
 * Wires env -> engine -> createVmServer; sleeps SPILLWAY_BOOT_DELAY_MS (stands in for EC2
 * provisioning), listens, prints exactly one JSON line {"event":"listening",...} on stdout,
 * then loads the models (/readyz turns 200). Logs go to stderr so stdout stays machine-readable.
 * SIGTERM/SIGINT: graceful drain, exit 0. A Spot VM (SPILLWAY_SPOT=1 or SPILLWAY_IMDS_ENDPOINT)
 * watches EC2's interruption notice from the listen on and drains on it (spot-notice.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { createEngine } from '../engine/engine.js';
import { loadRegistry } from '../engine/registry.js';
import { readServerEnv, spotWatchEndpoint } from './config.js';
import { SpotNoticeWatcher } from './spot-notice.js';
import { createVmServer } from './vm-server.js';
import { createWorkerEngine } from './worker-engine.js';

const log = pino({ level: process.env['LOG_LEVEL'] || 'info', base: { svc: 'spillway-vm' } }, pino.destination(2));

async function main(): Promise<void> {
  const env = readServerEnv();
  const registry = loadRegistry(env.SPILLWAY_HOME ? { home: env.SPILLWAY_HOME } : {});
  const engine =
    env.SPILLWAY_INFERENCE_THREAD === 'worker'
      ? createWorkerEngine({
          registry,
          intraOpThreads: env.SPILLWAY_INTRA_OP_THREADS,
          // Without its sessions the server can only fail requests: exit so the supervisor
          // (systemd, the local fleet) replaces it instead of it lingering "ready".
          onFatal: (err) => {
            log.fatal({ err }, 'inference worker died');
            process.exit(1);
          },
          ...(env.SPILLWAY_HOME ? { home: env.SPILLWAY_HOME } : {}),
          ...(env.SPILLWAY_MODEL_DIR ? { modelDir: env.SPILLWAY_MODEL_DIR } : {}),
        })
      : createEngine({
          registry,
          intraOpThreads: env.SPILLWAY_INTRA_OP_THREADS,
          sources: env.SPILLWAY_MODEL_DIR ? { modelDir: env.SPILLWAY_MODEL_DIR } : {},
        });
  const server = createVmServer({
    engine,
    variants: env.SPILLWAY_VARIANTS,
    maxBatch: env.SPILLWAY_MAX_BATCH,
    maxWaitMs: env.SPILLWAY_MAX_WAIT_MS,
    queueLimit: env.SPILLWAY_QUEUE_LIMIT,
    maxBodyBytes: env.SPILLWAY_MAX_BODY_BYTES,
    maxInFlightBodyBytes: env.SPILLWAY_MAX_IN_FLIGHT_BODY_BYTES,
    logger: log,
    defaultMetrics: true,
    ...(env.SPILLWAY_INSTANCE_ID ? { instanceId: env.SPILLWAY_INSTANCE_ID } : {}),
    ...(env.SPILLWAY_INTERNAL_TOKEN ? { internalToken: env.SPILLWAY_INTERNAL_TOKEN } : {}),
  });

  const imds = spotWatchEndpoint(env);
  const watcher = imds
    ? new SpotNoticeWatcher({ endpoint: imds, pollMs: env.SPILLWAY_SPOT_POLL_MS, log, onNotice: (n) => server.spotNotice(n) })
    : undefined;

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    watcher?.stop();
    log.info({ signal }, 'draining');
    server
      .drain()
      .then(() => engine.close())
      .then(() => {
        log.info('drained; exiting');
        process.exit(0);
      })
      .catch((err) => {
        log.error({ err }, 'drain failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  if (env.SPILLWAY_BOOT_DELAY_MS > 0) await sleep(env.SPILLWAY_BOOT_DELAY_MS);
  if (stopping) return;
  const addr = await server.listen(env.PORT, env.HOST);
  process.stdout.write(`${JSON.stringify({ event: 'listening', host: addr.host, port: addr.port })}\n`);
  log.info({ ...addr, variants: env.SPILLWAY_VARIANTS, intraOpThreads: env.SPILLWAY_INTRA_OP_THREADS }, 'listening');
  // Watching from the listen on: a notice that comes while the models load is reported too.
  if (watcher) {
    watcher.start();
    log.info({ imds, pollMs: env.SPILLWAY_SPOT_POLL_MS }, 'spot notice watcher started');
  }
  await server.load();
  log.info('ready');
}

main().catch((err) => {
  log.fatal({ err }, 'server failed to start');
  // Config errors name the variable; say it on stderr plainly too, for humans running it by hand.
  process.stderr.write(`spillway vm server: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
