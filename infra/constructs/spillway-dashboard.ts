/**
 * SpillwayDashboard: the CloudWatch dashboard (request rate, VM count, Lambda share, SLO
 * violations, dollars per hour) and alarms on the SLO-violation rate, on spend and, given the ALB
 * target group, on the controller having no healthy target. Metric names come from
 * controller/aws/metric-names.ts, the same constants the metrics adapter writes.
 */
import { Duration } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { DIM_FLEET, METRIC_NAMESPACE, METRICS } from '../../controller/aws/metric-names.js';

export interface SpillwayDashboardProps {
  readonly fleetName: string;
  /** Alarm when SLO violations / requests exceeds this over 5 minutes (0..1). */
  readonly sloViolationRateThreshold: number;
  /** Alarm when the controller-reported spend rate exceeds this (USD per hour). */
  readonly budgetUsdPerHour: number;
  /** @default `spillway-${fleetName}` */
  readonly dashboardName?: string;
  /** The ALB's target group in front of the controller: alarms when it has no healthy target. */
  readonly controllerTargetGroup?: elbv2.ApplicationTargetGroup;
}

export class SpillwayDashboard extends Construct {
  readonly dashboard: cw.Dashboard;
  readonly sloAlarm: cw.Alarm;
  readonly spendAlarm: cw.Alarm;
  readonly unhealthyAlarm?: cw.Alarm;

  constructor(scope: Construct, id: string, props: SpillwayDashboardProps) {
    super(scope, id);
    if (!(props.sloViolationRateThreshold > 0 && props.sloViolationRateThreshold < 1)) {
      throw new Error(`SpillwayDashboard sloViolationRateThreshold must be in (0, 1), got ${props.sloViolationRateThreshold}`);
    }
    if (!(props.budgetUsdPerHour > 0)) {
      throw new Error(`SpillwayDashboard budgetUsdPerHour must be > 0, got ${props.budgetUsdPerHour}`);
    }
    const m = (metricName: string, statistic: string, period = Duration.minutes(1)) =>
      new cw.Metric({
        namespace: METRIC_NAMESPACE,
        metricName,
        dimensionsMap: { [DIM_FLEET]: props.fleetName },
        statistic,
        period,
      });
    const requests = m(METRICS.requests, 'Sum');
    const violations = m(METRICS.sloViolations, 'Sum');
    const requestRate = new cw.MathExpression({
      expression: 'r / PERIOD(r)',
      usingMetrics: { r: requests },
      label: 'requests per second',
      period: Duration.minutes(1),
    });
    const violationRate5m = new cw.MathExpression({
      expression: 'IF(r > 0, v / r, 0)',
      usingMetrics: { r: m(METRICS.requests, 'Sum', Duration.minutes(5)), v: m(METRICS.sloViolations, 'Sum', Duration.minutes(5)) },
      label: 'SLO violation rate',
      period: Duration.minutes(5),
    });

    this.dashboard = new cw.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? `spillway-${props.fleetName}`,
      widgets: [
        [
          new cw.GraphWidget({ title: 'Request rate (rps)', left: [requestRate], width: 8 }),
          new cw.GraphWidget({ title: 'VMs', left: [m(METRICS.vmCount, 'Maximum')], width: 8 }),
          new cw.GraphWidget({ title: 'Lambda share', left: [m(METRICS.lambdaShare, 'Average')], width: 8 }),
        ],
        [
          new cw.GraphWidget({ title: 'SLO violations', left: [violations], right: [violationRate5m], width: 8 }),
          new cw.GraphWidget({ title: 'Dollars per hour', left: [m(METRICS.dollarsPerHour, 'Average')], width: 8 }),
          new cw.GraphWidget({ title: 'Latency (ms)', left: [m(METRICS.latencyMs, 'Average'), m(METRICS.latencyMs, 'Maximum')], width: 8 }),
        ],
      ],
    });

    this.sloAlarm = new cw.Alarm(this, 'SloViolationRate', {
      alarmDescription: `SLO violation rate above ${props.sloViolationRateThreshold} over 5 minutes`,
      metric: violationRate5m,
      threshold: props.sloViolationRateThreshold,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    this.spendAlarm = new cw.Alarm(this, 'Spend', {
      alarmDescription: `Spend rate above $${props.budgetUsdPerHour}/h`,
      metric: m(METRICS.dollarsPerHour, 'Average', Duration.minutes(5)),
      threshold: props.budgetUsdPerHour,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    if (props.controllerTargetGroup) {
      // One controller behind the ALB: fewer than 1 healthy target is an outage. 3 minutes of it
      // (the health check needs 2 x 15 s to mark a new host healthy, so a replacement passes).
      // No data counts as breaching: the ALB reports this metric every minute while it exists.
      this.unhealthyAlarm = new cw.Alarm(this, 'ControllerUnhealthy', {
        alarmDescription: 'The ALB has no healthy controller target (HealthyHostCount < 1 for 3 minutes)',
        metric: props.controllerTargetGroup.metrics.healthyHostCount({ period: Duration.minutes(1), statistic: 'Minimum' }),
        threshold: 1,
        comparisonOperator: cw.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cw.TreatMissingData.BREACHING,
      });
    }
  }
}
