/**
 * `spillway models verify [NAME...] [--json] [--record [--force]]`: runs each variant (or NAME) on
 * every backend kind of the local world, the VM inference server and the Lambda handler, over the
 * sample photos (functions/models/samples, plus ../shared/models/images when present), and
 * reports per variant the top-1 agreement between the backends and with the variant's recorded
 * reference answers, plus this CPU's instruction-set class. Exit code 1 when a variant disagrees,
 * 2 when verify cannot run (unknown NAME, a named variant without a model file, a record that exists without --force).
 * The result per variant goes to $SPILLWAY_HOME/verify.json, which `models list` and
 * `GET /v1/models` show. Wiring only: judging is profiles/lib/verify.ts, running the backends
 * controller/local/backend-answers.ts, references profiles/lib/reference-store.ts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { cpuIsa, isaKey } from '../../../functions/engine/cpu-isa.js';
import { resolveModelFile } from '../../../functions/engine/model-sources.js';
import { referenceAnswersPath } from '../../../functions/engine/reference-answers.js';
import {
  builtinModelsDir,
  builtinVariants,
  loadRegistry,
  sharedPath,
  spillwayHome,
} from '../../../functions/engine/registry.js';
import type { ModelVariant } from '../../../functions/engine/registry-schema.js';
import { VerifyError } from '../../../profiles/lib/errors.js';
import { onnxruntimeVersion } from '../../../profiles/lib/machine.js';
import {
  loadAllReferences,
  recordReference,
  roundedAnswers,
  userReferencePath,
} from '../../../profiles/lib/reference-store.js';
import {
  formatVerifyTable,
  judgeVariant,
  toVerifyEntry,
  type VariantVerdict,
} from '../../../profiles/lib/verify.js';
import { type VerifyEntry, writeVerifyEntries } from '../../../profiles/lib/verify-store.js';
import { type SampleInput, startBackendAnswers } from '../../local/backend-answers.js';

interface VerifyFlags {
  json?: boolean;
  record?: boolean;
  force?: boolean;
}

const IMAGE_FILE = /\.(jpe?g|png|webp)$/i;

/** The sample photos: the committed four, plus the 13 in ../shared/models/images when present (by file name). */
export function sampleInputs(): { inputs: SampleInput[]; description: string } {
  const dirs = [join(builtinModelsDir(), 'samples'), sharedPath('models', 'images')].filter(
    (d): d is string => d !== undefined && existsSync(d),
  );
  const byName = new Map<string, string>();
  for (const dir of dirs)
    for (const f of readdirSync(dir).sort())
      if (IMAGE_FILE.test(f) && !byName.has(f)) byName.set(f, join(dir, f));
  const inputs = [...byName].map(([name, path]) => ({ name, bytes: readFileSync(path) }));
  return { inputs, description: `${inputs.length} photos from ${dirs.join(' + ')}` };
}

interface Skipped {
  variant: string;
  reason: string;
}

async function selectVariants(all: readonly ModelVariant[], names: readonly string[], home: string) {
  const unknown = names.filter((n) => !all.some((v) => v.name === n));
  if (unknown.length) {
    throw new VerifyError(
      `unknown variant '${unknown.join("', '")}'; known: ${all.map((v) => v.name).join(', ')}`,
    );
  }
  const wanted = names.length === 0 ? all : all.filter((v) => names.includes(v.name));
  const ready: ModelVariant[] = [];
  const skipped: Skipped[] = [];
  for (const v of wanted) {
    if (v.preprocessing.kind !== 'image') {
      skipped.push({ variant: v.name, reason: 'takes tensors only; verify sends the sample photos' });
      continue;
    }
    try {
      await resolveModelFile(v, { allowBuild: true, home });
      ready.push(v);
    } catch (err) {
      skipped.push({
        variant: v.name,
        reason:
          v.weights === 'real'
            ? `model file ${v.file} not found (put it in $SPILLWAY_MODEL_DIR or ../shared/models, or allow its download with SPILLWAY_ALLOW_DOWNLOAD=1)`
            : `no model file (${(err as Error).message.split('\n')[0]})`,
      });
    }
  }
  // Named variants must all run: a missing file is an error, not a silent skip.
  if (names.length > 0 && skipped.length > 0) {
    throw new VerifyError(skipped.map((s) => `${s.variant}: ${s.reason}`).join('; '));
  }
  return { ready, skipped };
}

