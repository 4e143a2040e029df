/**
 * Typed, fail-fast environment readers shared by the VM server and the Lambda handler.
 * A bad value throws ServingConfigError naming the variable, the value and what is accepted.
 */
import { z } from 'zod';
import { ServingConfigError } from './errors.js';

const intFrom = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const numFrom = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, 'must be a non-negative number')
    .transform(Number)
    .pipe(z.number().min(min).max(max));

export const envInt = (def: number, min: number, max: number) => intFrom(min, max).prefault(String(def));
export const envNum = (def: number, min: number, max: number) => numFrom(min, max).prefault(String(def));

/** Parse `env` with `schema`; the first bad variable is named in the error. Unknown variables are ignored. */
export function readEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  // Empty strings count as unset, so `FOO= node ...` gets the default rather than a parse error.
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') cleaned[key] = v;
  }
  const parsed = schema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const name = String(issue?.path[0] ?? '?');
  const got = cleaned[name];
  throw new ServingConfigError(
    `environment variable ${name}${got === undefined ? ' is required' : `='${got}' is invalid`}: ${issue?.message ?? 'invalid'}`,
  );
}
