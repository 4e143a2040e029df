/**
 * Self-contained offline HTML report (no CDN, no script): a comparison table and line charts,
 * rendered to inline SVG on the server by echarts (`renderer: 'svg', ssr: true`). Used by
 * `spillway simulate` (controller/sim) and `spillway replay` (controller/replay), so ReportData is
 * generic: summary rows + named series over time, grouped into charts by the caller.
 * Anything synthetic (workload, model weights, default profiles) goes in `labels`, which are
 * printed as badges at the top of the page and under every chart.
 */
import * as echarts from 'echarts';
import { lineChartOption } from './chart-options.js';

export interface ReportColumn {
  key: string;
  label: string;
  /** Decimal digits for numbers (default 2). */
  digits?: number;
  /** Text columns (e.g. a model mix) read better left-aligned; numbers stay right-aligned. */
  align?: 'left' | 'right';
}

export interface ReportSeries {
  name: string;
  /** x values (e.g. minutes). */
  x: readonly number[];
  y: readonly number[];
  /** Dashed line (e.g. a forecast or a capacity against a load). */
  dashed?: boolean;
  /** Colour by meaning, from chart-options.js PALETTE (the live dashboard's): VM blue, Lambda orange, ... */
  color?: string;
  /** Fill under the line with this opacity (the dashboard fills where answers were served). */
  area?: number;
}

export interface ReportChart {
  title: string;
  xName: string;
  yName: string;
  series: ReportSeries[];
  /** Logarithmic y axis (latency spans orders of magnitude: a 20 ms p50 and a 30 s tail). */
  yLog?: boolean;
  /** Horizontal lines with a label, e.g. the SLO on a latency chart. */
  referenceLines?: Array<{ name: string; y: number }>;
}

export interface ReportData {
  title: string;
  subtitle?: string;
  /** ISO time the report was made. */
  generatedAt: string;
  /** Honesty labels, e.g. 'synthetic workload', 'synthetic weights: resnet50-synthetic'. */
  labels: string[];
  notes: string[];
  /** "term: what it is" lines printed under the table (e.g. one line per policy). */
  definitions?: Array<{ term: string; text: string }>;
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

/**
 * Averages consecutive points so at most `max` remain. A bucket with no usable value (NaN, or
 * <= 0 on a log axis) is a gap (null), never drawn as zero.
 */
export function downsample(
  x: readonly number[],
  y: readonly number[],
  max = MAX_POINTS,
  positiveOnly = false,
): Array<[number, number | null]> {
  const n = Math.min(x.length, y.length);
  const out: Array<[number, number | null]> = [];
  const k = Math.max(1, Math.ceil(n / max));
  for (let i = 0; i < n; i += k) {
    let sy = 0;
    let c = 0;
    for (let j = i; j < Math.min(n, i + k); j++) {
      const v = y[j]!;
      if (Number.isFinite(v) && (!positiveOnly || v > 0)) {
        sy += v;
        c++;
      }
    }
    out.push([x[i]!, c > 0 ? sy / c : null]);
  }
  return out;
}

/**
 * Legend layout. echarts measures text with Helvetica-like widths, but the SVG is drawn in whatever
 * sans font the viewer has (DejaVu Sans is ~15 % wider), so measured legends overlap there. Every
 * item gets the same text box, sized for the longest name at a conservative 7 px per character
 * (12 px text): items never overlap, they line up in columns, and the rows are known here, so the
 * plot starts below the legend and the chart grows instead of the legend covering the lines or
 * being cut off (a scrolling legend cannot scroll in a static SVG).
 */
const LEGEND_CHAR_PX = 7;
const LEGEND_MAX_TEXT_PX = 280;
const LEGEND_ICON_PX = 30;
const LEGEND_ITEM_GAP_PX = 12;
const LEGEND_ROW_PX = 24;
const LEGEND_SIDE_PX = 10;
const TITLE_PX = 30;

export function legendLayout(names: readonly string[], width: number): { textWidthPx: number; perRow: number; rows: number } {
  const longest = Math.max(0, ...names.map((n) => n.length));
  const textWidthPx = Math.min(LEGEND_MAX_TEXT_PX, longest * LEGEND_CHAR_PX);
  const item = LEGEND_ICON_PX + textWidthPx;
  const perRow = Math.max(1, Math.floor((width - 2 * LEGEND_SIDE_PX + LEGEND_ITEM_GAP_PX) / (item + LEGEND_ITEM_GAP_PX)));
  return { textWidthPx, perRow, rows: Math.ceil(names.length / perRow) };
}

/** Legend name, flagged when the series has nothing to draw. */
function legendName(s: ReportSeries, points: Array<[number, number | null]>): string {
  return points.some((p) => p[1] !== null) ? s.name : `${s.name} (no data)`;
}

function noDataSvg(title: string, width: number, height: number): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" font-family="system-ui, sans-serif">` +
    `<rect width="${width}" height="${height}" fill="#fff"/>` +
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold" fill="#464646">${escapeHtml(title)}</text>` +
    `<text x="${width / 2}" y="${height / 2}" text-anchor="middle" font-size="16" fill="#888">no data</text></svg>`
  );
}

