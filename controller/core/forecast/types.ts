/**
 * A peak forecaster is a pure step function: feed the mean arrival rate of the step that just ended,
 * get back the forecast of the PEAK per-step rate over the next `horizonSteps` steps (the
 * provisioning horizon: VMs ordered now serve only after their boot delay, so we size for the
 * highest load they will meet). State is a plain value; `step` never mutates its input.
 */
export interface PeakForecaster<S> {
  readonly name: string;
  readonly horizonSteps: number;
  init(): S;
  step(state: S, observedRps: number): { forecastRps: number; state: S };
}

export interface ForecastOptions {
  /** Steps ahead whose peak is forecast (>= 1). */
  horizonSteps: number;
  /** Seasonal period in steps (e.g. 1 day / step). 0 disables the seasonal component. */
  seasonSteps: number;
}
