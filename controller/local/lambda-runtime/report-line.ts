/**
 * Lambda billing and the REPORT log line, as pure functions.
 *
 * Billing rule (AWS Lambda, on-demand, us-east-1): duration is rounded UP to the billing
 * granularity (1 ms), GB-seconds = memoryMb / 1024 x billedMs / 1000, plus a per-request fee.
 * Since August 2025 AWS also bills the INIT phase of on-demand functions, so a cold invocation's
 * billed duration is ceil(init + duration). Worked number: 1,769 MB, init 812.4 ms, duration
 * 15.2 ms -> billed 828 ms -> 1769/1024 x 0.828 = 1.4304 GB-s -> x $0.0000166667 = $0.0000238.
 */
import { lambdaIntraOpThreads } from '../../../profiles/lib/estimates.js';

export interface BillingRates {
  pricePerGbSecondUsd: number;
  pricePerMillionRequestsUsd: number;
  billingGranularityMs: number;
}

export function billedDurationMs(durationMs: number, initMs: number, granularityMs: number, billInit: boolean): number {
  const raw = durationMs + (billInit ? initMs : 0);
  // A 0.0 ms run still bills one unit: Lambda's minimum billed duration is 1 ms.
  return Math.max(granularityMs, Math.ceil(raw / granularityMs) * granularityMs);
}

export function gbSeconds(memoryMb: number, billedMs: number): number {
  return (memoryMb / 1024) * (billedMs / 1000);
}

export function dollars(rates: BillingRates, gbS: number, requests: number): number {
  return gbS * rates.pricePerGbSecondUsd + (requests * rates.pricePerMillionRequestsUsd) / 1e6;
}

export interface ReportFields {
  requestId: string;
  durationMs: number;
  billedMs: number;
  memoryMb: number;
  maxMemoryUsedMb?: number;
  /** Present only on a cold start, like Lambda's REPORT. */
  initMs?: number;
  status?: 'timeout' | 'error';
}

/** `REPORT RequestId: x\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tInit Duration: 150.11 ms\t` */
export function reportLine(f: ReportFields): string {
  let s = `REPORT RequestId: ${f.requestId}\tDuration: ${f.durationMs.toFixed(2)} ms\tBilled Duration: ${f.billedMs} ms\tMemory Size: ${f.memoryMb} MB\t`;
  if (f.maxMemoryUsedMb !== undefined) s += `Max Memory Used: ${Math.ceil(f.maxMemoryUsedMb)} MB\t`;
  if (f.initMs !== undefined) s += `Init Duration: ${f.initMs.toFixed(2)} ms\t`;
  if (f.status === 'timeout') s += 'Status: timeout';
  return s;
}

/** Lambda returns at most the last 4 KB of the log in X-Amz-Log-Result (base64). */
export const LOG_TAIL_BYTES = 4096;

export function logTailBase64(text: string): string {
  const buf = Buffer.from(text, 'utf8');
  return buf.subarray(Math.max(0, buf.length - LOG_TAIL_BYTES)).toString('base64');
}

/**
 * Memory -> intra-op threads for a local instance: Lambda's CPU share (1,769 MB = 1 vCPU, capped
 * at 6) turned into threads by the same rule the profiler's Lambda estimates assume
 * (profiles/lib/estimates.ts lambdaIntraOpThreads, ceil of the share), so the local runtime, the
 * deployed functions and the planner's latency estimates agree. E.g. 512 MB -> 1, 2,048 MB -> 2,
 * 3,008 MB -> 2, 5,307 MB -> 3, 10,240 MB -> 6. (On this 2-core machine more than 2 threads
 * oversubscribes; the local runtime shows the thread count the memory buys.)
 */
export function threadsForMemory(memoryMb: number, memoryMbPerVcpu = 1769, maxVcpu = 6): number {
  return lambdaIntraOpThreads(Math.min(memoryMb / memoryMbPerVcpu, maxVcpu));
}
