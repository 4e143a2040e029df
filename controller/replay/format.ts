/** Plain-text rendering of a replay summary for the terminal. */
import type { ReplaySummary } from './summary.js';

function fmtUsd(x: number): string {
  return `$${x < 0.01 ? x.toFixed(6) : x.toFixed(4)}`;
}

export function formatSummary(s: ReplaySummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const lines = [
    `replay of ${s.trace}${s.traceSynthetic ? ' (SYNTHETIC workload)' : ''} against ${s.target}, ${s.durationS} s`,
    `  requests      ${s.sent} sent, ${s.ok} ok, ${s.rejected503} x 503 (retry later), ${s.deadline504} x 504 (deadline), ${s.otherErrors} other errors, ${s.lost} lost`,
    `  SLO ${s.sloMs} ms   attainment ${pct(s.sloAttainment)}   p50 ${s.p50Ms.toFixed(1)} ms   p99 ${s.p99Ms.toFixed(1)} ms   max ${s.maxMs.toFixed(0)} ms`,
    `  backends      ${pct(s.lambdaShare)} on Lambda (${s.coldStarts} cold starts), ${s.retried} retried elsewhere, up to ${s.maxVmsReady} VMs ready`,
    `  variants      ${Object.entries(s.byVariant).map(([k, v]) => `${k} ${v}`).join(', ') || '-'}`,
    `  dollars       EC2 ${fmtUsd(s.dollars.ec2)} + Lambda ${fmtUsd(s.dollars.lambda)} = ${fmtUsd(s.dollars.total)}`,
    '  split over time (10 s buckets): t  rps  lambda%  vmsReady  p99ms',
  ];
  for (let t = 0; t < s.perSecond.length; t += 10) {
    const b = s.perSecond.slice(t, t + 10);
    const ok = b.reduce((a, x) => a + x.ok, 0);
    const lam = b.reduce((a, x) => a + x.lambda, 0);
    const sent = b.reduce((a, x) => a + x.sent, 0);
    const vms = Math.max(...b.map((x) => x.vmsReady));
    const p99 = Math.max(...b.map((x) => x.p99Ms));
    lines.push(
      `    ${String(t).padStart(5)}  ${(sent / b.length).toFixed(1).padStart(5)}  ${(ok > 0 ? (lam / ok) * 100 : 0).toFixed(0).padStart(5)}  ${String(vms).padStart(5)}  ${p99.toFixed(0).padStart(6)}`,
    );
  }
  for (const n of s.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}

