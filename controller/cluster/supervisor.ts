/**
 * `npm start -- --routers N` (N > 1): the local cluster. This process owns what must outlive any
 * router or planner, as AWS's services do for the deployed cluster:
 *   - the coordination store (controller/coord/local-store-server.ts): lease, plan, observations;
 *   - the local Lambda runtime and the local VM fleet (the single-process stack's createWorld),
 *     the fleet behind the fence-checking fleet service (fleet-service.ts);
 *   - N router processes (router-main.ts), each with a planner candidate in a worker thread;
 *   - HAProxy on the public port (haproxy.ts), health-checking the routers on /healthz.
 * A router that dies is not restarted here (the balancer routes around it; a planner it hosted is
 * replaced through the lease). close() stops the routers (each drains and releases the lease),
 * then the balancer, the fleet, the Lambda runtime and the store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ROUTER_NODE_FLAGS } from '../server/router-node-flags.js';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import type { LocalConfig } from '../app-config.js';
import { startLocalStoreServer, type LocalStoreServer } from '../coord/local-store-server.js';
import { createWorld, servedVariantsOf } from '../server/stack.js';
import { CLUSTER_ENV, type LocalClusterHandover, ROUTER_MODE_ENV } from './cluster-env.js';
import { startFleetService, type FleetService } from './fleet-service.js';
import { startHaproxy, type Haproxy } from './haproxy.js';
import { nextRestart, type RestartState } from './restart-backoff.js';

export interface RouterProcess {
  id: string;
  pid: number;
  port: number;
  /** Its health listener's port (health-thread.ts), which HAProxy checks. */
  healthPort: number | undefined;
  child: ChildProcess;
  /** Times the supervisor restarted this router after it died (pid and child are the current ones). */
  restarts: number;
}

export interface Cluster {
  url: string;
  routers: RouterProcess[];
  store: LocalStoreServer;
  fleetService: FleetService;
  served: string[];
  close(): Promise<void>;
}

const ROUTER_READY_TIMEOUT_MS = 60_000;

