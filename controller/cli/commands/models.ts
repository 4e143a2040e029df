/**
 * `spillway models add FILE.onnx --task T --name N --accuracy A --accuracy-source S [...]`
 * `spillway models add --manifest m.json`
 * `spillway models list [--json]`
 * `spillway models remove NAME`
 *
 * Wiring only: the checks, copying, profiling and registration live in profiles/lib/add-model.ts.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { TensorDtypeSchema } from '../../../functions/engine/protocol.js';
import { loadRegistry, spillwayHome } from '../../../functions/engine/registry.js';
import { ImagePreprocessingSchema, type ModelVariant } from '../../../functions/engine/registry-schema.js';
import { VARIANT_NAME_MAX_CHARS } from '../../../functions/engine/variant-name.js';
import { addModel } from '../../../profiles/lib/add-model.js';
import { ModelRejectedError } from '../../../profiles/lib/errors.js';
import { type AddSpec, OUTPUT_KINDS, PREPROCESS_PRESETS } from '../../../profiles/lib/inspect.js';
import { formatModelTable, modelRows } from '../../../profiles/lib/list-models.js';
import { loadProfiles } from '../../../profiles/lib/load.js';
import { removeModel } from '../../../profiles/lib/remove-model.js';
import { registerVerify } from './models-verify.js';
import { describeIssues } from '../../../functions/engine/zod-issues.js';

/** A manifest is a ModelVariant-like JSON; file and labels paths are relative to the manifest's folder. */
const ManifestSchema = z.strictObject({
  name: z.string(),
  task: z.string(),
  file: z.string().min(1),
  labels: z.string().optional(),
  architecture: z.string().optional(),
  gflops: z.number().positive().optional(),
  license: z.string().optional(),
  weights: z.literal('real').optional(),
  preprocess: z.enum(PREPROCESS_PRESETS).optional(),
  preprocessing: z.union([ImagePreprocessingSchema, z.strictObject({ kind: z.literal('none') })]).optional(),
  size: z.number().int().positive().optional(),
  /** Optional: when given, must match the file's signature. */
  input: z
    .strictObject({
      name: z.string(),
      dtype: TensorDtypeSchema,
      shape: z.array(z.number().int().positive().nullable()),
      layout: z.enum(['NCHW', 'NHWC', 'other']),
    })
    .optional(),
  output: z
    .strictObject({
      name: z.string().optional(),
      dtype: TensorDtypeSchema.optional(),
      kind: z.enum(OUTPUT_KINDS).optional(),
      classOffset: z.number().int().min(0).optional(),
      numClasses: z.number().int().positive().optional(),
    })
    .optional(),
  accuracy: z.strictObject({
    top1: z.number().nullable(),
    source: z.string(),
    appliesTo: z.literal('user').optional(),
  }),
});
type Manifest = z.infer<typeof ManifestSchema>;

interface AddFlags {
  manifest?: string;
  task?: string;
  name?: string;
  accuracy?: string;
  accuracySource?: string;
  labels?: string;
  preprocess?: AddSpec['preprocess'];
  size?: number;
  architecture?: string;
  outputKind?: AddSpec['outputKind'];
  classOffset?: number;
  license?: string;
  replace?: boolean;
  allowDuplicate?: boolean;
  sloMs: number;
  json?: boolean;
}

function intArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number, got '${value}'`);
  return n;
}

function parseAccuracy(value: string | undefined): number | null {
  if (value === undefined) throw new ModelRejectedError('--accuracy is required (a top-1 percentage 0..100, or "none")');
  if (value.trim().toLowerCase() === 'none') return null;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) {
    throw new ModelRejectedError(`--accuracy '${value}' is not a number: give a top-1 percentage 0..100, or "none"`);
  }
  return n;
}

function readManifest(path: string): { spec: AddSpec; file: string; labels?: string; manifest: Manifest } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ModelRejectedError(`manifest ${path} is not readable JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ModelRejectedError(`manifest ${path} is invalid: ${describeIssues(parsed.error.issues)}`);
  }
  const m = parsed.data;
  const base = dirname(resolve(path));
  const spec: AddSpec = {
    name: m.name,
    task: m.task,
    accuracyTop1: m.accuracy.top1,
    accuracySource: m.accuracy.source,
    ...(m.preprocess ? { preprocess: m.preprocess } : {}),
    ...(m.preprocessing ? { preprocessing: m.preprocessing } : {}),
    ...(m.size !== undefined ? { size: m.size } : {}),
    ...(m.architecture ? { architecture: m.architecture } : {}),
    ...(m.output?.kind ? { outputKind: m.output.kind } : {}),
    ...(m.output?.classOffset !== undefined ? { classOffset: m.output.classOffset } : {}),
    ...(m.license ? { license: m.license } : {}),
    ...(m.gflops !== undefined ? { gflops: m.gflops } : {}),
  };
  return {
    spec,
    file: resolve(base, m.file),
    ...(m.labels ? { labels: resolve(base, m.labels) } : {}),
    manifest: m,
  };
}

