/** Parses adapter options with zod and turns a failure into a ConfigError naming each field. */
import type { z } from 'zod';
import { ConfigError } from '../errors.js';

export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new ConfigError(`invalid ${what} options: ${issues}`, { cause: r.error });
}
