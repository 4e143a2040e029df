/**
 * Retry with "full jitter" exponential backoff (AWS Architecture Blog, "Exponential Backoff and
 * Jitter"): sleep = random() * min(capMs, baseMs * 2^attempt). Full jitter spreads retries of many
 * callers that failed together, e.g. base 50 ms: attempt 0 waits 0-50 ms, attempt 3 waits 0-400 ms.
 */

export interface BackoffOptions {
  /** @default 50 */
  baseMs?: number;
  /** @default 2000 */
  capMs?: number;
  /** Injectable for tests. @default Math.random */
  random?: () => number;
}

/** Delay before retry number `attempt` (0-based). */
export function fullJitterDelayMs(attempt: number, opts: BackoffOptions = {}): number {
  const baseMs = opts.baseMs ?? 50;
  const capMs = opts.capMs ?? 2000;
  const random = opts.random ?? Math.random;
  return random() * Math.min(capMs, baseMs * 2 ** attempt);
}

export function sleepMs(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Shape shared by AWS SDK v3 service exceptions (ServiceException from @smithy/smithy-client). */
export interface SdkErrorLike {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: 'client' | 'server';
}

export function sdkErrorCode(err: unknown): string {
  const e = (err ?? {}) as SdkErrorLike;
  return e.Code ?? e.code ?? e.name ?? 'UnknownError';
}

export function sdkHttpStatus(err: unknown): number | undefined {
  return ((err ?? {}) as SdkErrorLike).$metadata?.httpStatusCode;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'TimeoutError',
  'RequestTimeout',
]);

/** True for a network failure (no HTTP answer at all), which is always safe to retry. */
export function isNetworkError(err: unknown): boolean {
  if (sdkHttpStatus(err) !== undefined) return false;
  const e = (err ?? {}) as SdkErrorLike & { cause?: { code?: string } };
  return NETWORK_CODES.has(e.code ?? '') || NETWORK_CODES.has(e.name ?? '') || NETWORK_CODES.has(e.cause?.code ?? '');
}

/** True for an AWS 5xx answer (the service failed, not our request). */
export function isServerError(err: unknown): boolean {
  const status = sdkHttpStatus(err);
  return status !== undefined && status >= 500;
}

export function isAbortError(err: unknown): boolean {
  const name = ((err ?? {}) as { name?: string }).name;
  return name === 'AbortError';
}
