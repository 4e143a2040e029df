/**
 * RouterGroup: N identical router processes (controller/cluster/router-main.ts), one per instance
 * of an Auto Scaling group spread over the VPC's subnets in at least two AZs, registered in the
 * public endpoint's target group with its health check on /readyz (answered from the admission
 * gate's counts, so a router at its limit stays in service instead of the balancer pulling every
 * router under overload). One router's planner worker holds the DynamoDB lease and acts on EC2
 * (FencedFleet); the others follow the plan. Replaces the single ControllerHost when
 * `spillway:routers` is set.
 *
 * Updates roll one instance at a time with resource signals: a new instance signals SUCCESS only
 * after its router answers /readyz, and CloudFormation keeps all N in service meanwhile (the group
 * may grow to N + 1), so a deploy never takes the endpoint down; a router that never gets ready
 * rolls the update back after the signal timeout.
 *
 * Subnets: the serving VPC has public subnets only (no NAT gateway at $0.045/h each, see
 * serving-stack.ts), so routers get a public IPv4 for egress like the controller host, and their
 * security group admits only the load balancer.
 */
import { Duration, type CfnElement, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { awsRouterEnvironment } from '../../controller/cluster/cluster-env.js';
import { nagResource } from '../nag.js';
import { bootPreamble, bundleFetchLines, imdsLines } from './app-bundle.js';
import type { ControllerHostSettings } from './controller-host.js';
import { checkApiPort, checkControllerPermissionsProps, type ControllerPermissionsProps, grantControllerPermissions } from './controller-permissions.js';
import { controllerUnitLines, hostControllerEnvironment } from './controller-unit.js';

/** Routers a group may run: 2 is the least that survives one instance or AZ; 20 keeps the lease table's load trivial. */
export const MIN_ROUTERS = 2;
export const MAX_ROUTERS = 20;

/**
 * Exactly what a router needs of the coordination table (controller/coord/dynamodb-store.ts): the
 * lease (GetItem, PutItem, UpdateItem), the plan and learned state (TransactWriteItems, which IAM
 * authorises as its parts: ConditionCheckItem + PutItem/DeleteItem), observations (PutItem, Query,
 * DeleteItem).
 */
export const COORD_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:Query',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
] as const;

/** Minutes a new router may take to answer /readyz after boot (bundle download + start); a boot that fails signals FAILURE at once (bootPreamble onFailure), so this bounds only a hung boot. */
const ROUTER_SIGNAL_TIMEOUT_MIN = 10;

/** The controller's permission inputs (ControllerPermissionsProps; the group makes its own log group), plus what the routers need. */
export interface RouterGroupProps extends Omit<ControllerPermissionsProps, 'logGroup'> {
  readonly vpc: ec2.IVpc;
  /** EC2 type of each router instance (catalog entry). */
  readonly instanceType: string;
  /** Routers (instances) to run: desired and minimum capacity, 2..20. */
  readonly routers: number;
  /** The routers' aws-world configuration (the same settings the controller host takes). */
  readonly controller: ControllerHostSettings;
  /** The coordination table (lease, plan, learned state, observations). */
  readonly table: dynamodb.ITable;
  /** The public endpoint's target group; its health check should be /readyz. */
  readonly targetGroup: elbv2.IApplicationTargetGroup;
  /** Security group of the routers (the one the ALB and the VMs admit). */
  readonly securityGroup: ec2.ISecurityGroup;
  /** Port of the router's public API. @default 8080 */
  readonly port?: number;
}

export class RouterGroup extends Construct {
  readonly asg: autoscaling.AutoScalingGroup;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly launchTemplate: ec2.LaunchTemplate;
  readonly port: number;

