/**
 * The live dashboard in a real browser: the real stack (local Lambda runtime, VM processes, the
 * policy) with an API key, a short burst replayed against it, then the page at / in headless
 * Chromium (playwright-core, the system's chromium as in test/sim/cli-report.test.ts). Checks that
 * the page asks for the key once, that the figures it shows are the /v1/status answers it got,
 * that its six charts render, and that it asks nothing of any host but the controller (every
 * other request is intercepted and aborted: it works without the internet). The page is opened
 * before the burst and watches it live; its screenshot, taken during the spike's step (a VM
 * booting or just ready while Lambda carries the load), is kept in reports/dashboard.png
 * (SPILLWAY_UPDATE_SCREENSHOT=1: also docs/dashboard.png, the README's picture).
 * /v1/history itself is checked against the OpenAPI document.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../functions/engine/registry.js';
import { runReplay } from '../../controller/replay/run-replay.js';
import type { HistoryResponse, StatusResponse } from '../../controller/server/schemas.js';
import type { Stack } from '../../controller/server/stack.js';
import { OpenApiChecker, call, startTestStack, writeVmFavouringCatalog } from './helpers.js';

const API_KEY = 'dashboard-e2e-key-42';

/** The little of the DOM the page functions below read (the test compiles without lib.dom). */
interface PageDom {
  body: { dataset: Record<string, string | undefined> };
  querySelectorAll(selector: string): Iterable<{ dataset: Record<string, string | undefined>; textContent: string | null }>;
}
const H = { 'x-api-key': API_KEY };

function findChromium(): string | undefined {
  if (process.env['CHROMIUM_PATH'] && existsSync(process.env['CHROMIUM_PATH'])) return process.env['CHROMIUM_PATH'];
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(p)) return p;
  try {
    const p = execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
    return p || undefined;
  } catch {
    return undefined;
  }
}
const CHROMIUM = findChromium();
const CI = process.env['CI'] === 'true';
const NO_CHROMIUM = 'no Chromium found (/usr/bin/chromium or CHROMIUM_PATH): install the Debian `chromium` package (.ci/run does)';

/** The page's formats (controller/server/dashboard/page.js fmt). */
const rps = (x: number | null) => (x === null || !Number.isFinite(x) ? '–' : x.toFixed(2));
const usd = (x: number) => x.toFixed(6);
const pct = (x: number) => (x * 100).toFixed(1);