/** Records this machine's answers (the VM's; they equal Lambda's when the backends agree). */
function record(
  v: ModelVariant,
  verdict: VariantVerdict,
  answers: Record<string, { top1: number; score: number }>,
  home: string,
  force: boolean,
): string {
  if (v.weights === 'synthetic') return `${v.name}: not recorded: synthetic weights have no reference`;
  if (verdict.backends.some((b) => !b.report.ok) || verdict.runs.some((r) => r.errors.length > 0)) {
    throw new VerifyError(
      `${v.name}: not recorded: the backends did not answer alike (${verdict.problems[0]})`,
    );
  }
  const isUser = !builtinVariants().some((b) => b.name === v.name);
  const path = isUser ? userReferencePath(home) : referenceAnswersPath();
  const isa = verdict.isa;
  const outcome = recordReference({
    path,
    variant: v.name,
    force,
    record: {
      isa,
      source: `measured by spillway models verify: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, onnxruntime-node ${onnxruntimeVersion()}, ${new Date().toISOString().slice(0, 10)}`,
      answers: roundedAnswers(answers),
    },
  });
  return `${v.name}: ${outcome} the ${isa} record in ${path}`;
}

async function runVerify(names: readonly string[], flags: VerifyFlags): Promise<number> {
  const home = spillwayHome();
  const registry = loadRegistry({ home });
  const { ready, skipped } = await selectVariants(registry.variants(), names, home);
  const { inputs, description } = sampleInputs();
  if (inputs.length === 0)
    throw new VerifyError(`no sample photos found in ${join(builtinModelsDir(), 'samples')}`);
  const references = loadAllReferences(home);
  const isa = cpuIsa();
  const machineIsa = isaKey(isa);
  const verdicts: VariantVerdict[] = [];
  const entries: Record<string, VerifyEntry> = {};
  const recorded: string[] = [];
  const refused: string[] = [];
  const progress = (m: string) => {
    if (process.stderr.isTTY && !flags.json) process.stderr.write(`${m}\n`);
  };
  const env: Record<string, string> = { SPILLWAY_HOME: home };
  const backends = await startBackendAnswers({ variants: ready.map((v) => v.name), env });
  try {
    for (const v of ready) {
      progress(`verifying ${v.name} on the VM server and the Lambda handler (${inputs.length} photos)...`);
      const runs = await backends.run(v.name, inputs);
      const verdict = judgeVariant({
        variant: v.name,
        weights: v.weights,
        machineIsa,
        inputs: inputs.length,
        runs,
        references: references.get(v.name),
      });
      verdicts.push(verdict);
      entries[v.name] = toVerifyEntry(verdict, Date.now());
      if (flags.record) {
        try {
          recorded.push(record(v, verdict, { ...runs[0]!.answers }, home, Boolean(flags.force)));
        } catch (err) {
          refused.push((err as Error).message);
        }
      }
    }
  } finally {
    await backends.close();
  }
  const verifyFile = Object.keys(entries).length ? writeVerifyEntries(home, entries) : undefined;
  const ok = verdicts.every((v) => v.ok);
  if (flags.json) {
    console.log(
      JSON.stringify(
        {
          isa,
          isaKey: machineIsa,
          inputs: inputs.map((i) => i.name),
          variants: verdicts,
          skipped,
          recorded,
          refused,
          verifyFile: verifyFile ?? null,
          ok,
        },
        null,
        2,
      ),
    );
  } else {
    console.log(formatVerifyTable(verdicts, { isa: machineIsa, flags: isa.flags, inputs: description }));
    for (const s of skipped) console.log(`skipped ${s.variant}: ${s.reason}`);
    for (const r of recorded) console.log(r);
    if (verifyFile)
      console.log(`result saved to ${verifyFile} (shown by spillway models list and GET /v1/models)`);
  }
  for (const r of refused) console.error(`spillway models verify: ${r}`);
  if (refused.length) return 2;
  return ok ? 0 : 1;
}

/** Adds `verify` under `spillway models`. */
export function registerVerify(models: Command): void {
  models
    .command('verify')
    .description(
      "Run each variant (or NAME) on the VM server and the Lambda handler over the sample photos; report top-1 agreement between them and with the recorded reference answers, and this CPU's instruction set",
    )
    .argument('[names...]', 'variants to verify (default: every variant with a model file)')
    .option('--json', 'machine-readable output')
    .option(
      '--record',
      "write this machine's answers as the reference for its ISA class (real-weight variants)",
    )
    .option('--force', 'with --record: replace an existing record of this ISA class')
    .action(async (names: string[], flags: VerifyFlags) => {
      try {
        process.exitCode = await runVerify(names, flags);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        console.error(`spillway models verify: ${msg}`);
        process.exitCode = 2;
      }
    });
}
