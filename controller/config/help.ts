/**
 * `npm start -- --help`: every option with its flag, its env variable and its default, generated
 * from the one schema and the one name table, so the help cannot drift from what is read.
 */
import { CONFIG_NAMES } from './names.js';
import { AwsConfigSchema, type ConfigKey, LocalConfigSchema } from './schema.js';

function shown(v: unknown): string {
  if (v === undefined) return '(unset)';
  if (Array.isArray(v)) return v.length === 0 ? '(all)' : v.join(',');
  return String(v);
}

export function configHelp(): string {
  const local = LocalConfigSchema.shape as Record<string, unknown>;
  const aws = AwsConfigSchema.shape as Record<string, unknown>;
  const localDefaults = LocalConfigSchema.parse({ world: 'local' }) as Record<string, unknown>;
  const lines = [
    'usage: npm start -- [--flag value ...]   (each flag also reads its env variable; flags win)',
    '',
    '  flag                         env variable                     default (local world)',
  ];
  for (const [key, n] of Object.entries(CONFIG_NAMES) as Array<[ConfigKey, (typeof CONFIG_NAMES)[ConfigKey]]>) {
    const where = key in local ? (key in aws ? '' : ' [local world]') : ' [aws world]';
    const def = key in local ? shown(localDefaults[key]) : '';
    lines.push(`  --${n.flag.padEnd(27)} ${n.env.padEnd(32)} ${def}${where}${n.list ? ' (comma-separated)' : ''}`);
  }
  lines.push('', 'Ranges and meanings: controller/config/schema.ts. A bad value stops start-up with a message naming it.');
  return lines.join('\n');
}
