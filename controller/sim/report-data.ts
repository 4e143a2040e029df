/**
 * ScenarioResult -> ReportData (HTML report) and -> a plain-text table (terminal). Pure functions.
 */
import { PALETTE } from '../report/chart-options.js';
import type { ReportChart, ReportColumn, ReportData } from '../report/render.js';
import { POLICY_DESCRIPTIONS } from './policies.js';
import type { ScenarioResult, SummaryRow } from './scenario.js';

export const SUMMARY_COLUMNS: ReportColumn[] = [
  { key: 'policy', label: 'policy' },
  { key: 'totalUsd', label: 'total $', digits: 3 },
  { key: 'ratioToClairvoyant', label: 'x clairvoyant', digits: 2 },
  { key: 'ratioToStrictBound', label: 'x strict LB', digits: 2 },
  { key: 'ratioToAchievable', label: 'x offline DP', digits: 2 },
  { key: 'violationPct', label: 'SLO viol. %', digits: 2 },
  { key: 'p99Ms', label: 'p99 ms', digits: 1 },
  { key: 'avgAccuracy', label: 'served acc. %', digits: 2 },
  { key: 'lambdaPct', label: '% on Lambda', digits: 1 },
  { key: 'vmHours', label: 'VM-hours', digits: 2 },
  { key: 'ec2Usd', label: 'EC2 $', digits: 3 },
  { key: 'lambdaUsd', label: 'Lambda $', digits: 3 },
  { key: 'vmUtilisationPct', label: 'VM util. %', digits: 1 },
  { key: 'coldStarts', label: 'cold starts', digits: 0 },
  { key: 'modelMix', label: 'model mix (share of answers)', align: 'left' },
];

/** "policy: what it is" for each row, in row order (printed under the table). */
export function policyDefinitions(rows: readonly Pick<SummaryRow, 'policy'>[]): Array<{ term: string; text: string }> {
  return rows.map((r) => ({ term: r.policy, text: POLICY_DESCRIPTIONS[r.policy] ?? 'no description' }));
}

/** Honesty labels for everything synthetic in a run. */
export function scenarioLabels(s: ScenarioResult): string[] {
  const labels: string[] = [];
  if (s.trace.synthetic) labels.push(`synthetic workload (${s.trace.name})`);
  if (s.syntheticWeights.length > 0) labels.push(`synthetic weights: ${s.syntheticWeights.join(', ')}`);
  if (s.profileNotes.some((n) => n.startsWith('DEFAULT'))) labels.push('default (not measured) profiles for some variants');
  labels.push('simulated');
  return labels;
}

export function scenarioReportData(s: ScenarioResult, title = 'Spillway simulation'): ReportData {
  const charts: ReportChart[] = [];
  const first = s.results[0];
  if (first) {
    charts.push({
      title: 'Load vs ready VM capacity (rps)',
      xName: 'minutes',
      yName: 'rps',
      series: [
        { name: 'load', x: first.series.tMin, y: first.series.loadRps, color: PALETTE.load },
        ...s.results.map((r) => ({ name: `${r.policy} capacity`, x: r.series.tMin, y: r.series.vmCapacityRps, dashed: true })),
      ],
    });
    charts.push({
      title: 'VM count (booting + ready)',
      xName: 'minutes',
      yName: 'VMs',
      series: s.results.map((r) => ({ name: r.policy, x: r.series.tMin, y: r.series.vmCount })),
    });
    charts.push({
      title: 'Share of requests served on Lambda (%)',
      xName: 'minutes',
      yName: '%',
      series: s.results.map((r) => ({ name: r.policy, x: r.series.tMin, y: r.series.lambdaShare.map((v) => v * 100) })),
    });
    charts.push({
      title: 'Cumulative cost ($)',
      xName: 'minutes',
      yName: '$',
      series: s.results.map((r) => ({ name: r.policy, x: r.series.tMin, y: r.series.cumulativeCostUsd })),
    });
  }
  const t = s.trace;
  return {
    title,
    subtitle: `${t.name}: ${(t.durationS / 3600).toFixed(2)} h simulated, mean ${t.meanRps.toFixed(1)} rps, peak ${t.peakRps.toFixed(1)} rps; SLO ${s.sloMs} ms; min accuracy ${s.minAccuracy} %; seed ${s.seed}`,
    generatedAt: new Date().toISOString(),
    labels: scenarioLabels(s),
    notes: [
      ...t.notes,
      ...s.profileNotes,
      ...(s.clairvoyant
        ? [
            `clairvoyant: ${s.clairvoyant.method}`,
            `strict lower bound (per second, no billing minimum): $${s.clairvoyant.strictLowerBoundUsd.toFixed(4)}`,
          ]
        : []),
      'SLO violations = (late + rejected) / all requests; p99 over served requests.',
      'Billing: EC2 per second with the 60 s minimum from launch to stop; Lambda GB-s per 1 ms (INIT billed on cold starts) + $0.20 per million requests.',
    ],
    table: { columns: SUMMARY_COLUMNS, rows: s.rows as unknown as Array<Record<string, string | number | null>> },
    definitions: policyDefinitions(s.rows),
    charts,
  };
}

function cell(v: unknown, digits: number): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return Number.isFinite(v) ? v.toFixed(digits) : '-';
  return String(v);
}

/** Fixed-width text table of the summary rows. */
export function formatTable(rows: SummaryRow[], columns: ReportColumn[] = SUMMARY_COLUMNS): string {
  const cells = rows.map((r) => columns.map((c) => cell((r as unknown as Record<string, unknown>)[c.key], c.digits ?? 2)));
  const widths = columns.map((c, i) => Math.max(c.label.length, ...cells.map((row) => row[i]!.length)));
  const left = columns.map((c, i) => i === 0 || c.align === 'left');
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (left[i] ? v.padEnd(widths[i]!) : v.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.label)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Markdown table of the summary rows. */
export function formatMarkdown(rows: SummaryRow[], columns: ReportColumn[] = SUMMARY_COLUMNS): string {
  const head = `| ${columns.map((c) => c.label).join(' | ')} |`;
  const sep = `|${columns.map((c, i) => (i === 0 || c.align === 'left' ? '---' : '---:')).join('|')}|`;
  const body = rows.map(
    (r) => `| ${columns.map((c) => cell((r as unknown as Record<string, unknown>)[c.key], c.digits ?? 2)).join(' | ')} |`,
  );
  return [head, sep, ...body].join('\n');
}
