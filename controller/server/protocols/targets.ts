/**
 * What a protocol's model/endpoint name means: a served variant (model-specific request) or a
 * task (model-less: Spillway picks the variant). Variant names win over task names; the 404
 * lists both so a caller sees what exists.
 */
import type { ServedVariant } from '../runtime.js';
import { ProtocolRequestError } from './protocol-error.js';

export type ProtocolTarget = { kind: 'variant'; served: ServedVariant } | { kind: 'task'; task: string };

export function servedTasks(variants: ReadonlyMap<string, ServedVariant>): string[] {
  return [...new Set([...variants.values()].map((s) => s.info.task))].sort();
}

export function findTarget(
  variants: ReadonlyMap<string, ServedVariant>,
  name: string,
): ProtocolTarget | undefined {
  const served = variants.get(name);
  if (served) return { kind: 'variant', served };
  if (servedTasks(variants).includes(name)) return { kind: 'task', task: name };
  return undefined;
}

export function resolveTarget(
  variants: ReadonlyMap<string, ServedVariant>,
  name: string,
  what: 'model' | 'endpoint',
  field: string,
): ProtocolTarget {
  const t = findTarget(variants, name);
  if (t) return t;
  throw new ProtocolRequestError(
    404,
    `unknown ${what} '${name}'; served models: ${[...variants.keys()].join(', ') || '(none)'}; ` +
      `model-less tasks: ${servedTasks(variants).join(', ') || '(none)'}`,
    field,
  );
}

/** Percent-decoding that answers 400 (not 500) on a malformed escape. */
export function decodePathSegment(raw: string, field: string): string {
  try {
    return decodeURIComponent(raw);
  } catch (err) {
    throw new ProtocolRequestError(
      400,
      `${field}: malformed percent-escape in '${raw.slice(0, 80)}'`,
      field,
      { cause: err },
    );
  }
}
