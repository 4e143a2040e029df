/**
 * The model registry: every variant Spillway can serve. Read by the engine, the profiler,
 * the simulator, the local stack and the CDK stacks.
 *
 * Where it lives: the built-in entries are in functions/models/registry.json (committed);
 * variants added with `spillway models add` go to $SPILLWAY_HOME/registry.json
 * (default <repo>/.spillway/registry.json). `loadRegistry()` (registry.ts) merges both.
 *
 * CONTRACT: other modules code against this schema; change it only compatibly.
 */
import { z } from 'zod';
import { TensorDtypeSchema } from './protocol.js';
import { variantNameProblem } from './variant-name.js';

export const ImagePreprocessingSchema = z.strictObject({
  kind: z.literal('image'),
  /** Square crop side S fed to the model. */
  size: z.number().int().positive(),
  /** Shorter side resized to this (bilinear) before the centre crop: round(S/0.875), e.g. 256 for 224. */
  resizeShorterTo: z.number().int().positive(),
  colorOrder: z.enum(['RGB', 'BGR']),
  /**
   * Pixel transform, applied per channel in colorOrder, on 0..255 values:
   * out = (x * scale - mean[c]) / std[c]. ImageNet torch style: scale 1/255, mean [.485,.456,.406],
   * std [.229,.224,.225]. Raw uint8 models: scale 1, mean 0, std 1.
   */
  scale: z.number(),
  mean: z.tuple([z.number(), z.number(), z.number()]),
  std: z.tuple([z.number(), z.number(), z.number()]),
});

export const ModelVariantSchema = z.strictObject({
  /**
   * Unique variant name, e.g. 'mobilenetv2-12-int8'. Used in URLs, file names and Lambda function
   * names: the rule (characters, length with the function prefix) is variant-name.ts's.
   */
  name: z.string().superRefine((name, ctx) => {
    const problem = variantNameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  /** Task the caller names in a model-less request, e.g. 'image-classification'. */
  task: z.string().min(1),
  /** ONNX file name, resolved through the model sources (model-sources.ts). */
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  sizeBytes: z.number().int().positive().optional(),
  /** 'synthetic' = built offline with seeded random weights: latency/memory real, predictions not. */
  weights: z.enum(['real', 'synthetic']),
  architecture: z.string(),
  /** Approximate compute per input, for documentation and sanity checks (GFLOPs, multiply-adds x2). */
  gflops: z.number().positive().optional(),
  input: z.strictObject({
    name: z.string(),
    dtype: TensorDtypeSchema,
    /** Shape with the batch dimension first; null = dynamic. A fixed batch of 1 disables batching. */
    shape: z.array(z.number().int().positive().nullable()),
    layout: z.enum(['NCHW', 'NHWC', 'other']),
  }),
  preprocessing: z.union([ImagePreprocessingSchema, z.strictObject({ kind: z.literal('none') })]),
  output: z.strictObject({
    name: z.string(),
    dtype: TensorDtypeSchema,
    /** logits -> softmax; probabilities -> as is; uint8-probabilities -> value/255. */
    kind: z.enum(['logits', 'probabilities', 'uint8-probabilities']),
    /** Output index of class 0 (1 for MobileNetV1's leading 'background'). */
    classOffset: z.number().int().min(0),
    numClasses: z.number().int().positive(),
  }),
  /** Label file name (one label per line, 'wnid name' or just 'name'), resolved like the model file. */
  labels: z.string().optional(),
  accuracy: z.strictObject({
    /** Published top-1 in percent, or null when none is published. */
    top1: z.number().min(0).max(100).nullable(),
    source: z.string(),
    /**
     * 'these-weights': published for this file's weights (or their exact parent).
     * 'architecture': the architecture's published figure; THESE weights are synthetic and do not reach it.
     * 'user': supplied by the user with `spillway models add --accuracy`.
     */
    appliesTo: z.enum(['these-weights', 'architecture', 'user']),
  }),
  /** Where the real file can be downloaded (model zoo), checked against sha256. Optional. */
  downloadUrl: z.string().url().optional(),
  /** For synthetic variants: the builder recipe, so any machine can rebuild the identical file. */
  synthetic: z.strictObject({ recipe: z.string(), seed: z.number().int() }).optional(),
  license: z.string().optional(),
});
export type ModelVariant = z.infer<typeof ModelVariantSchema>;

export const RegistryFileSchema = z.strictObject({
  schemaVersion: z.literal(1),
  variants: z.array(ModelVariantSchema),
});
export type RegistryFile = z.infer<typeof RegistryFileSchema>;
