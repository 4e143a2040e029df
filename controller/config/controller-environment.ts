/**
 * The writer side of the config: the environment variables that make the controller read back a
 * given aws-world configuration. infra/constructs/controller-host.ts builds the controller host's
 * systemd environment with it, so the compiler checks the deployment against the controller's
 * schema and a bad value fails `cdk synth` rather than the host's first boot.
 */
import { ConfigError } from '../errors.js';
import { CONFIG_NAMES, describeKey } from './names.js';
import { AwsConfigSchema, type AwsConfigInput, type ConfigKey } from './schema.js';
import { describeIssues } from '../../functions/engine/zod-issues.js';

/**
 * The API key is not accepted: user data is readable by anyone who can describe the instance, so
 * the host fetches the key from Secrets Manager at boot into a root-only EnvironmentFile instead.
 */
export type ControllerEnvironmentInput = Omit<AwsConfigInput, 'world' | 'apiKey'>;

/**
 * Only the keys given are written (defaults stay in one home, the schema); values are validated
 * first. CDK tokens (subnet ids, ...) pass through as the strings they are at synth time.
 */
export function controllerEnvironment(config: ControllerEnvironmentInput): Record<string, string> {
  const input = { ...config, world: 'aws' as const };
  const r = AwsConfigSchema.safeParse(input);
  if (!r.success) {
    const msg = describeIssues(r.error.issues, { max: 10, label: (_path, i) => describeKey(String(i.path[0] ?? '')) });
    throw new ConfigError(`invalid controller configuration: ${msg}`, { cause: r.error });
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(input) as Array<[ConfigKey, unknown]>) {
    if (value === undefined) continue;
    const v = Array.isArray(value) ? value.join(',') : String(value);
    if (v.includes('\n')) throw new ConfigError(`${CONFIG_NAMES[key].env}: a value must be one line, got ${JSON.stringify(v)}`);
    out[CONFIG_NAMES[key].env] = v;
  }
  return out;
}
