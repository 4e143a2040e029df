/**
 * Spot interruption-notice watcher of the VM server: polls the instance metadata service the way
 * EC2 documents it (IMDSv2, "Spot Instance interruption notices"):
 *   PUT  /latest/api/token                    header X-aws-ec2-metadata-token-ttl-seconds: <1-21600>
 *        -> 200, the token as text
 *   GET  /latest/meta-data/spot/instance-action header X-aws-ec2-metadata-token: <token>
 *        -> 404 while no reclaim is scheduled; 200 {"action":"terminate"|"stop"|"hibernate","time":"2026-12-07T09:00:00Z"}
 *        -> 401 when the token is missing or expired (fetch a new one and ask again)
 * EC2 recommends checking every 5 s; this polls every pollMs (1 s default) so the server stops
 * taking new work within ~1 s of the notice instead of ~5 s of its 120 s.
 *
 * The first notice is final (EC2 does not withdraw one): onNotice runs once and polling stops.
 * IMDS down, timeouts or malformed answers never throw: they are logged (once per failure streak)
 * and the next poll tries again.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { ImdsError } from './errors.js';

export const IMDS_DEFAULT_ENDPOINT = 'http://169.254.169.254';
export const IMDS_TOKEN_PATH = '/latest/api/token';
export const IMDS_INSTANCE_ACTION_PATH = '/latest/meta-data/spot/instance-action';
export const IMDS_TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';
export const IMDS_TOKEN_HEADER = 'x-aws-ec2-metadata-token';
/** IMDSv2's longest token lifetime (6 h). */
export const IMDS_MAX_TOKEN_TTL_S = 21_600;

export interface SpotNotice {
  /** What EC2 will do: terminate, stop or hibernate. */
  action: 'terminate' | 'stop' | 'hibernate';
  /** When, as IMDS gives it (ISO 8601 UTC). */
  time: string;
  /** The same instant in epoch ms. */
  timeMs: number;
}

const InstanceActionSchema = z.object({
  action: z.enum(['terminate', 'stop', 'hibernate']),
  time: z.string().min(1),
});

/** What one instance-action answer says. Pure. */
export type InstanceActionAnswer =
  | { kind: 'none' }
  | { kind: 'notice'; notice: SpotNotice }
  | { kind: 'token-rejected' }
  | { kind: 'malformed'; reason: string };

export function parseInstanceAction(status: number, body: string): InstanceActionAnswer {
  if (status === 404) return { kind: 'none' };
  if (status === 401) return { kind: 'token-rejected' };
  if (status !== 200) return { kind: 'malformed', reason: `status ${status}` };
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { kind: 'malformed', reason: `body is not JSON: '${body.slice(0, 80)}'` };
  }
  const parsed = InstanceActionSchema.safeParse(raw);
  if (!parsed.success)
    return {
      kind: 'malformed',
      reason: `body ${JSON.stringify(raw).slice(0, 80)} lacks action (terminate|stop|hibernate) and time`,
    };
  const timeMs = Date.parse(parsed.data.time);
  if (!Number.isFinite(timeMs))
    return { kind: 'malformed', reason: `time '${parsed.data.time.slice(0, 40)}' is not an ISO 8601 date` };
  return { kind: 'notice', notice: { action: parsed.data.action, time: parsed.data.time, timeMs } };
}

export interface SpotNoticeWatcherOptions {
  /** IMDS base URL. @default http://169.254.169.254 */
  endpoint?: string;
  /** Between polls. @default 1000 */
  pollMs?: number;
  /** Token lifetime asked for; renewed at 80 % of it. @default 21600 (IMDSv2's maximum) */
  tokenTtlS?: number;
  /** Per call. IMDS answers in ~1 ms; a stuck call must not delay the next poll long. @default 1000 */
  timeoutMs?: number;
  onNotice: (notice: SpotNotice) => void;
  log?: Pick<Logger, 'warn' | 'info'>;
  /** @default Date.now */
  now?: () => number;
}

export class SpotNoticeWatcher {
  private readonly endpoint: string;
  private readonly pollMs: number;
  private readonly tokenTtlS: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private token: { value: string; renewAtMs: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failing = false;
  private notice: SpotNotice | undefined;
  /** Polls answered (any answer), for tests and diagnostics. */
  polls = 0;
  /** Polls that failed (IMDS down, timeout, malformed). */
  failures = 0;

  constructor(private readonly opts: SpotNoticeWatcherOptions) {
    this.endpoint = (opts.endpoint ?? IMDS_DEFAULT_ENDPOINT).replace(/\/+$/, '');
    this.pollMs = opts.pollMs ?? 1000;
    this.tokenTtlS = Math.min(IMDS_MAX_TOKEN_TTL_S, Math.max(1, opts.tokenTtlS ?? IMDS_MAX_TOKEN_TTL_S));
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    const loop = async (): Promise<void> => {
      await this.pollOnce();
      if (this.stopped || this.notice) return;
      this.timer = setTimeout(loop, this.pollMs);
      this.timer.unref();
    };
    this.timer = setTimeout(loop, 0);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  noticed(): SpotNotice | undefined {
    return this.notice;
  }

  /** One poll: token (cached), then instance-action. Never throws. */
  async pollOnce(): Promise<InstanceActionAnswer> {
    let answer: InstanceActionAnswer;
    try {
      answer = await this.askInstanceAction();
      if (answer.kind === 'token-rejected') {
        this.token = undefined; // expired or the IMDS restarted: one fresh token, one more try
        answer = await this.askInstanceAction();
      }
    } catch (err) {
      answer = { kind: 'malformed', reason: `IMDS ${this.endpoint} unreachable: ${(err as Error).message}` };
    }
    this.polls++;
    if (answer.kind === 'malformed' || answer.kind === 'token-rejected') {
      this.failures++;
      if (!this.failing)
        this.opts.log?.warn(
          { imds: this.endpoint, answer },
          'spot notice watcher: IMDS answer unusable; retrying',
        );
      this.failing = true;
    } else {
      if (this.failing)
        this.opts.log?.info({ imds: this.endpoint }, 'spot notice watcher: IMDS answers again');
      this.failing = false;
    }
    if (answer.kind === 'notice' && !this.notice && !this.stopped) {
      this.notice = answer.notice;
      this.opts.onNotice(answer.notice);
    }
    return answer;
  }

  private async askInstanceAction(): Promise<InstanceActionAnswer> {
    const token = await this.currentToken();
    const res = await fetch(`${this.endpoint}${IMDS_INSTANCE_ACTION_PATH}`, {
      headers: { [IMDS_TOKEN_HEADER]: token },
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    return parseInstanceAction(res.status, await res.text());
  }

  private async currentToken(): Promise<string> {
    const nowMs = this.now();
    if (this.token && nowMs < this.token.renewAtMs) return this.token.value;
    const res = await fetch(`${this.endpoint}${IMDS_TOKEN_PATH}`, {
      method: 'PUT',
      headers: { [IMDS_TTL_HEADER]: String(this.tokenTtlS) },
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    if (res.status !== 200 || text.length === 0)
      throw new ImdsError(
        `token PUT answered ${res.status}${text.length === 0 ? ' with an empty token' : ''}`,
      );
    // Renew at 80 % of the lifetime: 21,600 s -> after 17,280 s, well before IMDS drops it.
    this.token = { value: text, renewAtMs: nowMs + this.tokenTtlS * 800 };
    return text;
  }
}
