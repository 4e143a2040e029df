/**
 * EC2's Spot interruption warning the way AWS recommends receiving it: an EventBridge rule
 * (infra/constructs/spot-interruption-queue.ts) puts every "EC2 Spot Instance Interruption
 * Warning" of the account and region into an SQS queue, and the fleet drains that queue on each
 * describe() (ec2-fleet.ts). The event arrives when EC2 gives the notice, two minutes before it
 * takes the instance back; the two other ways a reclaim shows (the VM's own /readyz answer and
 * DescribeSpotInstanceRequests) stay as fallbacks, since EventBridge delivery is best effort.
 *
 * The rule cannot filter by tag, so the queue holds the Spot warnings of the whole account and region; the
 * fleet keeps the notices about its own instances. Every received message is deleted, parsed or
 * not: a notice is worth nothing after its two minutes, and an unreadable one is logged.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError } from '../errors.js';
import { type AwsClientOptions, resolveClientConfig } from './client-config.js';
import { sdkErrorCode } from './retry.js';
import { parseSpotWarning, type SpotNotice, type SpotNoticeSource } from './spot-warning-event.js';

export interface SqsSpotNoticesOptions extends AwsClientOptions {
  queueUrl: string;
  client?: SQSClient;
  /**
   * Receives (10 messages each) per poll at most: a poll runs once per tick, so 5 x 10 = 50
   * notices a second, more than a whole region's Spot fleet of one account is warned about at once.
   * @default 5
   */
  maxReceives?: number;
  /** @default none */
  log?: { warn(fields: object, msg: string): void };
}

export class SqsSpotNotices implements SpotNoticeSource {
  readonly client: SQSClient;
  private readonly maxReceives: number;

  constructor(private readonly opts: SqsSpotNoticesOptions) {
    if (!/^https?:\/\/\S+$/.test(opts.queueUrl)) throw new ConfigError(`SqsSpotNotices queueUrl must be an http(s) URL, got '${opts.queueUrl}'`);
    this.maxReceives = opts.maxReceives ?? 5;
    if (!Number.isInteger(this.maxReceives) || this.maxReceives < 1) {
      throw new ConfigError(`SqsSpotNotices maxReceives must be an integer >= 1, got ${opts.maxReceives}`);
    }
    this.client = opts.client ?? new SQSClient({ ...resolveClientConfig(opts), maxAttempts: 2 });
  }

  /** Throws the SDK's error when the queue cannot be read (the fleet then uses its fallbacks). */
  async poll(): Promise<SpotNotice[]> {
    const out: SpotNotice[] = [];
    for (let i = 0; i < this.maxReceives; i++) {
      // WaitTimeSeconds 0: the poll runs inside the control tick and must not hold it.
      const res = await this.client.send(
        new ReceiveMessageCommand({ QueueUrl: this.opts.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30 }),
      );
      const msgs = res.Messages ?? [];
      if (msgs.length === 0) break;
      for (const m of msgs) {
        const n = parseSpotWarning(m.Body ?? '', Date.now());
        if ('error' in n) this.opts.log?.warn({ messageId: m.MessageId }, `Spot notice queue: message ${m.MessageId} ignored: ${n.error}`);
        else out.push(n);
      }
      const entries = msgs.filter((m) => m.ReceiptHandle).map((m, k) => ({ Id: String(k), ReceiptHandle: m.ReceiptHandle! }));
      try {
        const del = await this.client.send(new DeleteMessageBatchCommand({ QueueUrl: this.opts.queueUrl, Entries: entries }));
        if ((del.Failed ?? []).length > 0) {
          this.opts.log?.warn({ failed: del.Failed!.length }, `Spot notice queue: ${del.Failed!.length} message(s) not deleted; they come back after 30 s`);
        }
      } catch (err) {
        // The notices read are still used; the messages reappear and are applied again (harmless).
        this.opts.log?.warn({ code: sdkErrorCode(err) }, `Spot notice queue: DeleteMessageBatch failed: ${sdkErrorCode(err)}`);
      }
      if (msgs.length < 10) break;
    }
    return out;
  }

  close(): void {
    this.client.destroy();
  }
}