  constructor(scope: Construct, id: string, props: RouterGroupProps) {
    super(scope, id);
    this.port = props.port ?? 8080;
    checkApiPort('RouterGroup', this.port);
    if (!Number.isInteger(props.routers) || props.routers < MIN_ROUTERS || props.routers > MAX_ROUTERS) {
      throw new Error(
        `RouterGroup routers must be an integer in ${MIN_ROUTERS}..${MAX_ROUTERS}, got ${props.routers}`,
      );
    }
    checkControllerPermissionsProps('RouterGroup', props);
    const subnets = props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PUBLIC });
    const azs = new Set(subnets.availabilityZones);
    if (azs.size < 2) {
      throw new Error(
        `RouterGroup vpc must have public subnets in at least 2 availability zones, got ${azs.size} (${[...azs].join(', ')})`,
      );
    }
    const stack = Stack.of(this);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/spillway/${props.fleetName}/routers`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description:
        'Spillway router: serve, and as the elected planner manage its own fleet and functions only',
    });
    grantControllerPermissions(this.role, { ...props, logGroup: this.logGroup });
    props.table.grant(this.role, ...COORD_TABLE_ACTIONS);
    // The boot script's readiness signal to the rolling update (the AWS CLI; AL2023 has no cfn-signal).
    const stackArn = stack.formatArn({
      service: 'cloudformation',
      resource: 'stack',
      resourceName: `${stack.stackName}/*`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'SignalOwnStack',
        actions: ['cloudformation:SignalResource'],
        resources: [stackArn],
      }),
    );

    const userData = ec2.UserData.forLinux();
    this.launchTemplate = new ec2.LaunchTemplate(this, 'Lt', {
      launchTemplateName: `${props.fleetName}-router`,
      instanceType: new ec2.InstanceType(props.instanceType),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({
        cpuType: props.arch === 'arm64' ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64,
      }),
      userData,
      role: this.role,
      securityGroup: props.securityGroup,
      associatePublicIpAddress: true,
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      detailedMonitoring: true,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(20, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            deleteOnTermination: true,
          }),
        },
      ],
    });

    this.asg = new autoscaling.AutoScalingGroup(this, 'Asg', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      launchTemplate: this.launchTemplate,
      minCapacity: props.routers,
      desiredCapacity: props.routers,
      // One more during a rolling update: the new router is ready before an old one leaves.
      maxCapacity: props.routers + 1,
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: Duration.minutes(ROUTER_SIGNAL_TIMEOUT_MIN),
      }),
      signals: autoscaling.Signals.waitForMinCapacity({
        timeout: Duration.minutes(ROUTER_SIGNAL_TIMEOUT_MIN),
      }),
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        minInstancesInService: props.routers,
        waitOnResourceSignals: true,
        pauseTime: Duration.minutes(ROUTER_SIGNAL_TIMEOUT_MIN),
      }),
    });
    this.asg.attachToApplicationTargetGroup(props.targetGroup);
    const asgLogicalId = stack.getLogicalId(this.asg.node.defaultChild as CfnElement);

    const env: Record<string, string> = {
      ...hostControllerEnvironment({ region: stack.region, controller: props.controller, fleetName: props.fleetName, port: this.port }),
      ...awsRouterEnvironment({ coordTable: props.table.tableName, routerId: '$INSTANCE_ID' }),
    };
    const signal = (status: 'SUCCESS' | 'FAILURE') =>
      `aws cloudformation signal-resource --region ${stack.region} --stack-name ${stack.stackName} --logical-resource-id ${asgLogicalId} --unique-id "$\{INSTANCE_ID:-unknown}" --status ${status}`;
    userData.addCommands(
      ...bootPreamble('spillway-router', { onFailure: signal('FAILURE') }),
      ...imdsLines({ INSTANCE_ID: 'instance-id' }),
      ...bundleFetchLines(props.appBundle.assetFor(props.arch).s3ObjectUrl),
      ...controllerUnitLines({
        service: 'spillway-router',
        description: 'Spillway router',
        apiKeySecretArn: props.apiKeySecret.secretArn,
        env,
        entry: 'router.mjs',
        readyUrl: `http://127.0.0.1:${this.port}/readyz`,
        readyTimeoutS: 300,
      }),
      'step signal',
      signal('SUCCESS'),
    );

    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[${nagResource(this, stackArn)}]`,
      reason:
        'SignalResource on our own stack; the trailing /* is the stack id CloudFormation assigns at create time.',
    });
    Validations.of(this.asg).acknowledge({
      id: 'AwsSolutions-AS3',
      reason:
        'Scaling events are CloudFormation rolling updates and ELB health replacements; the target group alarm on the alarm topic reports unhealthy routers.',
    });
  }
}
