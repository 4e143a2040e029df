/**
 * `npm run profile [-- --variants a,b --quick --out DIR --slo-ms 200]` (BENCH_QUICK=1 = --quick)
 *
 * Measures every registry variant (or the listed ones) on this machine, one child process per
 * variant, and writes profiles/<variant>.json (see profiles/README.md). Exit code 1 if any variant
 * failed; variants whose model file cannot be found are skipped with a message, not failed.
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { COMMITTED_PROFILES_DIR, userProfilesDir } from './lib/load.js';
import { runProfile } from './lib/run-profile.js';

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got '${value}'`);
  return n;
}

const program = new Command()
  .name('profile')
  .description('Measure model variants and write profiles/<variant>.json')
  .option('--variants <names>', 'comma-separated variant names (default: all in the registry)')
  .option('--quick', 'short per-cell time budget (~0.3 s) instead of the full one (~2 s)', false)
  .option('--out <dir>', 'output folder (default: profiles/ for built-in variants, $SPILLWAY_HOME/profiles for user-added ones)')
  .option('--slo-ms <ms>', 'reference SLO for the derived instance estimates', positiveNumber, 200)
  .option('--no-progress', 'no progress bar');

program.parse();
const opts = program.opts<{ variants?: string; quick: boolean; out?: string; sloMs: number; progress: boolean }>();

try {
  const outcome = await runProfile({
    variants: opts.variants
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    // BENCH_QUICK=1 is the project-wide "short setting" switch for benchmarks and profiling.
    gridName: opts.quick || process.env['BENCH_QUICK'] === '1' ? 'quick' : 'full',
    outDir: opts.out ? resolve(opts.out) : COMMITTED_PROFILES_DIR,
    ...(opts.out ? {} : { userOutDir: userProfilesDir() }),
    referenceSloMs: opts.sloMs,
    progress: opts.progress ? undefined : false,
  });
  console.log(
    `profiled ${outcome.written.length}, skipped ${outcome.skipped.length}, failed ${outcome.failed.length}`,
  );
  if (outcome.failed.length) process.exitCode = 1;
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
