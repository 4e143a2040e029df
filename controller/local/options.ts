/** Parses adapter options with zod and turns a failure into a ConfigError naming each field. */
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { describeIssues } from '../../functions/engine/zod-issues.js';

export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw new ConfigError(`invalid ${what} options: ${describeIssues(r.error.issues)}`, { cause: r.error });
}
