/**
 * Reads an ONNX file's input/output signature with onnxruntime-node (the same runtime that will
 * serve it, so "it loads here" means "it can be served"), and turns a user's add request plus
 * that signature into a registry entry, refusing what Spillway cannot serve with a message that
 * says what is wrong and what would work.
 */
import * as ort from 'onnxruntime-node';
import { type TensorDtype, TensorDtypeSchema } from '../../functions/engine/protocol.js';
import { type ModelVariant, ModelVariantSchema } from '../../functions/engine/registry-schema.js';
import { variantNameProblem } from '../../functions/engine/variant-name.js';
import { ModelRejectedError } from './errors.js';

export interface TensorSignature {
  name: string;
  /** ORT type name ('float32', 'uint8', 'int64', ...), or 'non-tensor'. */
  type: string;
  /** Dims: number = fixed, string = symbolic; -1 or 0 are treated as unknown. */
  shape: ReadonlyArray<number | string>;
}

export interface OnnxSignature {
  inputs: TensorSignature[];
  outputs: TensorSignature[];
}

function toSig(m: ort.InferenceSession.ValueMetadata): TensorSignature {
  return m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] };
}

/** Loads the file in a throw-away session (1 thread) and returns its signature. */
export async function inspectOnnx(path: string): Promise<OnnxSignature> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (err) {
    throw new ModelRejectedError(
      `${path} is not a loadable ONNX model for onnxruntime-node: ${(err as Error).message.split('\n')[0]}`,
      { cause: err },
    );
  }
  try {
    return { inputs: session.inputMetadata.map(toSig), outputs: session.outputMetadata.map(toSig) };
  } finally {
    await session.release();
  }
}

export const PREPROCESS_PRESETS = ['imagenet-torch', 'imagenet-caffe-bgr', 'raw-uint8', 'none'] as const;
export type PreprocessPreset = (typeof PREPROCESS_PRESETS)[number];
export const OUTPUT_KINDS = ['logits', 'probabilities', 'uint8-probabilities'] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

/** What the user asked for (CLI flags or a manifest), before looking at the file. */
export interface AddSpec {
  name: string;
  task: string;
  /** Accuracy top-1 in percent (0..100), or null when the user has no figure. */
  accuracyTop1: number | null;
  accuracySource: string;
  preprocess?: PreprocessPreset;
  /** Square input side S; must agree with the file when its dims are fixed. */
  size?: number;
  architecture?: string;
  outputKind?: OutputKind;
  classOffset?: number;
  /** Label file name as it will be stored (resolved like the model file). */
  labels?: string;
  /** Lines in the label file, to infer a class offset of 1 (a leading 'background' output). */
  labelCount?: number;
  license?: string;
  gflops?: number;
  /** A full preprocessing block (manifest only); overrides `preprocess`, checked against the file. */
  preprocessing?: ModelVariant['preprocessing'];
}

/** Checks the request alone (no file): name (the registry's own rule), accuracy range, size. */
export function checkAddSpec(spec: AddSpec): void {
  const nameProblem = variantNameProblem(spec.name);
  if (nameProblem) throw new ModelRejectedError(`--name: ${nameProblem}`);
  if (!spec.task.trim()) throw new ModelRejectedError('task must not be empty (e.g. --task image-classification)');
  if (spec.accuracyTop1 !== null && !(Number.isFinite(spec.accuracyTop1) && spec.accuracyTop1 >= 0 && spec.accuracyTop1 <= 100)) {
    throw new ModelRejectedError(
      `accuracy ${spec.accuracyTop1} is out of range: top-1 accuracy is a percentage from 0 to 100 (e.g. --accuracy 68.3)`,
    );
  }
  if (spec.accuracyTop1 !== null && !spec.accuracySource.trim()) {
    throw new ModelRejectedError('an accuracy figure needs its source (--accuracy-source "where it was published or measured")');
  }
  if (spec.size !== undefined && !(Number.isInteger(spec.size) && spec.size > 0 && spec.size <= 4096)) {
    throw new ModelRejectedError(`size ${spec.size} must be a whole number of pixels from 1 to 4096`);
  }
}

function isFixed(d: number | string | undefined): d is number {
  return typeof d === 'number' && d > 0;
}

