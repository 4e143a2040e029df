/**
 * Rows for `spillway models list`: registry entries joined with their profiles and with where
 * their model file would come from (without building or downloading anything).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDirOf, defaultModelDir, userModelsDir } from '../../functions/engine/model-sources.js';
import type { ModelRegistry } from '../../functions/engine/engine-types.js';
import type { ModelVariant } from '../../functions/engine/registry-schema.js';
import type { VariantProfile } from '../schema.js';
import { cpuIsa, isaKey } from '../../functions/engine/cpu-isa.js';
import { FIT_MAPE_WARN_PCT, fitWarning } from './fit-quality.js';
import {
  formatIsaCell,
  formatVerificationCell,
  readVerifyStore,
  type VerificationSummary,
  verificationSummary,
} from './verify-store.js';

export interface ModelRow {
  name: string;
  task: string;
  weights: 'real' | 'synthetic';
  top1: number | null;
  accuracySource: string;
  accuracyAppliesTo: ModelVariant['accuracy']['appliesTo'];
  input: string;
  /** Measured p50 at batch 1, 1 thread (ms), when a profile exists. */
  p50Ms: number | null;
  /** The profile's latency-model fit error (MAPE %), null without a profile. */
  fitMapePct: number | null;
  /** fit-quality.ts's warning when the fit is too poor to trust, else null. */
  fitWarning: string | null;
  /** Where the file comes from: 'model dir <path>', 'user <path>', 'cache <path>', 'built on first use', 'download', 'missing'. */
  source: string;
  /** ISA class the profile was measured on (profile machine.isa), null when not recorded. */
  profileIsa: string | null;
  /** This machine's ISA class. */
  machineIsa: string;
  /** The last `spillway models verify` result ($SPILLWAY_HOME/verify.json). */
  verification: VerificationSummary;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

export function locateModel(variant: ModelVariant, home: string): string {
  const modelDir = defaultModelDir({ home });
  if (modelDir && isFile(join(modelDir, variant.file))) return `model dir ${join(modelDir, variant.file)}`;
  const user = join(userModelsDir({ home }), variant.file);
  if (isFile(user)) return `user ${user}`;
  const cached = join(cacheDirOf({ home }), variant.file);
  if (isFile(cached)) return `cache ${cached}`;
  if (variant.weights === 'synthetic' && variant.synthetic) return `built on first use (recipe ${variant.synthetic.recipe})`;
  if (variant.downloadUrl) return `download ${variant.downloadUrl} (needs SPILLWAY_ALLOW_DOWNLOAD=1)`;
  return 'missing';
}

export function modelRows(
  registry: ModelRegistry,
  profiles: ReadonlyMap<string, VariantProfile>,
  home: string,
): ModelRow[] {
  const verified = readVerifyStore(home);
  const machineIsa = isaKey(cpuIsa());
  return registry.variants().map((v) => {
    const profile = profiles.get(v.name);
    const m = profile?.measurements.find((x) => x.batchSize === 1 && x.intraOpThreads === 1);
    return {
      name: v.name,
      task: v.task,
      weights: v.weights,
      top1: v.accuracy.top1,
      accuracySource: v.accuracy.source,
      accuracyAppliesTo: v.accuracy.appliesTo,
      input: `${v.input.dtype}[${v.input.shape.map((d) => d ?? 'N').join(',')}] ${v.input.layout}`,
      p50Ms: m ? m.p50Ms : null,
      fitMapePct: profile ? profile.latencyModel.fitMapePct : null,
      fitWarning: (profile && fitWarning(profile)) ?? null,
      source: locateModel(v, home),
      profileIsa: profiles.get(v.name)?.machine.isa ?? null,
      machineIsa,
      verification: verificationSummary(verified, v.name),
    };
  });
}

/** Plain-text table: fixed columns, long sources last so they can wrap. */
export function formatModelTable(rows: readonly ModelRow[]): string {
  const header = ['name', 'task', 'weights', 'top-1 % (source)', 'input', 'p50 b1/t1', 'fit err', 'profile isa', 'verify', 'file'];
  const body = rows.map((r) => [
    r.name,
    r.task,
    r.weights,
    r.top1 === null
      ? `- (${r.accuracySource})`
      : `${r.top1}${r.accuracyAppliesTo === 'architecture' ? ' [architecture, not these weights]' : ''} (${r.accuracySource})`,
    r.input,
    r.p50Ms === null ? 'no profile' : `${r.p50Ms.toFixed(2)} ms`,
    r.fitMapePct === null ? '-' : `${r.fitMapePct.toFixed(1)} %${r.fitWarning ? ` POOR (>${FIT_MAPE_WARN_PCT} %)` : ''}`,
    formatIsaCell(r.profileIsa, r.machineIsa),
    formatVerificationCell(r.verification),
    r.source,
  ]);
  // The accuracy source can be a long citation; cap that column so the table stays readable.
  const cap = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
  const cells = [header, ...body].map((row) => row.map((c, i) => (i === 3 ? cap(c, 48) : c)));
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells
    .map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  '))
    .join('\n');
}
