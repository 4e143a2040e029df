/**
 * Parsing of the Lambda runtime's REPORT log line, returned base64-encoded in LogResult when
 * Invoke is called with LogType 'Tail' (the last 4 KB of the invocation's log), e.g.
 * "REPORT RequestId: 1f... Duration: 12.34 ms Billed Duration: 13 ms Memory Size: 1024 MB
 *  Max Memory Used: 180 MB Init Duration: 812.50 ms"
 * Init Duration is present only on a cold start.
 */

export interface LambdaReport {
  durationMs: number;
  billedDurationMs: number;
  memoryMb: number;
  maxMemoryUsedMb?: number;
  initDurationMs?: number;
}

function num(line: string, label: string): number | undefined {
  const m = new RegExp(`${label}:\\s*([0-9.]+)`).exec(line);
  return m?.[1] !== undefined ? Number(m[1]) : undefined;
}

export function parseReportLine(logTail: string): LambdaReport | undefined {
  const line = logTail.split('\n').find((l) => l.startsWith('REPORT '));
  if (!line) return undefined;
  const durationMs = num(line, '(?<!Billed |Init )Duration');
  const billedDurationMs = num(line, 'Billed Duration');
  const memoryMb = num(line, 'Memory Size');
  if (durationMs === undefined || billedDurationMs === undefined || memoryMb === undefined) return undefined;
  const maxMemoryUsedMb = num(line, 'Max Memory Used');
  const initDurationMs = num(line, 'Init Duration');
  return {
    durationMs,
    billedDurationMs,
    memoryMb,
    ...(maxMemoryUsedMb !== undefined ? { maxMemoryUsedMb } : {}),
    ...(initDurationMs !== undefined ? { initDurationMs } : {}),
  };
}

export function decodeLogResult(logResult: string | undefined): string {
  if (!logResult) return '';
  return Buffer.from(logResult, 'base64').toString('utf8');
}
