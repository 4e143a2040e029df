import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'spillway-sim-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CHROMIUM = '/usr/bin/chromium';

async function simulateCli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', 'controller/cli/spillway.ts', 'simulate', ...args], {
    cwd: join(import.meta.dirname, '..', '..'),
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  });
}

describe('spillway simulate (real child process)', () => {
  const report = join(dir, 'report.html');

  it('--json prints exactly one JSON array, one object per policy, and writes the report', async () => {
    const { stdout } = await simulateCli([
      '--trace', 'builtin:spike', '--mean-rps', '40', '--start-hours', '0.75', '--hours', '0.3',
      '--policies', 'vm-peak,lambda-only,spock,clairvoyant', '--min-accuracy', '65', '--json', '--report', report,
    ]);
    const rows = JSON.parse(stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => r.policy)).toEqual(['vm-peak', 'lambda-only', 'spock', 'clairvoyant']);
    for (const r of rows) {
      expect(typeof r.totalUsd).toBe('number');
      expect(r.syntheticWorkload).toBe(true);
      expect(r.labels).toContain('synthetic workload (builtin:spike)');
    }
    const lambdaOnly = rows.find((r) => r.policy === 'lambda-only')!;
    expect(lambdaOnly.lambdaPct).toBe(100);
    // Same floor, same kind of model: every simulated policy answered with real weights >= 65 %.
    for (const r of rows.filter((x) => x.policy !== 'clairvoyant')) {
      expect(r.avgAccuracy as number).toBeGreaterThanOrEqual(65);
      expect(String(r.modelMix)).not.toMatch(/synthetic/);
      expect(String(r.description).length).toBeGreaterThan(20);
    }
    expect(existsSync(report)).toBe(true);
  }, 150_000);

  it('rejects a bad flag value with a message naming the flag', async () => {
    await expect(simulateCli(['--trace', 'builtin:steady', '--slo-ms', '-5'])).rejects.toThrow(/--slo-ms must be a number > 0/);
  }, 60_000);

  it.skipIf(!existsSync(CHROMIUM))('the HTML report renders its charts offline in headless Chromium', async () => {
    const html = readFileSync(report, 'utf8');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    const context = await chromium.launchPersistentContext(mkdtempSync(join(dir, 'chromium-')), {
      executablePath: CHROMIUM,
      viewport: { width: 1000, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await context.newPage();
      await page.goto(`file://${report}`);
      expect(await page.locator('figure.chart svg').count()).toBe(4);
      // Each chart draws real lines (path elements), not an empty frame.
      expect(await page.locator('figure.chart svg path').count()).toBeGreaterThan(20);
      expect(await page.locator('table tbody tr').count()).toBe(4);
      expect(await page.textContent('body')).toContain('synthetic workload');
      // Model mix and served accuracy in the table, one line per policy under it.
      const head = await page.locator('table thead').textContent();
      expect(head).toContain('model mix');
      expect(head).toContain('served acc. %');
      expect(await page.locator('dl.definitions dt').allTextContents()).toEqual(['vm-peak', 'lambda-only', 'spock', 'clairvoyant']);
      // Legends fit: every legend label lies inside its chart, no two overlap, and all sit above
      // the plot (above the highest y-axis label).
      const layout = await page.locator('figure.chart svg').evaluateAll((svgs) =>
        svgs.map((svg) => {
          const box = svg.getBoundingClientRect();
          const texts = [...svg.querySelectorAll('text')].map((t) => ({ s: t.textContent ?? '', r: t.getBoundingClientRect() }));
          const legend = texts.filter((t) => /^(load|(vm-peak|lambda-only|spock)( capacity)?)( \(no data\))?$/.test(t.s));
          const axis = texts.filter((t) => /^[0-9.,]+$/.test(t.s) && t.r.left < box.left + 80);
          return {
            inside: legend.every((t) => t.r.left >= box.left && t.r.right <= box.right && t.r.top >= box.top),
            overlaps: legend.some((a, i) => legend.some((b, j) => j > i && a.r.left < b.r.right && b.r.left < a.r.right && a.r.top < b.r.bottom && b.r.top < a.r.bottom)),
            legendBottom: Math.max(...legend.map((t) => t.r.bottom)),
            plotTop: Math.min(...axis.map((t) => t.r.top)),
            n: legend.length,
          };
        }),
      );
      expect(layout[0]!.n).toBe(4); // load + 3 capacities
      for (const l of layout) {
        expect(l.inside).toBe(true);
        expect(l.overlaps).toBe(false);
        expect(l.legendBottom).toBeLessThan(l.plotTop);
      }
      const png = await page.locator('figure.chart').first().screenshot();
      const stats = await sharp(png).stats();
      // Not blank: the pixels vary (a blank white image has stdev 0 in every channel).
      expect(Math.max(...stats.channels.map((c) => c.stdev))).toBeGreaterThan(5);
    } finally {
      await context.close();
    }
  }, 60_000);
});
