/**
 * The live dashboard at GET /: one HTML page with its CSS and script inline, drawing with the
 * echarts build the controller serves itself at /dashboard/echarts.min.js (node_modules), so the
 * page needs no network beyond the controller. Its charts come from the same option builder as
 * the replay and simulate reports (controller/report/chart-options.js, inlined here).
 *
 * Updates by polling, every 2 s: /v1/status (the figures) and /v1/history?since=<last sample>
 * (the new samples and decisions only). Polling rather than server-sent events: the controller
 * has one new sample per tick, so a 2 s poll is as live as a stream; plain GETs pass every proxy
 * and load balancer (an ALB's idle timeout and buffering do not cut them off), reconnecting is
 * just the next poll, and the API key travels in a header (EventSource cannot send one).
 *
 * The page loads without the API key; its data calls need it. On a 401 it asks for the key once
 * and keeps it in sessionStorage for the tab's session.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export const DASHBOARD_ECHARTS_PATH = '/dashboard/echarts.min.js';
/** How often the page polls (ms). */
export const DASHBOARD_POLL_MS = 2_000;

let pageCache: string | undefined;
let echartsCache: Buffer | undefined;

function readHere(name: string): string {
  return readFileSync(new URL(name, import.meta.url), 'utf8');
}

/** chart-options.js as a classic script: the same code, its `export` keywords dropped. */
function inlineChartOptions(): string {
  return readHere('../report/chart-options.js').replace(/^export /gm, '');
}

/** `</script` inside inlined code would end the script element early. */
function scriptSafe(js: string): string {
  return js.replace(/<\/script/gi, '<\\/script');
}

export function dashboardHtml(): string {
  if (pageCache !== undefined) return pageCache;
  const css = readHere('./dashboard/page.css');
  const js = `${inlineChartOptions()}\nconst POLL_MS = ${DASHBOARD_POLL_MS};\n${readHere('./dashboard/page.js')}`;
  pageCache = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Spillway · live</title>
<style>
${css}
</style>
</head>
<body>
<header>
  <h1>Spillway <span class="sub">live: VMs for the steady load, Lambda for the rest</span></h1>
  <span id="conn" class="conn">connecting…</span>
</header>
<form id="key-form" hidden>
  <label for="api-key">This controller needs its API key (kept for this tab only):</label>
  <input id="api-key" name="api-key" type="password" autocomplete="off" required>
  <button type="submit">Use key</button>
  <span id="key-error" class="error"></span>
</form>
<section id="tiles" class="tiles">
  <div class="tile"><span class="label">arrivals</span><span class="value" data-field="arrivalRps">–</span><span class="unit">rps</span></div>
  <div class="tile"><span class="label">forecast</span><span class="value" data-field="forecastRps">–</span><span class="unit">rps</span></div>
  <div class="tile"><span class="label">VMs ready / booting / draining</span><span class="value"><span data-field="vmsReady">–</span> / <span data-field="vmsBooting">–</span> / <span data-field="vmsDraining">–</span></span></div>
  <div class="tile"><span class="label">Lambda in flight</span><span class="value"><span data-field="lambdaInFlight">–</span> / <span data-field="lambdaConcurrency">–</span></span></div>
  <div class="tile"><span class="label">Lambda share (last <span data-field="recentWindowS">30</span> s)</span><span class="value" data-field="lambdaShare">–</span><span class="unit">%</span></div>
  <div class="tile"><span class="label">answered VM / Lambda · refused · failed</span><span class="value"><span data-field="answeredVm">–</span> / <span data-field="answeredLambda">–</span> · <span data-field="rejected">–</span> · <span data-field="failed">–</span></span></div>
  <div class="tile"><span class="label">cost so far EC2 / Lambda</span><span class="value">$<span data-field="ec2Usd">–</span> / $<span data-field="lambdaUsd">–</span></span></div>
  <div class="tile"><span class="label">total</span><span class="value">$<span data-field="totalUsd">–</span></span></div>
  <div class="tile wide"><span class="label">break-even the planner uses</span><span class="value small" data-field="breakEven">–</span></div>
</section>
<main class="charts">
  <figure class="chart" id="chart-load"></figure>
  <figure class="chart" id="chart-fleet"></figure>
  <figure class="chart" id="chart-answers"></figure>
  <figure class="chart" id="chart-latency"></figure>
  <figure class="chart" id="chart-cost"></figure>
  <figure class="chart" id="chart-mix"></figure>
</main>
<section class="decisions">
  <h2>Last decisions</h2>
  <ol id="decisions" reversed></ol>
</section>
<footer>Policy <span data-field="policy">–</span> · status at <span data-field="statusAt">–</span> · polling every ${DASHBOARD_POLL_MS / 1000} s · <a href="/openapi.json">API</a></footer>
<script src="${DASHBOARD_ECHARTS_PATH}"></script>
<script>
${scriptSafe(js)}
</script>
</body>
</html>
`;
  return pageCache;
}

/** The echarts browser build from node_modules (the same package the reports render with). */
export function echartsBrowserBuild(): Buffer {
  if (echartsCache !== undefined) return echartsCache;
  const path = createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');
  echartsCache = readFileSync(path);
  return echartsCache;
}
