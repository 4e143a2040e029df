/**
 * The replay's HTML report, in the simulator's format (controller/report/render.ts
 * renderReportHtml): one summary row, and charts over time (load and Lambda share, VMs, p99).
 */
import { PALETTE } from '../report/chart-options.js';
import { type ReportData, renderReportHtml } from '../report/render.js';
import type { ReplaySummary } from './summary.js';

export function replayReportData(s: ReplaySummary, generatedAt = new Date().toISOString()): ReportData {
  const t = s.perSecond.map((x) => x.t);
  const labels: string[] = [];
  if (s.traceSynthetic) labels.push(`synthetic workload: ${s.trace}`);
  if ((s.weights['synthetic'] ?? 0) > 0) labels.push('synthetic weights: some answers came from synthetic variants (meaningless predictions)');
  return {
    title: `Spillway replay: ${s.trace}`,
    subtitle: `${s.sent} requests over ${s.durationS} s against ${s.target} (SLO ${s.sloMs} ms); live run, not simulated`,
    generatedAt,
    labels,
    notes: [
      ...s.notes,
      'dollars are the target\'s own accounting (/v1/status): EC2 per second with the 60 s minimum at the catalog price of the instance type each local VM stands in for, Lambda GB-s + request fee',
      `variants served: ${Object.entries(s.byVariant).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    ],
    table: {
      columns: [
        { key: 'run', label: 'run' },
        { key: 'sent', label: 'requests', digits: 0 },
        { key: 'sloAttainmentPct', label: 'SLO attainment %', digits: 1 },
        { key: 'p50Ms', label: 'p50 ms', digits: 1 },
        { key: 'p99Ms', label: 'p99 ms', digits: 1 },
        { key: 'lambdaSharePct', label: 'on Lambda %', digits: 1 },
        { key: 'rejected', label: '503s', digits: 0 },
        { key: 'lost', label: 'lost', digits: 0 },
        { key: 'ec2Usd', label: 'EC2 $', digits: 6 },
        { key: 'lambdaUsd', label: 'Lambda $', digits: 6 },
        { key: 'totalUsd', label: 'total $', digits: 6 },
      ],
      rows: [
        {
          run: 'spillway (live)',
          sent: s.sent,
          sloAttainmentPct: s.sloAttainment * 100,
          p50Ms: s.p50Ms,
          p99Ms: s.p99Ms,
          lambdaSharePct: s.lambdaShare * 100,
          rejected: s.rejected503,
          lost: s.lost,
          ec2Usd: s.dollars.ec2,
          lambdaUsd: s.dollars.lambda,
          totalUsd: s.dollars.total,
        },
      ],
    },
    charts: [
      {
        title: 'Load and where it was served',
        xName: 'seconds',
        yName: 'requests/s',
        series: [
          // The live dashboard's colours: the same thing looks the same on every page.
          { name: 'sent', x: t, y: s.perSecond.map((x) => x.sent), color: PALETTE.load },
          { name: 'served on VMs', x: t, y: s.perSecond.map((x) => x.vm), color: PALETTE.vm, area: 0.35 },
          { name: 'served on Lambda', x: t, y: s.perSecond.map((x) => x.lambda), color: PALETTE.lambda, area: 0.35 },
          { name: '503 (retry later)', x: t, y: s.perSecond.map((x) => x.rejected), dashed: true, color: PALETTE.bad },
        ],
      },
      {
        title: 'VMs',
        xName: 'seconds',
        yName: 'VMs',
        series: [
          { name: 'ready', x: t, y: s.perSecond.map((x) => x.vmsReady), color: PALETTE.vm, area: 0.35 },
          { name: 'booting', x: t, y: s.perSecond.map((x) => x.vmsBooting), dashed: true, color: PALETTE.vmBooting },
        ],
      },
      {
        title: 'p99 latency per second',
        xName: 'seconds',
        yName: 'ms',
        // A second with no answer has no p99 (a gap, not 0 ms).
        series: [{ name: 'p99', x: t, y: s.perSecond.map((x) => (x.p99Ms > 0 ? x.p99Ms : Number.NaN)), color: PALETTE.forecast }],
        yLog: true,
        referenceLines: [{ name: `SLO ${s.sloMs} ms`, y: s.sloMs }],
      },
    ],
  };
}

export function writeReplayHtml(s: ReplaySummary): string {
  return renderReportHtml(replayReportData(s));
}
