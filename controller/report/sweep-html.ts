/**
 * The sweep's HTML report: per trace, two heat maps as coloured tables (rows: mean load x accuracy
 * floor, columns: SLO). Left, the compared policy's cost relative to the cheapest fair baseline at
 * that point (green below 1, red above; the baseline's name and the 95 % interval in the cell);
 * right, the compared policy's violation % (green within the target). One self-contained file.
 */
import type { SweepPoint, SweepResult } from '../sim/sweep.js';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);

/** Green at <= 0.8, white at 1, red at >= 1.25 (ratios); a log scale so 0.8 and 1.25 look alike. */
function ratioColour(x: number): string {
  if (!Number.isFinite(x)) return '#eee';
  const t = Math.max(-1, Math.min(1, Math.log(x) / Math.log(1.25)));
  const a = Math.abs(t);
  const mix = (c: number) => Math.round(255 - a * (255 - c));
  return t <= 0 ? `rgb(${mix(80)},${mix(180)},${mix(100)})` : `rgb(${mix(220)},${mix(80)},${mix(70)})`;
}

function violationColour(v: number, target: number): string {
  if (!Number.isFinite(v)) return '#eee';
  if (v <= target) return 'rgb(200,235,205)';
  return ratioColour(Math.min(10, 1 + v / Math.max(target, 1e-9)) ** 0.25);
}

function cell(p: SweepPoint | undefined, compared: string, kind: 'ratio' | 'violations', target: number): string {
  if (!p) return '<td class="na">-</td>';
  if (p.skipped) return `<td class="na" title="${esc(p.skipped)}">skipped</td>`;
  const me = p.policies.find((x) => x.policy === compared);
  if (kind === 'ratio') {
    if (!p.costRatio) return '<td class="na" title="no baseline met the violation target">no fair baseline</td>';
    const r = p.costRatio;
    return `<td style="background:${ratioColour(r.mean)}">${r.mean.toFixed(3)}${r.n > 1 ? ` <small>±${r.ci95.toFixed(3)}</small>` : ''}<br><small>vs ${esc(p.bestBaseline ?? '')}</small></td>`;
  }
  const v = me?.violationPct;
  if (!v) return '<td class="na">-</td>';
  return `<td style="background:${violationColour(v.mean, target)}">${v.mean.toFixed(2)} %${v.n > 1 ? ` <small>±${v.ci95.toFixed(2)}</small>` : ''}<br><small>acc ${me?.accuracy?.toFixed(1) ?? '-'}</small></td>`;
}

function heatMap(r: SweepResult, trace: string, kind: 'ratio' | 'violations'): string {
  const [compared = ''] = r.grid.policies;
  const target = r.grid.maxViolationPct ?? 1;
  const head = `<tr><th>mean rps / min acc</th>${r.grid.sloMs.map((s) => `<th>SLO ${s} ms</th>`).join('')}</tr>`;
  const rows: string[] = [];
  for (const rps of r.grid.meanRps)
    for (const acc of r.grid.minAccuracy) {
      const cells = r.grid.sloMs.map((slo) =>
        cell(
          r.points.find((p) => p.trace === trace && p.meanRps === rps && p.sloMs === slo && p.minAccuracy === acc),
          compared,
          kind,
          target,
        ),
      );
      rows.push(`<tr><th>${rps} rps, ${acc} %</th>${cells.join('')}</tr>`);
    }
  return `<table>${head}${rows.join('')}</table>`;
}

export function renderSweepHtml(r: SweepResult, notes: readonly string[] = []): string {
  const [compared = ''] = r.grid.policies;
  const traces = r.grid.traces
    .map(
      (t) => `<h2>${esc(t)}</h2>
<div class="pair"><div><h3>${esc(compared)} cost / cheapest fair baseline</h3>${heatMap(r, t, 'ratio')}</div>
<div><h3>${esc(compared)} SLO violations (served accuracy)</h3>${heatMap(r, t, 'violations')}</div></div>`,
    )
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Spillway sweep</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:center}th{background:#f6f6f6}td.na{color:#999;background:#f3f3f3}
.pair{display:flex;gap:32px;flex-wrap:wrap}small{color:#444}</style></head><body>
<h1>Sweep: ${esc(compared)} against ${esc(r.grid.policies.slice(1).join(', '))}</h1>
<p>${esc(r.grid.world ?? 'realistic')} world (controller/sim/world.ts). ${r.points.length} points x ${r.grid.seeds.length} seeds (${esc(r.grid.seeds.join(', '))}), ${r.grid.hours} h of each trace per point.
A baseline is <em>fair</em> at a point when its mean violations are at most ${r.grid.maxViolationPct ?? 1} %; the ratio is per seed, then mean ± 95 % interval.
Simulated ${Math.round(r.requestsPerWallSecond).toLocaleString('en')} requests per wall second (${r.wallSeconds.toFixed(0)} s).</p>
${notes.map((n) => `<p class="note">${esc(n)}</p>`).join('\n')}
${traces}
</body></html>
`;
}
