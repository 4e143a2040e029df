/**
 * SpotInterruptionQueue: EC2's two-minute Spot interruption warning, delivered the way AWS
 * recommends (EC2 user guide, "Spot Instance interruption notices"): an EventBridge rule on the
 * default bus for `aws.ec2` / "EC2 Spot Instance Interruption Warning" puts each warning into an
 * SQS queue, which the controller drains on every tick (controller/aws/spot-notice-queue.ts) and
 * turns into 'terminating' for its VM. The rule cannot filter by tag: the queue gets the account's
 * warnings for the region, the controller keeps its own. Messages live `retentionS` (a warning is
 * worth nothing once EC2 has taken the instance), TLS-only access, SQS-managed encryption (which
 * EventBridge can write to without a key policy).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SPOT_WARNING_DETAIL_TYPE } from '../../controller/aws/spot-warning-event.js';

export interface SpotInterruptionQueueProps {
  readonly fleetName: string;
  /**
   * How long a warning waits in the queue, s (SQS allows 60 to 1,209,600). The controller reads
   * the queue every tick; a warning older than EC2's 120 s lead is about an instance already gone.
   * @default 300
   */
  readonly retentionS?: number;
}

export class SpotInterruptionQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: SpotInterruptionQueueProps) {
    super(scope, id);
    const retentionS = props.retentionS ?? 300;
    if (!Number.isInteger(retentionS) || retentionS < 60 || retentionS > 1_209_600) {
      throw new Error(`SpotInterruptionQueue retentionS must be an integer in 60..1209600 (SQS's range), got ${retentionS}`);
    }
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(retentionS),
      visibilityTimeout: Duration.seconds(30),
    });
    Validations.of(this.queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'No dead-letter queue: a Spot warning is worth nothing after its two minutes, and the controller deletes every message it receives (an unreadable one is logged), so none is retried into a DLQ.',
    });
    this.rule = new events.Rule(this, 'Rule', {
      description: `Spillway ${props.fleetName}: EC2 Spot interruption warnings to the controller's queue`,
      eventPattern: { source: ['aws.ec2'], detailType: [SPOT_WARNING_DETAIL_TYPE] },
      targets: [new targets.SqsQueue(this.queue)],
    });
  }

  /** Receive and delete, for the controller's role. */
  grantConsume(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantConsumeMessages(grantee);
  }
}
