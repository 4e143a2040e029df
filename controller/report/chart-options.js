/**
 * Chart components shared by every page Spillway draws: the live dashboard (controller/server/
 * dashboard.ts, in the browser, canvas) and the replay and simulate HTML reports
 * (controller/report/render.ts, on the server, SVG). One echarts option builder, so the three look
 * like one product: the same line styles, reference lines, bands and axes.
 *
 * Plain JavaScript without imports on purpose: the server imports it as a module (types in
 * chart-options.d.ts) and the dashboard inlines this very file into its page (`export` dropped),
 * so the browser runs the same code with no bundler and no network.
 */

/** Colours by meaning, the same on every page. */
export const PALETTE = {
  load: '#2c3e50',
  vm: '#2e86de',
  vmBooting: '#9cc8f3',
  lambda: '#f39c12',
  forecast: '#8e44ad',
  cold: '#16a085',
  bad: '#c0392b',
  timeout: '#7f1d1d',
  ok: '#27ae60',
};

/**
 * A headroom band as two stacked series: an invisible base at `lower` and the band's height on
 * top of it, filled. `lower` and `upper` are [x, y | null] points with the same x values.
 */
export function bandSeries(name, lower, upper, color) {
  const height = upper.map((p, i) => {
    const lo = lower[i] ? lower[i][1] : null;
    return [p[0], p[1] === null || lo === null ? null : Math.max(0, p[1] - lo)];
  });
  return [
    { name: `${name} (base)`, data: lower, stack: name, hideLine: true, noLegend: true, color },
    { name, data: height, stack: name, hideLine: true, area: 0.25, color },
  ];
}

/**
 * The echarts option of a line chart.
 * spec: { title, subtitle?, xName, yName, yLog?, y2Name?, y2Max?, series: [{ name, data: [[x, y|null]],
 *   dashed?, dotted?, color?, area? (opacity), stack?, step?, yAxis? (0|1), hideLine?, noLegend?,
 *   width? }], referenceLines?: [{ name, y }] }
 * layout: { xType? ('value' | 'time'), legend? (an echarts legend, or an array of them),
 *   gridTop?, gridRight?, animation? }
 */
export function lineChartOption(spec, layout) {
  const l = layout || {};
  let x0 = Number.POSITIVE_INFINITY;
  let x1 = Number.NEGATIVE_INFINITY;
  for (const s of spec.series) {
    for (const p of s.data) {
      if (p[0] < x0) x0 = p[0];
      if (p[0] > x1) x1 = p[0];
    }
  }
  const series = spec.series.map((s) => {
    const out = {
      name: s.name,
      type: 'line',
      showSymbol: false,
      connectNulls: false,
      lineStyle: { width: s.hideLine ? 0 : (s.width ?? 1.5), type: s.dashed ? 'dashed' : s.dotted ? 'dotted' : 'solid' },
      data: s.data,
    };
    if (s.color) {
      out.lineStyle.color = s.color;
      out.itemStyle = { color: s.color };
    }
    if (s.area !== undefined) out.areaStyle = { opacity: s.area };
    if (s.stack) out.stack = s.stack;
    if (s.step) out.step = 'end';
    if (s.yAxis) out.yAxisIndex = s.yAxis;
    if (s.noLegend) {
      out.tooltip = { show: false };
      out.silent = true;
    }
    return out;
  });
  // Reference lines as their own (legend-listed) series spanning the x range: a markLine label
  // would sit on top of the data at the right edge.
  const refs = (spec.referenceLines || []).filter((r) => Number.isFinite(r.y) && (!spec.yLog || r.y > 0));
  for (const r of refs) {
    series.push({
      name: r.name,
      type: 'line',
      showSymbol: false,
      lineStyle: { width: 1.5, type: 'dotted', color: PALETTE.bad },
      itemStyle: { color: PALETTE.bad },
      data: [
        [x0, r.y],
        [x1, r.y],
      ],
    });
  }
  const yAxis = [
    spec.yLog
      ? { type: 'log', logBase: 10, name: `${spec.yName} (log scale)`, nameLocation: 'middle', nameGap: 50 }
      : { type: 'value', name: spec.yName, nameLocation: 'middle', nameGap: 50 },
  ];
  if (spec.y2Name) {
    yAxis.push({ type: 'value', name: spec.y2Name, nameLocation: 'middle', nameGap: 45, splitLine: { show: false }, ...(spec.y2Max !== undefined ? { max: spec.y2Max } : {}) });
  }
  const legendNames = series.filter((s) => !s.silent).map((s) => s.name);
  const option = {
    animation: l.animation === true,
    title: {
      text: spec.title,
      left: 'center',
      top: 4,
      textStyle: { fontSize: 14 },
      ...(spec.subtitle ? { subtext: spec.subtitle, subtextStyle: { fontSize: 11 }, itemGap: 10 } : {}),
    },
    legend: l.legend ?? { type: 'scroll', top: spec.subtitle ? 46 : 26, data: legendNames, textStyle: { fontSize: 11 } },
    grid: { left: 70, right: l.gridRight ?? (spec.y2Name ? 60 : 30), top: l.gridTop ?? (spec.subtitle ? 80 : 60), bottom: 50 },
    xAxis:
      l.xType === 'time'
        ? { type: 'time', name: spec.xName, nameLocation: 'middle', nameGap: 28 }
        : { type: 'value', name: spec.xName, nameLocation: 'middle', nameGap: 28, scale: true },
    yAxis: yAxis.length === 1 ? yAxis[0] : yAxis,
    series,
  };
  if (l.xType === 'time') option.tooltip = { trigger: 'axis' };
  return option;
}