function describeShape(shape: ReadonlyArray<number | string>): string {
  return `[${shape.map((d) => (typeof d === 'string' ? `'${d}'` : String(d))).join(', ')}]`;
}

const IMAGE_PRESETS = {
  'imagenet-torch': { colorOrder: 'RGB', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  'imagenet-caffe-bgr': { colorOrder: 'BGR', scale: 1, mean: [103.939, 116.779, 123.68], std: [1, 1, 1] },
  'raw-uint8': { colorOrder: 'RGB', scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
} as const;

/**
 * The registry entry for `file` (name in $SPILLWAY_HOME/models) from the request and the file's
 * signature. Throws ModelRejectedError naming the first thing Spillway cannot serve.
 */
export function variantFromSignature(
  spec: AddSpec,
  sig: OnnxSignature,
  file: { name: string; sha256: string; sizeBytes: number },
): ModelVariant {
  checkAddSpec(spec);
  if (sig.inputs.length !== 1 || sig.outputs.length !== 1) {
    throw new ModelRejectedError(
      `the model has ${sig.inputs.length} input(s) (${sig.inputs.map((i) => i.name).join(', ')}) and ` +
        `${sig.outputs.length} output(s) (${sig.outputs.map((o) => o.name).join(', ')}); Spillway serves models with exactly one input and one output`,
    );
  }
  const input = sig.inputs[0]!;
  const output = sig.outputs[0]!;
  for (const [role, t] of [
    ['input', input],
    ['output', output],
  ] as const) {
    if (!TensorDtypeSchema.safeParse(t.type).success) {
      throw new ModelRejectedError(
        `${role} '${t.name}' has type ${t.type}; supported tensor types are ${TensorDtypeSchema.options.join(', ')}`,
      );
    }
    if (t.shape.length < 2) {
      throw new ModelRejectedError(
        `${role} '${t.name}' has shape ${describeShape(t.shape)}; expected a batch dimension first and at least one more`,
      );
    }
    const badDim = t.shape.findIndex((d, i) => i > 0 && !isFixed(d));
    if (badDim > 0) {
      throw new ModelRejectedError(
        `${role} '${t.name}' has shape ${describeShape(t.shape)}: dimension ${badDim} is not a fixed number; only the batch dimension (0) may be dynamic`,
      );
    }
    if (isFixed(t.shape[0]) && t.shape[0] !== 1) {
      throw new ModelRejectedError(
        `${role} '${t.name}' has a fixed batch of ${t.shape[0]}; Spillway needs batch 1 or a dynamic batch dimension`,
      );
    }
  }
  const inDtype = input.type as TensorDtype;
  const outDtype = output.type as TensorDtype;
  const dims = input.shape.slice(1) as number[];

  const preset: PreprocessPreset =
    spec.preprocessing?.kind === 'none'
      ? 'none'
      : (spec.preprocess ?? (dims.length === 3 ? (inDtype === 'uint8' ? 'raw-uint8' : 'imagenet-torch') : 'none'));
  let layout: ModelVariant['input']['layout'] = 'other';
  let preprocessing: ModelVariant['preprocessing'] = { kind: 'none' };
  if (preset !== 'none') {
    if (input.shape.length !== 4) {
      throw new ModelRejectedError(
        `--preprocess ${preset} needs a rank-4 image input ([batch, 3, H, W] or [batch, H, W, 3]); '${input.name}' has shape ${describeShape(input.shape)} (use --preprocess none to send raw tensors)`,
      );
    }
    let side: number;
    if (dims[0] === 3 && dims[1] === dims[2]) {
      layout = 'NCHW';
      side = dims[1]!;
    } else if (dims[2] === 3 && dims[0] === dims[1]) {
      layout = 'NHWC';
      side = dims[0]!;
    } else {
      throw new ModelRejectedError(
        `input '${input.name}' has shape ${describeShape(input.shape)}; image preprocessing needs 3 channels and a square image, NCHW [batch, 3, S, S] or NHWC [batch, S, S, 3]`,
      );
    }
    if (spec.size !== undefined && spec.size !== side) {
      throw new ModelRejectedError(`--size ${spec.size} does not match the model's input side ${side} (shape ${describeShape(input.shape)})`);
    }
    if (preset === 'raw-uint8' && inDtype !== 'uint8') {
      throw new ModelRejectedError(`--preprocess raw-uint8 needs a uint8 input; '${input.name}' is ${inDtype} (try imagenet-torch)`);
    }
    if (preset !== 'raw-uint8' && inDtype === 'uint8') {
      throw new ModelRejectedError(`--preprocess ${preset} produces floats; '${input.name}' is uint8 (use raw-uint8)`);
    }
    const custom = spec.preprocessing?.kind === 'image' ? spec.preprocessing : undefined;
    if (custom && custom.size !== side) {
      throw new ModelRejectedError(`preprocessing.size ${custom.size} does not match the model's input side ${side}`);
    }
    const p = IMAGE_PRESETS[preset];
    preprocessing = custom ?? {
      kind: 'image',
      size: side,
      resizeShorterTo: Math.round(side / 0.875),
      colorOrder: p.colorOrder,
      scale: p.scale,
      mean: [...p.mean],
      std: [...p.std],
    };
  }

  const numOut = (output.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const classOffset = spec.classOffset ?? (spec.labelCount !== undefined && numOut === spec.labelCount + 1 ? 1 : 0);
  const numClasses = numOut - classOffset;
  if (numClasses < 1) throw new ModelRejectedError(`output '${output.name}' has ${numOut} values; class offset ${classOffset} leaves none`);
  if (spec.labelCount !== undefined && spec.labelCount !== numClasses) {
    throw new ModelRejectedError(
      `the label file has ${spec.labelCount} lines but the model has ${numClasses} classes (output ${describeShape(output.shape)}, class offset ${classOffset})`,
    );
  }
  const variant: ModelVariant = {
    name: spec.name,
    task: spec.task,
    file: file.name,
    sha256: file.sha256,
    sizeBytes: file.sizeBytes,
    weights: 'real',
    architecture: spec.architecture ?? 'user-supplied',
    ...(spec.gflops !== undefined ? { gflops: spec.gflops } : {}),
    input: {
      name: input.name,
      dtype: inDtype,
      shape: input.shape.map((d, i) => (i === 0 ? (isFixed(d) ? d : null) : (d as number))),
      layout,
    },
    preprocessing,
    output: {
      name: output.name,
      dtype: outDtype,
      kind: spec.outputKind ?? (outDtype === 'uint8' ? 'uint8-probabilities' : 'logits'),
      classOffset,
      numClasses,
    },
    ...(spec.labels ? { labels: spec.labels } : {}),
    accuracy: { top1: spec.accuracyTop1, source: spec.accuracySource || 'none given', appliesTo: 'user' },
    ...(spec.license ? { license: spec.license } : {}),
  };
  const parsed = ModelVariantSchema.safeParse(variant);
  if (!parsed.success) throw new ModelRejectedError(`the resulting registry entry is invalid: ${parsed.error.message}`);
  return parsed.data;
}

/** The ImageNet-1k label file shipped in functions/models (found there first, see resolveLabels). */
export const IMAGENET_LABELS_FILE = 'imagenet_synset.txt';
const IMAGENET_CLASSES = 1000;

/**
 * Labels for an add request without --labels. An image classifier with 1,000 classes (or 1,001
 * outputs: a leading 'background', as TF-slim models have) is almost always an ImageNet-1k one,
 * so the shipped ImageNet labels are the useful default; the caller must be told (a model trained
 * on other 1,000 classes would answer with wrong names). Any other shape: undefined (answers are
 * class indices).
 */
export function defaultLabels(spec: AddSpec, sig: OnnxSignature): { labels: string; labelCount: number } | undefined {
  if (spec.labels !== undefined || spec.labelCount !== undefined) return undefined;
  if (spec.task !== 'image-classification' || sig.outputs.length !== 1) return undefined;
  if (spec.preprocess === 'none' || spec.preprocessing?.kind === 'none') return undefined;
  const dims = sig.outputs[0]!.shape.slice(1);
  if (dims.length === 0 || !dims.every(isFixed)) return undefined;
  const values = (dims as number[]).reduce((a, b) => a * b, 1);
  const classes = spec.classOffset !== undefined ? values - spec.classOffset : values === IMAGENET_CLASSES + 1 ? IMAGENET_CLASSES : values;
  return classes === IMAGENET_CLASSES ? { labels: IMAGENET_LABELS_FILE, labelCount: IMAGENET_CLASSES } : undefined;
}