export async function startCluster(
  config: LocalConfig,
  o: { log: Logger; onProgress?: (m: string) => void; /** Each router's stderr line (logs); default: inherited. */ routerStderr?: (routerId: string, line: string) => void },
): Promise<Cluster> {
  const progress = o.onProgress ?? ((m: string) => o.log.info(m));
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c().catch((err: unknown) => o.log.warn({ err }, 'cluster shutdown step failed'));
  };
  try {
    const home = config.home;
    // Builds missing model files once, here, before any router starts.
    const served = await servedVariantsOf(config, progress);
    const names = [...served.keys()];
    const childEnv: Record<string, string> = {};
    if (home) childEnv['SPILLWAY_HOME'] = home;
    if (config.modelDir) childEnv['SPILLWAY_MODEL_DIR'] = config.modelDir;
    const world = await createWorld(config, names, childEnv, progress, closers);
    const token = world.internalToken!;
    const store = await startLocalStoreServer({ token });
    closers.push(() => store.close());
    const fleetService = await startFleetService({ fleet: world.fleet, store: store.store, internalToken: token });
    closers.push(() => fleetService.close());

    const routers: RouterProcess[] = [];
    let stopping = false;
    const stopRouters = async () => {
      stopping = true;
      await Promise.all(routers.map((r) => stopChild(r.child, config.drainTimeoutMs + 10_000)));
    };
    closers.push(stopRouters);
    progress(`starting ${config.routers} router processes (each with a planner candidate; one holds the lease)...`);
    for (let i = 1; i <= config.routers; i++) {
      const cluster: LocalClusterHandover = {
        routerId: `router-${i}`,
        storeUrl: store.endpoint,
        fleetUrl: fleetService.url,
        lambdaEndpoint: world.lambdaEndpoint,
        token,
        // Each router's health check answers on its own thread and port (ephemeral, reported back).
        config: { ...config, port: 0, host: '127.0.0.1', healthPort: 0 },
      };
      const r = await startRouter(cluster, o.routerStderr);
      routers.push(r);
      // A router that dies is started again on the same port, so HAProxy's health check takes it
      // back without a reload; its planner candidate rejoins the lease race.
      superviseRouter(
        r,
        { ...cluster, config: { ...cluster.config, port: r.port, ...(r.healthPort !== undefined ? { healthPort: r.healthPort } : {}) } },
        () => stopping,
        o,
      );
    }
    const haproxy: Haproxy = await startHaproxy({
      host: config.host,
      port: config.port,
      backends: routers.map((r) => ({ name: r.id, port: r.port, ...(r.healthPort !== undefined ? { healthPort: r.healthPort } : {}) })),
      timeoutMs: config.backendTimeoutMs + 5_000,
    });
    // Closers run in reverse: the balancer stops after the routers have drained behind it.
    closers.splice(closers.indexOf(stopRouters), 0, () => haproxy.close());
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    return { url: `http://${host}:${haproxy.port}`, routers, store, fleetService, served: names, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

async function startRouter(cluster: LocalClusterHandover, onStderr?: (routerId: string, line: string) => void): Promise<RouterProcess> {
  const child = spawn(process.execPath, [...ROUTER_NODE_FLAGS, '--import', 'tsx', new URL('./router-main.ts', import.meta.url).pathname], {
    env: { ...process.env, [ROUTER_MODE_ENV]: 'local', [CLUSTER_ENV]: JSON.stringify(cluster) },
    stdio: ['ignore', 'pipe', onStderr ? 'pipe' : 'inherit'],
  });
  if (onStderr) createInterface({ input: child.stderr! }).on('line', (line) => onStderr(cluster.routerId, line));
  const lines = createInterface({ input: child.stdout! });
  return new Promise<RouterProcess>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cluster.routerId} did not start within ${ROUTER_READY_TIMEOUT_MS} ms`)), ROUTER_READY_TIMEOUT_MS);
    child.once('exit', (code) => reject(new Error(`${cluster.routerId} exited with ${code} before it was ready`)));
    lines.on('line', (line) => {
      try {
        const m = JSON.parse(line) as { event?: string; port?: number; healthPort?: number };
        if (m.event === 'router-ready' && m.port) {
          clearTimeout(timer);
          resolve({ id: cluster.routerId, pid: child.pid!, port: m.port, healthPort: m.healthPort, child, restarts: 0 });
        }
      } catch {
        // not a JSON line
      }
    });
  });
}

/** Restarts `r` whenever its process exits while the cluster is not stopping (restart-backoff.ts decides when). */
function superviseRouter(
  r: RouterProcess,
  cluster: LocalClusterHandover,
  stopping: () => boolean,
  o: { log: Logger; routerStderr?: (routerId: string, line: string) => void },
): void {
  let state: RestartState = { youngDeaths: 0 };
  const watch = (child: ChildProcess, startedAtMs: number) => {
    child.once('exit', (code, signal) => {
      if (stopping()) return;
      const step = nextRestart(state, Date.now() - startedAtMs);
      state = step.next;
      o.log.warn({ event: 'router-died', router: r.id, code, signal, restartInMs: step.delayMs }, `${r.id} exited (${signal ?? code}); restarting in ${step.delayMs} ms`);
      const again = () => {
        if (stopping()) return;
        startRouter(cluster, o.routerStderr).then(
          (fresh) => {
            if (stopping()) {
              fresh.child.kill('SIGTERM');
              return;
            }
            r.child = fresh.child;
            r.pid = fresh.pid;
            r.restarts++;
            o.log.info({ event: 'router-restarted', router: r.id, pid: r.pid, port: fresh.port, restarts: r.restarts }, `${r.id} restarted (pid ${r.pid})`);
            watch(fresh.child, Date.now());
          },
          (err: unknown) => {
            o.log.warn({ err, router: r.id }, `${r.id} did not restart; trying again`);
            const retry = nextRestart(state, 0);
            state = retry.next;
            setTimeout(again, retry.delayMs).unref();
          },
        );
      };
      setTimeout(again, step.delayMs).unref();
    });
  };
  watch(r.child, Date.now());
}

function stopChild(child: ChildProcess, hardMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const hard = setTimeout(() => child.kill('SIGKILL'), hardMs);
    child.once('exit', () => {
      clearTimeout(hard);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
