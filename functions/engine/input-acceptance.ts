/**
 * Which inputs a variant can take, as a pure rule over its registry entry: the model-less router
 * selects only among variants that accept the request's input (a float32 [3,224,224] tensor sent
 * to a uint8 NHWC model can only fail), and a request no candidate accepts gets a 400 saying what
 * each one takes. The backends' own check (functions/server/validate.ts checkTensor) applies the
 * same conditions with field-level messages.
 */
import type { InferInput } from './protocol.js';
import type { ModelVariant } from './registry-schema.js';

type InputSide = Pick<ModelVariant, 'input' | 'preprocessing'>;

function itemShapeOf(v: InputSide): readonly (number | null)[] {
  return v.input.shape.slice(1);
}

/** True when `v` can serve `input`: an image needs image preprocessing; a tensor the model's dtype and item shape. */
export function acceptsInput(v: InputSide, input: InferInput): boolean {
  if ('image' in input) return v.preprocessing.kind === 'image';
  const t = input.tensor;
  if (t.dtype !== v.input.dtype) return false;
  const want = itemShapeOf(v);
  return t.shape.length === want.length && t.shape.every((d, i) => want[i] === null || want[i] === d);
}

/** What `v` takes, for messages: e.g. "a JPEG/PNG/WebP image or a uint8 [128,128,3] tensor". */
export function describeAcceptedInput(v: InputSide): string {
  const tensor = `a ${v.input.dtype} [${itemShapeOf(v)
    .map((d) => d ?? '?')
    .join(',')}] tensor`;
  return v.preprocessing.kind === 'image' ? `a JPEG/PNG/WebP image or ${tensor}` : `${tensor} (no images)`;
}

/** The request's input, for messages: "an image" or "a float32 [3,224,224] tensor". */
export function describeInput(input: InferInput): string {
  return 'image' in input ? 'an image' : `a ${input.tensor.dtype} [${input.tensor.shape.join(',')}] tensor`;
}