describe('live dashboard at / (real stack, headless Chromium)', () => {
  let stack: Stack;
  let oa: OpenApiChecker;
  const dir = mkdtempSync(join(tmpdir(), 'spillway-dashboard-'));
  // The browser side, opened before the burst (undefined without Chromium).
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  const elsewhere: string[] = [];
  const statuses = new Map<string, StatusResponse>();
  const unauthorized: string[] = [];
  const pageErrors: string[] = [];
  let keyAskedBeforeKey = false;
  let keyFormAfterKey = true;
  let shotTaken = false;

  beforeAll(async () => {
    stack = await startTestStack({
      apiKey: API_KEY,
      sloMs: 5_000,
      tickIntervalMs: 1_000,
      vmBootDelayMs: 3_000,
      maxVms: 1,
      lambdaConcurrency: 4,
      backendTimeoutMs: 30_000,
      // Lambda priced x20 (helpers.ts): at this rate the planner then buys a VM, so the fleet chart
      // shows one booting and then ready while Lambda carries the gap.
      catalogPath: writeVmFavouringCatalog(),
    });
    oa = new OpenApiChecker((await call(stack.url, '/openapi.json', { headers: H })).body as Record<string, unknown>);
    if (CHROMIUM) {
      context = await chromium.launchPersistentContext(mkdtempSync(join(dir, 'chromium-')), {
        executablePath: CHROMIUM,
        viewport: { width: 1400, height: 1000 },
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      const controller = new URL(stack.url).host;
      // No internet: anything not addressed to the controller is refused (and recorded).
      await context.route('**/*', (route) => {
        const u = new URL(route.request().url());
        if (u.host === controller) return route.continue();
        elsewhere.push(u.href);
        return route.abort('internetdisconnected');
      });
      page = await context.newPage();
      page.on('pageerror', (e) => pageErrors.push(String(e)));
      page.on('response', async (res) => {
        const path = new URL(res.url()).pathname;
        if (res.status() === 401) unauthorized.push(path);
        if (path === '/v1/status' && res.status() === 200) {
          const body = (await res.json()) as StatusResponse;
          statuses.set(String(body.nowMs), body);
        }
      });
      await page.goto(`${stack.url}/`);
      // Without a key the first data call is refused and the page asks for it.
      await page.locator('#key-form').waitFor({ state: 'visible', timeout: 10_000 });
      keyAskedBeforeKey = true;
      await page.fill('#api-key', API_KEY);
      await page.press('#api-key', 'Enter');
      await page.waitForFunction(() => Number((globalThis as unknown as { document: PageDom }).document.body.dataset['samples'] ?? 0) > 0, null, { timeout: 15_000 });
      keyFormAfterKey = await page.locator('#key-form').isVisible();
    }
    const replay = runReplay({
      target: stack.url,
      // 10 s before the spike's 4x step and 10 s into it.
      trace: 'builtin:spike',
      startS: 10,
      meanRps: 12,
      durationS: 20,
      sloMs: 5_000,
      minAccuracy: 0,
      apiKey: API_KEY,
      requestTimeoutMs: 40_000,
    });
    if (page) {
      // Into the step: the VM the planner bought is booting or has just taken over from Lambda.
      await new Promise((r) => setTimeout(r, 17_000));
      // Kept in reports/ (git-ignored) on every run; SPILLWAY_UPDATE_SCREENSHOT=1 also refreshes the
      // README's docs/dashboard.png, so a test run does not leave a tracked file modified.
      const png = await page.screenshot({ fullPage: true });
      const dirs = [join(repoRoot(), 'reports')];
      if (process.env.SPILLWAY_UPDATE_SCREENSHOT === '1') dirs.push(join(repoRoot(), 'docs'));
      for (const dir of dirs) {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'dashboard.png'), png);
      }
      shotTaken = true;
    }
    await replay;
    // Two more ticks and a poll: the last answers are in a sample and on the page.
    await new Promise((r) => setTimeout(r, 3_000));
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET /v1/history: behind the key, an hour of ticks, every answer in a sample, documented', async () => {
    expect((await call(stack.url, '/v1/history')).status).toBe(401);
    const bad = await call(stack.url, '/v1/history?since=soon', { headers: H });
    expect(bad.status).toBe(400);
    oa.check('/v1/history', 'get', 400, bad.body);
    const r = await call(stack.url, '/v1/history', { headers: H });
    expect(r.status).toBe(200);
    oa.check('/v1/history', 'get', 200, r.body);
    const h = r.body as HistoryResponse;
    expect(h.capacity).toBe(3_600); // an hour at one sample per 1 s tick
    expect(h.samples.length).toBeGreaterThan(15);
    const status = (await call(stack.url, '/v1/status', { headers: H })).body as StatusResponse;
    oa.check('/v1/status', 'get', 200, status);
    const answered = h.samples.reduce((a, s) => a + s.answers.vm + s.answers.lambda, 0);
    expect(answered).toBe(status.traffic.totals.vm + status.traffic.totals.lambda);
    expect(h.samples.some((s) => s.arrivalRps > 0 && s.p99Ms !== null && s.sloAttainment !== null)).toBe(true);
    expect(h.decisions.length).toBeGreaterThan(0);
    expect(h.decisions.some((d) => d.summary.some((w) => /^launched 1 c7a\.medium/.test(w)))).toBe(true);
    expect(status.plan?.summary.length).toBeGreaterThan(0);
    expect(status.plan?.facts?.breakEven.length).toBeGreaterThan(0);
    // Incremental: only what came after the given time.
    const last = h.samples[h.samples.length - 1]!;
    const next = (await call(stack.url, `/v1/history?since=${last.atMs}`, { headers: H })).body as HistoryResponse;
    expect(next.samples.every((s) => s.atMs > last.atMs)).toBe(true);
  });

  it('the page and its chart library load without the key; nothing else does', async () => {
    const res = await fetch(new URL('/', stack.url));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<script src="/dashboard/echarts.min.js">');
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)="https?:/i); // nothing from another host
    const lib = await fetch(new URL('/dashboard/echarts.min.js', stack.url));
    expect(lib.status).toBe(200);
    expect((await lib.arrayBuffer()).byteLength).toBeGreaterThan(500_000);
  });

  it('in Chromium: asks for the key once, shows /v1/status, draws six charts, talks to no other host', async (ctx) => {
    if (!page) {
      if (CI) throw new Error(NO_CHROMIUM);
      ctx.skip(NO_CHROMIUM);
      return;
    }
    expect(keyAskedBeforeKey).toBe(true);
    expect(keyFormAfterKey).toBe(false);
    expect(shotTaken).toBe(true);
    const p = page;
    const read = () =>
      p.evaluate(() => {
        const f: Record<string, string> = {};
        const doc = (globalThis as unknown as { document: PageDom }).document;
        for (const el of doc.querySelectorAll('[data-field]')) f[el.dataset['field']!] = el.textContent ?? '';
        return { at: doc.body.dataset['statusAt'] ?? '', f };
      });
    let shown = await read();
    // The response listener parses bodies asynchronously: give it a moment to record this one.
    for (let i = 0; i < 20 && !statuses.has(shown.at); i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (i === 10) shown = await read();
    }
    // The figures shown are those of the /v1/status answer the page rendered last.
    const st = statuses.get(shown.at);
    expect(st, `the page shows status ${shown.at}; seen ${[...statuses.keys()].join(', ')}`).toBeDefined();
    const count = (state: string) => String(st!.fleet.filter((v) => v.state === state).length);
    expect(shown.f).toMatchObject({
      arrivalRps: rps(st!.traffic.arrivalRps),
      forecastRps: rps(st!.forecastRps),
      vmsReady: count('ready'),
      vmsBooting: count('booting'),
      vmsDraining: count('draining'),
      lambdaInFlight: String(st!.lambda.inFlight),
      lambdaConcurrency: String(st!.lambda.concurrencyLimit),
      lambdaShare: pct(st!.traffic.recentLambdaShare),
      answeredVm: String(st!.traffic.totals.vm),
      answeredLambda: String(st!.traffic.totals.lambda),
      rejected: String(st!.traffic.totals.rejected),
      failed: String(st!.traffic.totals.failed),
      ec2Usd: usd(st!.cost.ec2Usd),
      lambdaUsd: usd(st!.cost.lambdaUsd),
      totalUsd: usd(st!.cost.totalUsd),
      policy: 'spillway',
    });
    // The load is over: the totals the page shows are the ones /v1/status gives the test now.
    const now = (await call(stack.url, '/v1/status', { headers: H })).body as StatusResponse;
    expect(shown.f['answeredVm']).toBe(String(now.traffic.totals.vm));
    expect(shown.f['answeredLambda']).toBe(String(now.traffic.totals.lambda));
    expect(Number(shown.f['answeredVm']) + Number(shown.f['answeredLambda'])).toBeGreaterThan(50);
    expect(shown.f['breakEven']).toMatch(/c7a\.medium × .*: a VM beats Lambda above \d+ % utilisation/);

    // Six charts, each a canvas with something drawn (pixels vary, not a blank frame).
    const charts = p.locator('figure.chart');
    expect(await charts.count()).toBe(6);
    for (let i = 0; i < 6; i++) {
      const chart = charts.nth(i);
      expect(await chart.locator('canvas').count()).toBeGreaterThan(0);
      const stats = await sharp(await chart.screenshot()).stats();
      expect(Math.max(...stats.channels.map((c) => c.stdev)), `chart ${i} looks blank`).toBeGreaterThan(5);
    }
    // The decisions in plain words, newest first.
    const decisions = await p.locator('#decisions li').allTextContents();
    expect(decisions.length).toBeGreaterThan(0);
    expect(decisions.some((d) => /launched 1 c7a\.medium/.test(d))).toBe(true);

    // The key is asked once per session: a reload finds it in sessionStorage.
    const refusedBefore = unauthorized.length;
    await p.reload();
    await p.waitForFunction(() => Number((globalThis as unknown as { document: PageDom }).document.body.dataset['samples'] ?? 0) > 10, null, { timeout: 15_000 });
    expect(await p.locator('#key-form').isVisible()).toBe(false);
    expect(unauthorized.length).toBe(refusedBefore);
    expect(pageErrors).toEqual([]);
    expect(elsewhere).toEqual([]);
    // Only the first data calls, before the key was typed, were refused.
    expect(unauthorized.length).toBeGreaterThan(0);
    expect(unauthorized.every((path) => path.startsWith('/v1/'))).toBe(true);
  }, 90_000);
});
