/**
 * `npm start`: the embedded default. No AWS account needed: brings up the local Lambda runtime,
 * the local VM fleet, the controller API on PORT (8080) and the control loop; prints the endpoint,
 * the models (real vs synthetic) and a curl that works. SIGINT/SIGTERM: stop the loop, the server,
 * every VM process and every Lambda instance, then exit 0 (no orphans).
 * Flags mirror the env variables (see app-config.ts), e.g. `npm start -- --port 9000 --max-vms 1`.
 */
import { relative } from 'node:path';
import pino, { type Logger } from 'pino';
import type { LocalConfig } from './app-config.js';
import { startCluster } from './cluster/supervisor.js';
import { repoRoot } from '../functions/engine/registry.js';
import { loadAppConfig } from './app-config.js';
import { configHelp } from './config/help.js';
import { ConfigError } from './errors.js';
import { silenceSdkNodeVersionNotice } from './node-notices.js';
import { watchParent } from './local/watch-parent.js';
import { startStack } from './server/stack.js';

function exampleCurl(url: string, task: string, sloMs: number, apiKey: string | undefined): string {
  const photo = relative(process.cwd(), `${repoRoot()}/functions/models/samples/ort_cat.jpg`) || 'functions/models/samples/ort_cat.jpg';
  // The key itself is never printed (stdout is the service's log, e.g. journald on the host).
  const key = apiKey ? ` -H "x-api-key: $SPILLWAY_API_KEY"` : '';
  return (
    `base64 -w0 ${photo} | ` +
    `(printf '{"task":"${task}","sloMs":${sloMs},"minAccuracy":0,"input":{"image":"'; cat; printf '"}}') | ` +
    `curl -s -X POST ${url}/v1/infer -H 'content-type: application/json'${key} --data-binary @-`
  );
}

async function main(): Promise<void> {
  silenceSdkNodeVersionNotice();
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${configHelp()}\n`);
    return;
  }
  const config = loadAppConfig(process.env, argv);
  // Logs are JSON on stderr; stdout carries the human summary (and stays parseable by tests).
  const log = pino({ level: config.logLevel, base: { svc: 'spillway-controller' } }, pino.destination(2));
  const say = (s: string) => process.stdout.write(`${s}\n`);
  if (config.world === 'local' && config.routers > 1) {
    await mainCluster(config, log, say);
    return;
  }
  say(
    config.world === 'aws'
      ? `spillway: starting the aws world (fleet ${config.fleet}: EC2 ${config.instanceTypes.join(', ')} + Lambda ${config.lambdaPrefix ?? ''}*)`
      : 'spillway: starting the embedded default (local VMs + local Lambda runtime, no AWS account)',
  );
  const stack = await startStack(config, { log, onProgress: (m) => say(`  ${m}`) });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`spillway: ${signal}: stopping (loop, API, VMs, Lambda instances)...`);
    // The drain has its own bound; stopping the children after it takes a few seconds more.
    const hardMs = config.drainTimeoutMs + 20_000;
    const hard = setTimeout(() => {
      log.error(`shutdown took longer than ${hardMs} ms; exiting`);
      process.exit(1);
    }, hardMs);
    hard.unref();
    stack
      .close()
      .then(() => {
        say('spillway: stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  // Every way a supervisor or a terminal says "stop" stops everything: SIGTERM (systemd, Docker,
  // timeout), SIGINT (Ctrl-C), SIGHUP (terminal closed; npm dies of it without passing it on).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal));
  // Under `npm start`, npm dying (SIGKILL, SIGHUP) re-parents us: that is a stop too, or the API,
  // VMs and Lambda instances would keep serving as orphans and hold the port. Run directly
  // (systemd, nohup) the parent is not a supervisor wrapper, so its exit means nothing.
  if (process.env['npm_lifecycle_event'] !== undefined) watchParent(() => stop('parent process exited'));

  say(`spillway: listening on ${stack.url}`);
  say(`live dashboard: ${stack.url}/ (open it in a browser${config.apiKey ? '; it asks for the API key once' : ''})`);
  say('models:');
  for (const s of stack.served.values()) {
    const acc = s.info.accuracyTop1 === null ? 'no accuracy claim' : `top-1 ${s.info.accuracyTop1} %`;
    const w = s.variant.weights === 'real' ? 'real weights' : 'SYNTHETIC weights (real latency, meaningless predictions)';
    say(`  ${s.variant.name.padEnd(30)} ${w}, ${acc}, profile: ${s.profileSource}`);
  }
  const task = [...stack.served.values()][0]?.info.task ?? 'image-classification';
  say('try:');
  say(`  ${exampleCurl(stack.url, task, Math.max(config.sloMs, 5_000), config.apiKey)}`);
  say(`  curl -s ${stack.url}/v1/status${config.apiKey ? ` -H "x-api-key: $SPILLWAY_API_KEY"` : ''}`);
  if (config.apiKey) say('  (x-api-key is the configured API key; export SPILLWAY_API_KEY=<key> in your shell, it is not printed)');
  say(`  npx spillway replay --target ${stack.url} --trace builtin:spike --mean-rps 45 --duration 2m`);
  say(`spillway: ready (${JSON.stringify({ event: 'ready', url: stack.url })})`);
}

/** `--routers N`: the supervisor, N router processes behind HAProxy (controller/cluster/). */
async function mainCluster(config: LocalConfig, log: Logger, say: (s: string) => void): Promise<void> {
  say(`spillway: starting the local cluster (${config.routers} routers behind HAProxy, one elected planner, local VMs + Lambda)`);
  const cluster = await startCluster(config, { log, onProgress: (m) => say(`  ${m}`) });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`spillway: ${signal}: stopping (routers, balancer, VMs, Lambda instances)...`);
    const hard = setTimeout(() => process.exit(1), config.drainTimeoutMs + 30_000);
    hard.unref();
    cluster.close().then(
      () => {
        say('spillway: stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal));
  if (process.env['npm_lifecycle_event'] !== undefined) watchParent(() => stop('parent process exited'));
  say(`spillway: listening on ${cluster.url} (HAProxy -> ${cluster.routers.map((r) => `${r.id} :${r.port}`).join(', ')})`);
  say(`spillway: ready (${JSON.stringify({ event: 'ready', url: cluster.url, routers: cluster.routers.map((r) => ({ id: r.id, pid: r.pid, port: r.port })) })})`);
}

main().catch((err: unknown) => {
  const msg = err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`spillway: failed to start: ${msg}\n`);
  process.exit(1);
});
