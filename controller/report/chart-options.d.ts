/** Types of chart-options.js (plain JavaScript so that the dashboard page can inline it). */

export type Point = [number, number | null];

export interface ChartSeriesSpec {
  name: string;
  data: Point[];
  dashed?: boolean;
  dotted?: boolean;
  color?: string;
  /** Fill under the line with this opacity. */
  area?: number;
  stack?: string;
  step?: boolean;
  /** 1 = the right-hand axis (spec.y2Name). */
  yAxis?: 0 | 1;
  hideLine?: boolean;
  /** Not in the legend or the tooltip (a band's base). */
  noLegend?: boolean;
  width?: number;
}

export interface ChartSpec {
  title: string;
  subtitle?: string;
  xName: string;
  yName: string;
  yLog?: boolean;
  y2Name?: string;
  y2Max?: number;
  series: ChartSeriesSpec[];
  referenceLines?: Array<{ name: string; y: number }>;
}

export interface ChartLayout {
  xType?: 'value' | 'time';
  legend?: unknown;
  gridTop?: number;
  gridRight?: number;
  animation?: boolean;
}

export declare const PALETTE: Readonly<Record<'load' | 'vm' | 'vmBooting' | 'lambda' | 'forecast' | 'cold' | 'bad' | 'timeout' | 'ok', string>>;
export declare function bandSeries(name: string, lower: Point[], upper: Point[], color?: string): ChartSeriesSpec[];
export declare function lineChartOption(spec: ChartSpec, layout?: ChartLayout): Record<string, unknown>;
