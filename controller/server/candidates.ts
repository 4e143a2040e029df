/**
 * Which served variants a model-less request may go to, and what to tell the caller when none
 * may: variants that cannot take the input are taken out before selection (RouteRequest
 * acceptedVariants), and a 400 says what each candidate takes, or that only synthetic variants
 * (no published accuracy) are served and what to do about it.
 */
import {
  acceptsInput,
  describeAcceptedInput,
  describeInput,
} from '../../functions/engine/input-acceptance.js';
import type { InferInput } from '../../functions/engine/protocol.js';
import { ApiError } from './errors.js';
import type { ServedVariant } from './runtime.js';

function ofTask(served: ReadonlyMap<string, ServedVariant>, task: string): ServedVariant[] {
  return [...served.values()].filter((s) => s.info.task === task);
}

/**
 * The names of the task's served variants that accept `input`; undefined when all of them do (or
 * the task has none: the router answers that 404). Throws a 400 listing what each candidate takes
 * when none does.
 */
export function acceptedVariantsFor(
  served: ReadonlyMap<string, ServedVariant>,
  task: string,
  input: InferInput,
): ReadonlySet<string> | undefined {
  const candidates = ofTask(served, task);
  const accepting = candidates.filter((s) => acceptsInput(s.variant, input));
  if (accepting.length === candidates.length) return undefined;
  if (accepting.length === 0) {
    const takes = candidates
      .map((s) => `'${s.info.name}' takes ${describeAcceptedInput(s.variant)}`)
      .join('; ');
    throw new ApiError(
      400,
      'invalid_request',
      `input: no variant of task '${task}' accepts ${describeInput(input)}: ${takes}`,
      'input',
    );
  }
  return new Set(accepting.map((s) => s.info.name));
}

/**
 * The message for "no candidate reaches minAccuracy": when every candidate is synthetic (a fresh
 * clone without the real models), say so and what to do; else list each candidate's accuracy.
 */
export function noAccurateVariantMessage(
  served: ReadonlyMap<string, ServedVariant>,
  task: string,
  minAccuracy: number,
  accepted: ReadonlySet<string> | undefined,
): string {
  const candidates = ofTask(served, task).filter((s) => accepted === undefined || accepted.has(s.info.name));
  if (candidates.length > 0 && candidates.every((s) => s.info.weights === 'synthetic')) {
    return (
      `minAccuracy: ${minAccuracy} cannot be met: only synthetic variants are served for task '${task}' (random weights, no published accuracy); ` +
      `put the real models in ../shared/models or SPILLWAY_MODEL_DIR and restart, or send minAccuracy 0`
    );
  }
  const listed = candidates.map((s) => `${s.info.name} ${s.info.accuracyTop1 ?? 'none'}`).join(', ');
  return `minAccuracy: no variant of task '${task}'${accepted ? ' that accepts this input' : ''} has accuracyTop1 >= ${minAccuracy} (served: ${listed})`;
}
