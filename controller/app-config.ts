/**
 * Typed, fail-fast reader of the controller configuration (schema: config/schema.ts), for
 * `npm start`, the deployed controller host and the in-process stack of the e2e tests. Sources,
 * lowest to highest precedence: defaults < env < CLI flags. A bad value stops start-up with a
 * ConfigError naming the variable, its flag and the accepted range.
 */
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { ConfigError } from './errors.js';
import { CONFIG_NAMES, describeKey } from './config/names.js';
import {
  type AppConfig,
  type AppConfigInput,
  AppConfigSchema,
  type AwsConfig,
  type AwsConfigInput,
  AwsConfigSchema,
  type ConfigKey,
  type LocalConfig,
  type LocalConfigInput,
  LocalConfigSchema,
} from './config/schema.js';

export {
  type AppConfig,
  type AppConfigInput,
  AppConfigSchema,
  type AwsConfig,
  type AwsConfigInput,
  AwsConfigSchema,
  type LocalConfig,
  type LocalConfigInput,
  LocalConfigSchema,
} from './config/schema.js';

const BRANCHES = { local: LocalConfigSchema, aws: AwsConfigSchema } as const;
type World = keyof typeof BRANCHES;

function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function emptyApiKeyError(name: string): ConfigError {
  return new ConfigError(
    `${name} is set but empty: that would turn API-key authentication off. Set a key of at least 8 characters, or unset ${name} to run without authentication`,
  );
}

/** `0..64` for a bounded number field of the branch, so the message says the whole accepted range. */
function acceptedRange(world: World, key: string): string | undefined {
  const field = (BRANCHES[world].shape as Record<string, z.ZodType>)[key];
  let inner: unknown = field;
  // Unwrap .default()/.optional() to the number schema, which carries minValue/maxValue.
  while (inner && typeof inner === 'object' && 'unwrap' in inner && typeof inner.unwrap === 'function') {
    inner = (inner as { unwrap(): unknown }).unwrap();
  }
  const n = inner as { minValue?: number | null; maxValue?: number | null } | undefined;
  if (typeof n?.minValue === 'number' && typeof n?.maxValue === 'number')
    return `${n.minValue}..${n.maxValue}`;
  return undefined;
}

function issueMessage(world: World, issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const other = world === 'aws' ? 'local' : 'aws';
    return issue.keys
      .map((k) => {
        const where = k in BRANCHES[other].shape ? `a setting of the ${other} world` : 'not a setting';
        return `${describeKey(k)} is ${where}, and SPILLWAY_WORLD is ${world}`;
      })
      .join('; ');
  }
  const key = String(issue.path[0] ?? '');
  if (key === 'world') return `${describeKey('world')}: expected one of ${Object.keys(BRANCHES).join(', ')}`;
  // Any issue on a bounded number (too small, too big, not a number) says the whole range.
  const range = acceptedRange(world, key);
  const item = issue.path.length > 1 ? ` (item ${String(issue.path[1])})` : '';
  return `${describeKey(key)}${item}: ${issue.message}${range ? ` (accepted: integer ${range})` : ''}`;
}

/** Validates an already-assembled object (tests, in-process stack). Throws ConfigError. */
export function parseAppConfig(input: AwsConfigInput): AwsConfig;
export function parseAppConfig(input: LocalConfigInput): LocalConfig;
export function parseAppConfig(input: AppConfigInput): AppConfig;
export function parseAppConfig(input: AppConfigInput): AppConfig {
  const withWorld = { ...input, world: input.world ?? 'local' };
  const r = AppConfigSchema.safeParse(withWorld);
  if (!r.success) {
    const world: World = withWorld.world === 'aws' ? 'aws' : 'local';
    const msg = r.error.issues.map((i) => issueMessage(world, i)).join('; ');
    throw new ConfigError(`invalid configuration: ${msg}`, { cause: r.error });
  }
  const c = r.data;
  // The planner renews its lease once per tick; a lease shorter than two ticks expires between
  // renewals whenever a tick runs late, and the routers would elect a new planner every few ticks.
  // Worked number: tick 5 s -> the lease must be >= 10 s (the default 15 s allows one late tick).
  if (c.world === 'local' && c.routers > 1 && c.leaseTtlMs < 2 * c.tickIntervalMs) {
    throw new ConfigError(
      `invalid configuration: ${CONFIG_NAMES.leaseTtlMs.env} (--${CONFIG_NAMES.leaseTtlMs.flag}) = ${c.leaseTtlMs} is shorter than two ticks (${CONFIG_NAMES.tickIntervalMs.env} = ${c.tickIntervalMs}); accepted: >= ${2 * c.tickIntervalMs}`,
    );
  }
  return c;
}

/** Reads env then CLI flags (`--port 9000 --max-vms 1`), validates, fails fast. */
export function loadAppConfig(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = []): AppConfig {
  const raw: Record<string, unknown> = {};
  const names = Object.entries(CONFIG_NAMES) as Array<[ConfigKey, (typeof CONFIG_NAMES)[ConfigKey]]>;
  // Empty values count as unset, except the API key: `SPILLWAY_API_KEY=` (a template left blank)
  // must not silently turn authentication off.
  if (env['SPILLWAY_API_KEY'] === '') throw emptyApiKeyError('SPILLWAY_API_KEY');
  for (const [key, n] of names) {
    const v = env[n.env];
    if (v !== undefined && v !== '') raw[key] = n.list ? splitList(v) : v;
  }
  const options = Object.fromEntries(names.map(([, n]) => [n.flag, { type: 'string' as const }]));
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Record<
      string,
      string | undefined
    >;
  } catch (err) {
    throw new ConfigError(`bad command line: ${(err as Error).message}`, { cause: err });
  }
  if (values['api-key'] === '') throw emptyApiKeyError('--api-key');
  for (const [key, n] of names) {
    const v = values[n.flag];
    if (v !== undefined) raw[key] = n.list ? splitList(v) : v;
  }
  return parseAppConfig(raw as AppConfigInput);
}
