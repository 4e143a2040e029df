/**
 * `spillway simulate --trace FILE|builtin:NAME [--mean-rps N | --scale F] [--slo-ms N]
 *   [--policies a,b,...] [--hours H] [--start-hours S] [--min-accuracy A] [--report out.html]
 *   [--json] [--seed N] [--variants v1,v2] [--true-latency variant=1.5]`
 *
 * Wiring only: controller/sim/scenario.ts runs the policies, controller/report/render.ts writes
 * the HTML. Progress goes to stderr; with --json stdout carries exactly one JSON array (one
 * object per policy) and nothing else.
 */
import { writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError } from 'commander';
import { renderReportHtml } from '../../report/render.js';
import { ALL_POLICY_NAMES, POLICY_DESCRIPTIONS } from '../../sim/policies.js';
import { formatTable, policyDefinitions, scenarioLabels, scenarioReportData } from '../../sim/report-data.js';
import { runScenario, type ScenarioResult } from '../../sim/scenario.js';
import { WORLDS, type WorldName } from '../../sim/world.js';

function positive(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a number > 0 (got "${v}")`);
    return n;
  };
}
function nonNegative(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a number >= 0 (got "${v}")`);
    return n;
  };
}
/** A comma list flag value, blanks dropped (`--policies a,b`). */
export function list(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
function multipliers(v: string, prev: Record<string, number> = {}): Record<string, number> {
  const m = /^([^=]+)=([0-9.]+)$/.exec(v);
  if (!m || !(Number(m[2]) > 0)) throw new InvalidArgumentError(`--true-latency expects variant=factor (got "${v}")`);
  return { ...prev, [m[1]!]: Number(m[2]) };
}

export function worldArg(v: string): WorldName {
  if (!(v in WORLDS)) throw new InvalidArgumentError(`--world must be one of ${Object.keys(WORLDS).join(', ')} (got "${v}")`);
  return v as WorldName;
}

/** One JSON object per policy for --json (summary + itemised cost; no time series). */
export function jsonRows(s: ScenarioResult): unknown[] {
  const labels = scenarioLabels(s);
  return s.rows.map((row) => {
    const r = s.results.find((x) => x.policy === row.policy);
    return {
      ...row,
      description: POLICY_DESCRIPTIONS[row.policy],
      trace: s.trace.name,
      syntheticWorkload: s.trace.synthetic,
      labels,
      sloMs: s.sloMs,
      minAccuracy: s.minAccuracy,
      seed: s.seed,
      world: s.world,
      simulatedHours: s.trace.durationS / 3600,
      cost: r ? r.cost : { totalUsd: row.totalUsd, ec2Usd: row.ec2Usd, lambdaUsd: row.lambdaUsd },
      ...(r
        ? {
            served: r.served,
            late: r.late,
            rejected: r.rejected,
            throttled: r.throttled,
            meanMs: r.meanMs,
            vmLaunches: r.vmLaunches,
            servedByVariant: r.servedByVariant,
            requestsPerWallSecond: r.requestsPerWallSecond,
          }
        : {
            clairvoyantMethod: s.clairvoyant?.method,
            strictLowerBoundUsd: s.clairvoyant?.strictLowerBoundUsd,
            achievableUsd: s.achievable?.usd,
            achievableMethod: s.achievable?.method,
          }),
    };
  });
}

export function register(program: Command): void {
  program
    .command('simulate')
    .description('Replay a trace through the simulator for several policies and compare cost and SLO violations')
    .requiredOption('--trace <spec>', 'trace CSV (t,rps) or builtin:diurnal-burst|steady|spike (synthetic)')
    .option('--mean-rps <n>', 'rescale the trace so its mean is this many rps', positive('--mean-rps'))
    .option('--scale <f>', 'multiply the trace rates by this factor', positive('--scale'))
    .option('--slo-ms <n>', 'latency SLO in ms', positive('--slo-ms'), 200)
    .option('--min-accuracy <pct>', 'minimum published top-1 accuracy every request asks for', nonNegative('--min-accuracy'), 0)
    .option('--policies <list>', `comma list of ${ALL_POLICY_NAMES.join(', ')}`, list, ALL_POLICY_NAMES)
    .option('--hours <h>', 'simulate this many hours of the trace', positive('--hours'))
    .option('--start-hours <h>', 'start this many hours into the trace', nonNegative('--start-hours'), 0)
    .option('--variants <list>', 'restrict to these variants', list)
    .option('--true-latency <variant=factor>', 'true latency / profiled latency for a variant (repeatable)', multipliers)
    .option('--seed <n>', 'random seed', nonNegative('--seed'), 1)
    .option('--world <name>', "realistic (cold starts of seconds, varying keep-alive and boots, heavier tails, payload transport: sim/world.ts) or optimistic (the policies' own model, earlier rounds' results)", worldArg, 'realistic')
    .option('--report <file>', 'write the HTML report here')
    .option('--json', 'print one JSON array (one object per policy) on stdout and nothing else')
    .action(async (o) => {
      if (o.meanRps !== undefined && o.scale !== undefined) {
        throw new InvalidArgumentError('give either --mean-rps or --scale, not both');
      }
      const policies: string[] = o.policies;
      const unknown = policies.filter((p) => !ALL_POLICY_NAMES.includes(p));
      if (unknown.length > 0) {
        throw new InvalidArgumentError(`--policies: unknown ${unknown.join(', ')} (known: ${ALL_POLICY_NAMES.join(', ')})`);
      }
      const bar = new cliProgress.SingleBar(
        { stream: process.stderr, format: 'simulate {bar} {percentage}% | {policy}', hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      const simulated = policies.filter((p) => p !== 'clairvoyant');
      bar.start(100, 0, { policy: simulated[0] ?? '' });
      const s = await runScenario({
        trace: o.trace,
        meanRps: o.meanRps,
        scale: o.scale,
        hours: o.hours,
        startHours: o.startHours,
        sloMs: o.sloMs,
        minAccuracy: o.minAccuracy,
        policies,
        seed: Math.floor(o.seed),
        variants: o.variants,
        world: o.world,
        sim: o.trueLatency ? { trueLatencyMultiplier: o.trueLatency } : undefined,
        onProgress: (i, f) => {
          bar.update(Math.round(((i + f) / Math.max(1, simulated.length)) * 100), { policy: simulated[i] ?? '' });
        },
      });
      bar.update(100);
      bar.stop();
      if (o.report) {
        writeFileSync(o.report, renderReportHtml(scenarioReportData(s)));
        process.stderr.write(`report written to ${o.report}\n`);
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(jsonRows(s))}\n`);
        return;
      }
      const labels = scenarioLabels(s);
      console.log(
        `${s.trace.name} (${s.world} world): ${(s.trace.durationS / 3600).toFixed(2)} h, mean ${s.trace.meanRps.toFixed(1)} rps, peak ${s.trace.peakRps.toFixed(1)} rps, SLO ${s.sloMs} ms [${labels.join('; ')}]`,
      );
      console.log(formatTable(s.rows));
      console.log('');
      const width = Math.max(...s.rows.map((r) => r.policy.length));
      for (const d of policyDefinitions(s.rows)) console.log(`${d.term.padEnd(width)}  ${d.text}`);
      console.log('');
      for (const n of [...s.trace.notes, ...s.profileNotes]) console.log(`note: ${n}`);
      if (s.clairvoyant) {
        console.log(
          `bounds: x clairvoyant = ratio to $${s.clairvoyant.clairvoyantUsd.toFixed(4)} (zero-lead VMs in aligned 60 s blocks: a policy could in principle beat it); x strict LB = ratio to $${s.clairvoyant.strictLowerBoundUsd.toFixed(4)} (per second, no billing minimum: nothing costs less)`,
        );
      }
      if (s.achievable) {
        const a = s.achievable;
        console.log(
          `bounds: x offline DP = ratio to $${a.usd.toFixed(4)} (EC2 $${a.ec2Usd.toFixed(4)}, Lambda $${a.lambdaUsd.toFixed(4)}, ${a.coldStarts} cold starts $${a.coldStartUsd.toFixed(4)}${a.option ? `; ${a.option.instanceType}:${a.option.variant} (service rate ${a.option.vmRps.toFixed(0)} rps)` : ''}): ${a.method}`,
        );
      }
    });
}