/** Fields a manifest states about the file must be what the file actually has. */
function checkManifestAgainst(m: Manifest, v: ModelVariant): void {
  const mismatches: string[] = [];
  if (m.input) {
    if (m.input.name !== v.input.name) mismatches.push(`input.name '${m.input.name}' vs file '${v.input.name}'`);
    if (m.input.dtype !== v.input.dtype) mismatches.push(`input.dtype ${m.input.dtype} vs file ${v.input.dtype}`);
    if (JSON.stringify(m.input.shape) !== JSON.stringify(v.input.shape)) {
      mismatches.push(`input.shape ${JSON.stringify(m.input.shape)} vs file ${JSON.stringify(v.input.shape)}`);
    }
    if (m.input.layout !== v.input.layout) mismatches.push(`input.layout ${m.input.layout} vs file ${v.input.layout}`);
  }
  if (m.output?.name !== undefined && m.output.name !== v.output.name) {
    mismatches.push(`output.name '${m.output.name}' vs file '${v.output.name}'`);
  }
  if (m.output?.dtype !== undefined && m.output.dtype !== v.output.dtype) {
    mismatches.push(`output.dtype ${m.output.dtype} vs file ${v.output.dtype}`);
  }
  if (m.output?.numClasses !== undefined && m.output.numClasses !== v.output.numClasses) {
    mismatches.push(`output.numClasses ${m.output.numClasses} vs file ${v.output.numClasses}`);
  }
  if (mismatches.length) throw new ModelRejectedError(`the manifest does not match the model file: ${mismatches.join('; ')}`);
}