export function renderChartSvg(chart: ReportChart, width = CHART_WIDTH, height = CHART_HEIGHT): string {
  const data = chart.series.map((s) => downsample(s.x, s.y, MAX_POINTS, chart.yLog === true));
  if (!data.some((pts) => pts.some((p) => p[1] !== null))) return noDataSvg(chart.title, width, height);
  const names = chart.series.map((s, i) => legendName(s, data[i]!));
  const refs = (chart.referenceLines ?? []).filter((r) => Number.isFinite(r.y) && (!chart.yLog || r.y > 0));
  const allNames = [...names, ...refs.map((r) => r.name)];
  const legend = legendLayout(allNames, width);
  const legendPx = legend.rows * LEGEND_ROW_PX;
  const gridTop = TITLE_PX + legendPx + 20;
  const totalHeight = height + legendPx;
  const c = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height: totalHeight });
  try {
    // The same option builder as the live dashboard (chart-options.js); only the legend differs:
    // a static SVG cannot scroll, so every item gets a computed cell.
    const option = lineChartOption(
      {
        title: chart.title,
        xName: chart.xName,
        yName: chart.yName,
        ...(chart.yLog ? { yLog: true } : {}),
        series: chart.series.map((s, i) => ({
          name: names[i]!,
          data: data[i]!,
          ...(s.dashed ? { dashed: true } : {}),
          ...(s.color ? { color: s.color } : {}),
          ...(s.area !== undefined ? { area: s.area } : {}),
        })),
        referenceLines: refs,
      },
      {
        gridTop,
        // One legend component per item at a position computed here (a grid of equal cells): no
        // overlap whatever font the viewer renders with.
        legend: allNames.map((name, i) => ({
          type: 'plain',
          data: [name],
          left: LEGEND_SIDE_PX + (i % legend.perRow) * (LEGEND_ICON_PX + legend.textWidthPx + LEGEND_ITEM_GAP_PX),
          top: TITLE_PX + Math.floor(i / legend.perRow) * LEGEND_ROW_PX,
          padding: 0,
          textStyle: { fontSize: 12, width: legend.textWidthPx, overflow: 'truncate' },
        })),
      },
    );
    c.setOption(option);
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
        `<tr>${data.table.columns
          .map((c) => `<td${c.align === 'left' ? ' class="text"' : ''}>${formatCell(r[c.key], c.digits ?? 2)}</td>`)
          .join('')}</tr>`,
    )
    .join('\n');
  const labelLine = data.labels.length > 0 ? `<p class="chart-label">${escapeHtml(data.labels.join(' · '))}</p>` : '';
  const charts = data.charts
    .map((ch) => `<figure class="chart">${renderChartSvg(ch)}${labelLine}</figure>`)
    .join('\n');
  const notes = data.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('\n');
  const definitions = (data.definitions ?? [])
    .map((d) => `<dt>${escapeHtml(d.term)}</dt><dd>${escapeHtml(d.text)}</dd>`)
    .join('\n');
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
td:first-child, th:first-child, td.text { text-align: left; }
dl.definitions { font-size: 13px; display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; }
dl.definitions dt { font-weight: 600; }
dl.definitions dd { margin: 0; }
.chart { margin: 16px 0; border: 1px solid #dde1e6; border-radius: 6px; padding: 4px; width: fit-content; }
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
${definitions ? `<dl class="definitions">\n${definitions}\n</dl>` : ''}
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
