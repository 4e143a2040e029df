/**
 * The boot steps a controller-type host runs after its bundle is unpacked, in one home for the
 * controller host and the router group: the API key fetched into a root-only env file, the systemd
 * unit with the environment the stack decided, start, and the wait for the unit's readiness route.
 */
import { type ControllerEnvironmentInput, controllerEnvironment } from '../../controller/config/controller-environment.js';
import { BUNDLE_APP, BUNDLE_NODE, readinessLines } from './app-bundle.js';
import { ROUTER_NODE_FLAGS } from '../../controller/server/router-node-flags.js';

/** State directory of the controller (and of each router) on its host (registry, profiles cache). */
export const CONTROLLER_HOME = '/var/lib/spillway';
/**
 * The health listener's port on the controller host and every router (SPILLWAY_HEALTH_PORT; not
 * 8081, the VMs' inference port, so the two rules never read alike;
 * controller/server/health-thread.ts): the ALB's target health check goes here, so it is answered
 * off the request loop and an overloaded router is not pulled from the group.
 */
export const CONTROLLER_HEALTH_PORT = 8090;

/**
 * The environment of a controller process on an EC2 host (the single controller host and every
 * router): the region, then the aws-world config (controllerEnvironment) with what every such
 * host shares: its fleet, the API port on all interfaces, the health port, the state directory.
 */
export function hostControllerEnvironment(o: {
  region: string;
  controller: ControllerEnvironmentInput;
  fleetName: string;
  port: number;
}): Record<string, string> {
  return {
    AWS_REGION: o.region,
    ...controllerEnvironment({
      ...o.controller,
      fleet: o.fleetName,
      port: o.port,
      healthPort: CONTROLLER_HEALTH_PORT,
      host: '0.0.0.0',
      home: CONTROLLER_HOME,
    }),
  };
}

export interface ControllerUnitOptions {
  /** systemd unit name, e.g. spillway-controller. */
  readonly service: string;
  readonly description: string;
  readonly apiKeySecretArn: string;
  /** Environment= lines; a `$NAME` value is the boot script's variable (the heredoc is unquoted). */
  readonly env: Readonly<Record<string, string>>;
  /** Bundle entry under app/dist, e.g. controller.mjs. */
  readonly entry: string;
  /** Local URL that answers 2xx once the service serves. */
  readonly readyUrl: string;
  /** Seconds to wait for readyUrl before the boot fails. */
  readonly readyTimeoutS: number;
}

export function controllerUnitLines(o: ControllerUnitOptions): string[] {
  const envFile = `/etc/${o.service}.env`;
  return [
    `mkdir -p ${CONTROLLER_HOME}`,
    'step api-key',
    // The API key never lands in user data nor in the boot log (set -x traces every command into
    // cloud-init's output and the EC2 console): fetched at boot straight into a root-only env file
    // through a pipe, so the trace shows the commands and never the value
    // (test/infra/user-data-secret.test.ts runs this step under bash -x).
    `(umask 077 && aws secretsmanager get-secret-value --secret-id ${o.apiKeySecretArn} --query SecretString --output text | sed 's/^/SPILLWAY_API_KEY=/' > ${envFile})`,
    'step systemd',
    `cat > /etc/systemd/system/${o.service}.service <<UNIT`,
    '[Unit]',
    `Description=${o.description}`,
    'After=network-online.target',
    '[Service]',
    `WorkingDirectory=${BUNDLE_APP}`,
    `EnvironmentFile=${envFile}`,
    ...Object.entries(o.env).map(([k, v]) => `Environment=${k}=${v}`),
    `ExecStart=${BUNDLE_NODE} ${ROUTER_NODE_FLAGS.join(' ')} ${BUNDLE_APP}/dist/${o.entry}`,
    'Restart=on-failure',
    '[Install]',
    'WantedBy=multi-user.target',
    'UNIT',
    'systemctl daemon-reload',
    'step start',
    `systemctl enable --now ${o.service}.service`,
    ...readinessLines(o.readyUrl, o.readyTimeoutS),
  ];
}
