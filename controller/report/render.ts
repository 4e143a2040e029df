/**
 * Self-contained offline HTML report (no CDN, no script): a comparison table and line charts,
 * rendered to inline SVG on the server by echarts (`renderer: 'svg', ssr: true`). Used by
 * `spillway simulate` (controller/sim) and `spillway replay` (controller/replay), so ReportData is
 * generic: summary rows + named series over time, grouped into charts by the caller.
 * Anything synthetic (workload, model weights, default profiles) goes in `labels`, which are
 * printed as badges at the top of the page and under every chart.
 */
import * as echarts from 'echarts';

export interface ReportColumn {
  key: string;
  label: string;
  /** Decimal digits for numbers (default 2). */
  digits?: number;
}

export interface ReportSeries {
  name: string;
  /** x values (e.g. minutes). */
  x: readonly number[];
  y: readonly number[];
  /** Dashed line (e.g. a forecast or a capacity against a load). */
  dashed?: boolean;
}

export interface ReportChart {
  title: string;
  xName: string;
  yName: string;
  series: ReportSeries[];
}

export interface ReportData {
  title: string;
  subtitle?: string;
  /** ISO time the report was made. */
  generatedAt: string;
  /** Honesty labels, e.g. 'synthetic workload', 'synthetic weights: resnet50-synthetic'. */
  labels: string[];
  notes: string[];
  table: { columns: ReportColumn[]; rows: Array<Record<string, string | number | null | undefined>> };
  charts: ReportChart[];
}

const CHART_WIDTH = 900;
const CHART_HEIGHT = 320;
/** Longer series are averaged down to this many points (keeps the SVG small). */
const MAX_POINTS = 1500;

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function formatCell(v: string | number | null | undefined, digits: number): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '–';
    return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  return escapeHtml(v);
}

/** Averages consecutive points so at most MAX_POINTS remain. */
export function downsample(x: readonly number[], y: readonly number[], max = MAX_POINTS): Array<[number, number]> {
  const n = Math.min(x.length, y.length);
  const out: Array<[number, number]> = [];
  const k = Math.max(1, Math.ceil(n / max));
  for (let i = 0; i < n; i += k) {
    let sy = 0;
    let c = 0;
    for (let j = i; j < Math.min(n, i + k); j++) {
      if (Number.isFinite(y[j]!)) {
        sy += y[j]!;
        c++;
      }
    }
    out.push([x[i]!, c > 0 ? sy / c : 0]);
  }
  return out;
}

export function renderChartSvg(chart: ReportChart, width = CHART_WIDTH, height = CHART_HEIGHT): string {
  const c = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    c.setOption({
      animation: false,
      title: { text: chart.title, left: 'center', top: 4, textStyle: { fontSize: 14 } },
      legend: { top: 30, type: 'scroll' },
      grid: { left: 70, right: 30, top: 70, bottom: 50 },
      xAxis: { type: 'value', name: chart.xName, nameLocation: 'middle', nameGap: 28, scale: true },
      yAxis: { type: 'value', name: chart.yName, nameLocation: 'middle', nameGap: 50 },
      series: chart.series.map((s) => ({
        name: s.name,
        type: 'line',
        showSymbol: false,
        lineStyle: { width: 1.5, type: s.dashed ? 'dashed' : 'solid' },
        data: downsample(s.x, s.y),
      })),
    });
    return c.renderToSVGString();
  } finally {
    c.dispose();
  }
}

export function renderReportHtml(data: ReportData): string {
  const labels = data.labels.map((l) => `<span class="badge">${escapeHtml(l)}</span>`).join(' ');
  const head = data.table.columns.map((c) => `<th>${escapeHtml(c.label)}</th>`).join('');
  const body = data.table.rows
    .map(
      (r) =>
        `<tr>${data.table.columns.map((c) => `<td>${formatCell(r[c.key], c.digits ?? 2)}</td>`).join('')}</tr>`,
    )
    .join('\n');
  const labelLine = data.labels.length > 0 ? `<p class="chart-label">${escapeHtml(data.labels.join(' · '))}</p>` : '';
  const charts = data.charts
    .map((ch) => `<figure class="chart">${renderChartSvg(ch)}${labelLine}</figure>`)
    .join('\n');
  const notes = data.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(data.title)}</title>
<style>
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 24px; color: #222; max-width: 1000px; }
h1 { font-size: 22px; margin-bottom: 4px; }
.sub { color: #555; margin-top: 0; }
.badge { display: inline-block; background: #fff3cd; border: 1px solid #e0c36a; border-radius: 4px; padding: 2px 8px; margin: 2px; font-size: 13px; }
table { border-collapse: collapse; margin: 16px 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
.chart { margin: 16px 0; }
.chart-label { font-size: 12px; color: #8a6d00; margin: 0; }
ul.notes { font-size: 13px; color: #444; }
</style>
</head>
<body>
<h1>${escapeHtml(data.title)}</h1>
${data.subtitle ? `<p class="sub">${escapeHtml(data.subtitle)}</p>` : ''}
<p>${labels}</p>
<table>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table>
${charts}
<h2>Notes</h2>
<ul class="notes">
${notes}
<li>Generated ${escapeHtml(data.generatedAt)}.</li>
</ul>
</body>
</html>
`;
}
