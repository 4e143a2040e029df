/**
 * The report's charts (controller/report/render.ts, real echarts SSR): an empty chart says
 * "no data" instead of drawing zeros, gaps stay gaps, latency is on a log axis with the SLO line,
 * and a legend of many series wraps into rows above the plot instead of scrolling off the image.
 */
import { describe, expect, it } from 'vitest';
import { downsample, legendLayout, renderChartSvg } from '../../controller/report/render.js';
import { replayReportData } from '../../controller/replay/html.js';

const t = Array.from({ length: 60 }, (_, i) => i);
const heightOf = (svg: string) => Number(/<svg[^>]*height="(\d+)"/.exec(svg)![1]);

describe('report charts', () => {
  it('an all-empty chart is drawn as "no data", not as a line at zero', () => {
    const svg = renderChartSvg({ title: 'p99', xName: 's', yName: 'ms', series: [{ name: 'p99', x: t, y: t.map(() => Number.NaN) }] });
    expect(svg).toContain('no data');
    expect(svg).not.toMatch(/<path/);
    const none = renderChartSvg({ title: 'nothing', xName: 's', yName: 'ms', series: [] });
    expect(none).toContain('no data');
  });

  it('buckets without a value are gaps (null), and a log axis drops non-positive values', () => {
    expect(downsample([0, 1, 2], [5, Number.NaN, 7])).toEqual([[0, 5], [1, null], [2, 7]]);
    expect(downsample([0, 1, 2], [5, 0, 7], 10, true)).toEqual([[0, 5], [1, null], [2, 7]]);
    const svg = renderChartSvg({
      title: 'mixed',
      xName: 's',
      yName: 'ms',
      series: [
        { name: 'has data', x: t, y: t.map((i) => i + 1) },
        { name: 'empty', x: t, y: t.map(() => Number.NaN) },
      ],
    });
    expect(svg).toContain('empty (no data)');
  });

  it('the replay latency chart is log-scale with the SLO as a labelled line', () => {
    const data = replayReportData(
      {
        trace: 'builtin:spike',
        traceSynthetic: true,
        target: 'http://127.0.0.1:1',
        sent: 3,
        durationS: 3,
        sloMs: 300,
        sloAttainment: 1,
        p50Ms: 20,
        p99Ms: 30,
        lambdaShare: 0,
        rejected503: 0,
        deadline504: 0,
        lost: 0,
        dollars: { ec2: 0, lambda: 0, total: 0 },
        weights: {},
        byVariant: {},
        notes: [],
        perSecond: [0, 1, 2].map((s) => ({ t: s, sent: 1, ok: s === 1 ? 0 : 1, vm: 1, lambda: 0, rejected: 0, lost: 0, p99Ms: s === 1 ? 0 : 20 + s * 1000, lambdaShare: 0, vmsReady: 1, vmsBooting: 0 })),
      } as unknown as Parameters<typeof replayReportData>[0],
      '2026-12-05T00:00:00Z',
    );
    const latency = data.charts.find((c) => c.title.includes('latency'))!;
    expect(latency.yLog).toBe(true);
    expect(latency.referenceLines).toEqual([{ name: 'SLO 300 ms', y: 300 }]);
    // The second with no answer has no p99 (a gap), not 0 ms.
    expect(Number.isNaN(latency.series[0]!.y[1]!)).toBe(true);
    const svg = renderChartSvg(latency);
    expect(svg).toContain('SLO 300 ms');
    expect(svg).toContain('(log scale)');
  });

  it('a legend of 15 series wraps into rows and the chart grows to keep the plot below it', () => {
    const names = ['load', ...['spillway', 'vm-peak', 'vm-reactive', 'lambda-only', 'mark', 'spock', 'infaas'].flatMap((p) => [`${p} capacity`, p])];
    expect(names.length).toBe(15);
    const l = legendLayout(names, 900);
    expect(l.rows).toBe(Math.ceil(15 / l.perRow));
    expect(l.rows).toBeGreaterThan(1);
    // Each cell is wide enough for the longest name at 7 px per character.
    expect(l.textWidthPx).toBe(Math.max(...names.map((n) => n.length)) * 7);
    expect(l.perRow * (30 + l.textWidthPx) + (l.perRow - 1) * 12).toBeLessThanOrEqual(900 - 20);
    const one = renderChartSvg({ title: 'x', xName: 'm', yName: 'y', series: [{ name: 'load', x: t, y: t }] });
    const many = renderChartSvg({ title: 'x', xName: 'm', yName: 'y', series: names.map((name) => ({ name, x: t, y: t })) });
    expect(heightOf(many) - heightOf(one)).toBe((l.rows - 1) * 24);
    for (const n of names) expect(many).toContain(`>${n}<`);
  });
});
