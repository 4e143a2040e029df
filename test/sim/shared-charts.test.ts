/**
 * The live dashboard and the replay/simulate reports draw with one chart module
 * (controller/report/chart-options.js): the page inlines that very file, the reports import it,
 * so the same thing (VM, Lambda, load) has the same colour and line style on all three pages.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bandSeries, lineChartOption, PALETTE } from '../../controller/report/chart-options.js';
import { renderChartSvg } from '../../controller/report/render.js';
import { dashboardHtml } from '../../controller/server/dashboard.js';

const inlineScripts = (html: string) => [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);

describe('one chart module for the dashboard and the reports', () => {
  it('the dashboard page inlines chart-options.js itself (exports dropped) and parses as a classic script', () => {
    const html = dashboardHtml();
    const source = readFileSync(new URL('../../controller/report/chart-options.js', import.meta.url), 'utf8');
    const [script] = inlineScripts(html);
    expect(script).toContain(source.replace(/^export /gm, ''));
    // A syntax check only (nothing runs): the browser gets valid JavaScript.
    expect(() => new Function(script!)).not.toThrow();
    // Everything it loads comes from the controller itself.
    expect([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1])).toEqual(['/openapi.json', '/dashboard/echarts.min.js']);
  });

  it('the reports colour by the same meaning (VM blue, Lambda orange) as the dashboard', () => {
    const svg = renderChartSvg({
      title: 'Load and where it was served',
      xName: 's',
      yName: 'rps',
      series: [
        { name: 'served on VMs', x: [0, 1, 2], y: [1, 2, 3], color: PALETTE.vm, area: 0.35 },
        { name: 'served on Lambda', x: [0, 1, 2], y: [3, 2, 1], color: PALETTE.lambda },
      ],
    });
    expect(svg.toLowerCase()).toContain(PALETTE.vm);
    expect(svg.toLowerCase()).toContain(PALETTE.lambda);
  });

  it('lineChartOption: reference lines span the data, a band is a filled stack on an invisible base, a second axis when asked', () => {
    const lower: Array<[number, number | null]> = [[0, 8], [10, null], [20, 10]];
    const upper: Array<[number, number | null]> = [[0, 10], [10, 12], [20, 13]];
    const o = lineChartOption(
      {
        title: 't',
        xName: 'x',
        yName: 'rps',
        y2Name: 'in flight',
        series: [...bandSeries('headroom', lower, upper), { name: 'in flight', data: [[0, 1], [20, 2]], yAxis: 1 }],
        referenceLines: [{ name: 'SLO', y: 5 }],
      },
      { xType: 'time' },
    ) as { series: Array<{ name: string; data: unknown; stack?: string; areaStyle?: unknown; silent?: boolean; yAxisIndex?: number }>; yAxis: unknown[]; xAxis: { type: string } };
    const [base, band, inFlight, slo] = o.series;
    expect(base!.silent).toBe(true);
    expect(band!.stack).toBe(base!.stack);
    expect(band!.areaStyle).toBeDefined();
    expect(band!.data).toEqual([[0, 2], [10, null], [20, 3]]);
    expect(inFlight!.yAxisIndex).toBe(1);
    expect(slo!.data).toEqual([[0, 5], [20, 5]]);
    expect(o.yAxis).toHaveLength(2);
    expect(o.xAxis.type).toBe('time');
  });
});
