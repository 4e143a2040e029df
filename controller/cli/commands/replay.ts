/**
 * `spillway replay`: drive a running Spillway endpoint with a real trace (open loop), show a live
 * progress bar (rps, p99, share on Lambda, VMs from /v1/status) and print the final report:
 * SLO attainment, dollars by tier, split over time. --json prints the report as JSON on stdout;
 * --report writes the same self-contained HTML report the simulator writes.
 */
import { writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { writeReplayHtml } from '../../replay/html.js';
import { runReplay } from '../../replay/run-replay.js';
import { formatSummary } from '../../replay/format.js';

/** "90", "90s", "2m", "1h" -> seconds. */
export function parseDurationS(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(s.trim());
  if (!m) throw new Error(`--duration: expected seconds or a number with s/m/h (e.g. 90, 90s, 2m), got '${s}'`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : n);
}

function positive(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: expected a positive number, got '${v}'`);
    return n;
  };
}

export function register(program: Command): void {
  program
    .command('replay')
    .description('Replay a request trace (open loop, real requests with sample photos) against a running Spillway endpoint')
    .requiredOption('--target <url>', 'Spillway endpoint, e.g. http://127.0.0.1:8080')
    .requiredOption('--trace <file|builtin:name>', 'trace CSV (t,rps) or builtin:<name>')
    .requiredOption('--mean-rps <n>', 'scale the window so its mean is this many requests/s', positive('--mean-rps'))
    .requiredOption('--duration <d>', 'how long to replay: seconds or 90s / 2m / 1h', parseDurationS)
    .option('--start <s>', 'offset into the trace in seconds', (v) => Number(v), 0)
    .option('--slo-ms <n>', 'latency SLO per request', positive('--slo-ms'), 250)
    .option('--min-accuracy <pct>', 'minimum published top-1 accuracy (0 = any)', (v) => Number(v), 0)
    .option('--task <task>', 'task to request', 'image-classification')
    .option('--api-key <key>', 'x-api-key header (default $SPILLWAY_API_KEY)')
    .option('--seed <n>', 'arrival seed', (v) => Number(v), 1)
    .option('--json', 'print the final report as JSON on stdout (no progress bar)')
    .option('--report <out.html>', 'write the HTML report (same format as `spillway simulate`)')
    .action(async (o: {
      target: string;
      trace: string;
      meanRps: number;
      duration: number;
      start: number;
      sloMs: number;
      minAccuracy: number;
      task: string;
      apiKey?: string;
      seed: number;
      json?: boolean;
      report?: string;
    }) => {
      const bar = o.json
        ? undefined
        : new cliProgress.SingleBar(
            {
              format:
                '{bar} {value}/{total}s | {rps} rps | p99 {p99} ms | Lambda {lambda}% | VMs {vms} | in flight {inflight}',
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          );
      bar?.start(o.duration, 0, { rps: 0, p99: 0, lambda: 0, vms: '0', inflight: 0 });
      const ac = new AbortController();
      const onSig = () => ac.abort();
      process.once('SIGINT', onSig);
      try {
        const apiKey = o.apiKey ?? process.env['SPILLWAY_API_KEY'];
        const { summary } = await runReplay({
          target: o.target,
          trace: o.trace,
          meanRps: o.meanRps,
          durationS: o.duration,
          startS: o.start,
          sloMs: o.sloMs,
          minAccuracy: o.minAccuracy,
          task: o.task,
          seed: o.seed,
          signal: ac.signal,
          ...(apiKey ? { apiKey } : {}),
          onProgress: (p) =>
            bar?.update(Math.floor(p.elapsedS), {
              rps: p.rps,
              p99: p.p99Ms.toFixed(0),
              lambda: (p.lambdaShare * 100).toFixed(0),
              vms: `${p.vmsReady}+${p.vmsBooting} booting`,
              inflight: p.inFlight,
            }),
        });
        bar?.update(o.duration);
        bar?.stop();
        if (o.report) {
          writeFileSync(o.report, writeReplayHtml(summary));
          if (!o.json) console.log(`report written to ${o.report}`);
        }
        if (o.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        else console.log(formatSummary(summary));
        if (summary.lost > 0) process.exitCode = 2;
      } finally {
        bar?.stop();
        process.off('SIGINT', onSig);
      }
    });
}
