/**
 * AlarmTopic: the SNS topic every alarm of the stack notifies (on ALARM and back to OK), with an
 * optional email subscription (`-c spillway:alarmEmail=ops@example.com`; AWS mails a confirmation
 * link first). TLS-only publishing (enforceSSL). `wireAllAlarms(scope)` adds the topic to every
 * cw.Alarm under `scope`, so an alarm added later is wired without another line.
 */
import { Validations } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct, type IConstruct } from 'constructs';

/** Loose check that catches typos (no space, one @, a dot in the domain); SNS confirms the rest. */
export const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface AlarmTopicProps {
  readonly fleetName: string;
  /** Address that gets every alarm. @default none (subscribe by hand) */
  readonly email?: string;
}

export class AlarmTopic extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    if (props.email !== undefined && !EMAIL_PATTERN.test(props.email)) {
      throw new Error(`AlarmTopic email must be an email address, got '${props.email}'`);
    }
    this.topic = new sns.Topic(this, 'Topic', { displayName: `Spillway ${props.fleetName} alarms`, enforceSSL: true });
    if (props.email) this.topic.addSubscription(new subs.EmailSubscription(props.email));
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason: 'Alarm notifications carry alarm names, thresholds and states only; CloudWatch cannot publish to a topic under the AWS-managed SNS key, and a customer key costs $1/month.',
    });
  }

  /** Notifies this topic from every alarm under `scope`; returns how many were wired. */
  wireAllAlarms(scope: IConstruct): number {
    const action = new cwActions.SnsAction(this.topic);
    const alarms = scope.node.findAll().filter((c): c is cw.Alarm => c instanceof cw.Alarm);
    for (const a of alarms) {
      a.addAlarmAction(action);
      a.addOkAction(action);
    }
    return alarms.length;
  }
}