async function runAdd(file: string | undefined, flags: AddFlags): Promise<void> {
  let spec: AddSpec;
  let sourcePath: string;
  let labelsPath: string | undefined;
  let manifest: Manifest | undefined;
  if (flags.manifest) {
    if (file) throw new ModelRejectedError('give either FILE.onnx with flags or --manifest, not both');
    const m = readManifest(flags.manifest);
    spec = m.spec;
    sourcePath = m.file;
    labelsPath = m.labels;
    manifest = m.manifest;
  } else {
    if (!file) throw new ModelRejectedError('missing FILE.onnx (or use --manifest m.json)');
    if (!flags.name) throw new ModelRejectedError('--name is required');
    if (!flags.task) throw new ModelRejectedError('--task is required (e.g. image-classification)');
    const accuracyTop1 = parseAccuracy(flags.accuracy);
    spec = {
      name: flags.name,
      task: flags.task,
      accuracyTop1,
      accuracySource: flags.accuracySource ?? '',
      ...(flags.preprocess ? { preprocess: flags.preprocess } : {}),
      ...(flags.size !== undefined ? { size: flags.size } : {}),
      ...(flags.architecture ? { architecture: flags.architecture } : {}),
      ...(flags.outputKind ? { outputKind: flags.outputKind } : {}),
      ...(flags.classOffset !== undefined ? { classOffset: flags.classOffset } : {}),
      ...(flags.license ? { license: flags.license } : {}),
    };
    sourcePath = resolve(file);
    labelsPath = flags.labels ? resolve(flags.labels) : undefined;
  }
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar(
        { stream: process.stderr, format: `profiling ${spec.name} [{bar}] {value}/{total} cells`, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let started = false;
  const outcome = await addModel({
    spec,
    sourcePath,
    ...(labelsPath ? { labelsPath } : {}),
    replace: Boolean(flags.replace),
    allowDuplicate: Boolean(flags.allowDuplicate),
    referenceSloMs: flags.sloMs,
    onProgress: (done, total) => {
      if (!bar) return;
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.update(done);
    },
    ...(manifest ? { beforeCopy: (v) => checkManifestAgainst(manifest, v) } : {}),
  });
  bar?.stop();
  const b1 = outcome.profile.measurements.find((m) => m.batchSize === 1 && m.intraOpThreads === 1);
  // Said on stderr too with --json, so a script's JSON stays clean and a person still sees them.
  for (const n of outcome.notices) console.error(`note: ${n}`);
  for (const w of outcome.warnings) console.error(`warning: ${w}`);
  if (flags.json) {
    const { variant, profilePath, modelPath, notices, warnings } = outcome;
    console.log(JSON.stringify({ variant, profilePath, modelPath, notices, warnings }, null, 2));
    return;
  }
  const v = outcome.variant;
  console.log(`added '${v.name}' (${v.task}, weights real, top-1 ${v.accuracy.top1 ?? 'none'} from the user: ${v.accuracy.source})`);
  console.log(`  input  ${v.input.name} ${v.input.dtype}[${v.input.shape.map((d) => d ?? 'N').join(',')}] ${v.input.layout}, preprocessing ${v.preprocessing.kind === 'image' ? `image ${v.preprocessing.size}px ${v.preprocessing.colorOrder}` : 'none (tensor inputs only)'}`);
  console.log(`  output ${v.output.name} ${v.output.dtype} ${v.output.kind}, ${v.output.numClasses} classes`);
  console.log(`  file   ${outcome.modelPath}`);
  console.log(
    `  profile ${outcome.profilePath}: p50 ${b1?.p50Ms ?? '?'} ms at batch 1 / 1 thread, session load ${outcome.profile.sessionLoadMs} ms, fit MAPE ${outcome.profile.latencyModel.fitMapePct} %`,
  );
}

function runRemove(name: string): void {
  const outcome = removeModel(name, { home: spillwayHome() });
  console.log(`removed '${outcome.name}' from ${join(spillwayHome(), 'registry.json')}`);
  for (const f of outcome.deleted) console.log(`  deleted ${f}`);
  for (const f of outcome.kept) console.log(`  kept ${f} (another variant uses it)`);
}

function runList(flags: { json?: boolean }): void {
  const home = spillwayHome();
  const rows = modelRows(loadRegistry({ home }), loadProfiles({ home }), home);
  if (flags.json) console.log(JSON.stringify(rows, null, 2));
  else console.log(formatModelTable(rows));
}

export function register(program: Command): void {
  const models = program.command('models').description('List, add, remove and verify model variants');

  models
    .command('add')
    .description('Add an ONNX model: check it, copy it to $SPILLWAY_HOME/models, profile it, register it')
    .argument('[file]', 'the .onnx file (omit with --manifest)')
    .option('--manifest <file>', 'a ModelVariant-like JSON describing the model (paths relative to it)')
    .option('--task <task>', 'task callers name, e.g. image-classification')
    .option('--name <name>', `variant name: a-z 0-9 - _, at most ${VARIANT_NAME_MAX_CHARS} characters (part of the Lambda function name)`)
    .option('--accuracy <top1>', 'published or measured top-1 accuracy in percent (0..100), or "none"')
    .option('--accuracy-source <text>', 'where the accuracy figure comes from')
    .option('--labels <file>', 'label file, one label per line')
    .addOption(new Option('--preprocess <preset>', 'input preprocessing').choices([...PREPROCESS_PRESETS]))
    .option('--size <pixels>', 'square input side (must match the model)', intArg)
    .option('--architecture <text>', 'architecture description', undefined)
    .addOption(new Option('--output-kind <kind>', 'what the output holds').choices([...OUTPUT_KINDS]))
    .option('--class-offset <n>', 'output index of class 0 (1 when output 0 is "background")', intArg)
    .option('--license <text>', 'license of the weights')
    .option('--replace', 're-add over an existing user variant of the same name')
    .option('--allow-duplicate', 'register a file that is already registered under another name (same sha256)')
    .option('--slo-ms <ms>', 'reference SLO for the profile estimates', (v) => Number(v), 200)
    .option('--json', 'print the registered entry as JSON')
    .action(async (file: string | undefined, flags: AddFlags) => {
      try {
        await runAdd(file, flags);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        console.error(`spillway models add: refused: ${msg}`);
        process.exitCode = 2;
      }
    });

  models
    .command('remove')
    .description('Remove a user-added variant: its registry entry, its profile and the files `models add` copied')
    .argument('<name>', 'the variant name')
    .action((name: string) => {
      try {
        runRemove(name);
      } catch (err) {
        console.error(`spillway models remove: refused: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = 2;
      }
    });

  models
    .command('list')
    .description('List registered variants with accuracy, input, measured latency and file source')
    .option('--json', 'machine-readable output')
    .action((flags: { json?: boolean }) => runList(flags));

  registerVerify(models);
}
