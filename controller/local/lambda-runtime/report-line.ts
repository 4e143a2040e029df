/**
 * The REPORT log line and the log tail of the local Lambda runtime, as pure functions. The billing
 * behind the REPORT's Billed Duration is profiles/pricing.ts.
 */

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
