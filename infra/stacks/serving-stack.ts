/**
 * ServingStack: the VPC, one Lambda function per variant (memory right-sized from the profiles
 * for the SLO), EC2 launch templates per instance type, the fleet reaper (terminates the VMs on
 * stack delete), the controller host (or, with spillway:routers, the router group over the
 * stateful stack's coordination table), the public endpoint and the dashboard + alarms, every
 * alarm notifying one SNS topic.
 */
import { RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { type Catalog, ec2TypeOf, isSpotType } from '../../profiles/catalog.js';
import type { VariantProfile } from '../../profiles/schema.js';
import type { InfraConfig } from '../config.js';
import { AlarmTopic } from '../constructs/alarm-topic.js';
import { SpotInterruptionQueue } from '../constructs/spot-interruption-queue.js';
import { AppBundle } from '../constructs/app-bundle.js';
import { ControllerHost, type ControllerHostSettings } from '../constructs/controller-host.js';
import { coordinationTableName } from '../constructs/coordination-table.js';
import { FleetReaper } from '../constructs/fleet-reaper.js';
import { PublicEndpoint } from '../constructs/public-endpoint.js';
import { RouterGroup } from '../constructs/router-group.js';
import { SpillwayDashboard } from '../constructs/spillway-dashboard.js';
import { VariantFunction } from '../constructs/variant-function.js';
import { VmLaunchTemplates } from '../constructs/vm-launch-templates.js';
import { CONTROLLER_HEALTH_PORT } from '../constructs/controller-unit.js';
import { type LambdaSizing, rightSizeLambdaMemory } from '../sizing.js';
import { modelBucketName, type StatefulStack } from './stateful-stack.js';

export interface ServingStackProps extends StackProps {
  readonly config: InfraConfig;
  readonly catalog: Catalog;
  /** Measured profiles by variant (profiles/lib/load.ts). @default none: config.lambdaMemoryMb */
  readonly profiles?: ReadonlyMap<string, VariantProfile>;
  readonly stateful: StatefulStack;
  readonly repoRoot: string;
  /** Handler source override (tests). @default functions/lambda/handler.ts */
  readonly lambdaEntry?: string;
}

export class ServingStack extends Stack {
  readonly vpc: ec2.Vpc;
  readonly functions = new Map<string, VariantFunction>();
  readonly lambdaSizing = new Map<string, LambdaSizing>();
  readonly launchTemplates: VmLaunchTemplates;
  /** The single controller host (spillway:routers unset). */
  readonly controller: ControllerHost | undefined;
  /** The router group (spillway:routers set). */
  readonly routers: RouterGroup | undefined;
  readonly endpoint: PublicEndpoint;
  readonly dashboard: SpillwayDashboard;
  readonly reaper: FleetReaper;
  readonly alarms: AlarmTopic;
  /** EventBridge's Spot interruption warnings for the controller; undefined when no Spot type is planned. */
  readonly spotWarnings: SpotInterruptionQueue | undefined;

  constructor(scope: Construct, id: string, props: ServingStackProps) {
    super(scope, id, props);
    const { config, catalog } = props;

    // Public subnets only, no NAT gateway ($0.045/h each): every instance gets a public IPv4
    // for egress (the AWS APIs, Session Manager; nothing from a package registry) while security
    // groups admit only the ALB -> controller -> VM paths.
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 22 }],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: logs.RetentionDays.TWO_WEEKS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('FlowLog', { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs) });

    const appBundle = new AppBundle(this, 'AppBundle', { repoRoot: props.repoRoot });

    const architecture = config.lambdaArchitecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
    for (const variant of config.variants) {
      const sizing = rightSizeLambdaMemory(props.profiles?.get(variant), config.sloMs, config.lambdaMemoryMb);
      this.lambdaSizing.set(variant, sizing);
      this.functions.set(
        variant,
        new VariantFunction(this, `Fn-${variant}`, {
          variant,
          repoRoot: props.repoRoot,
          memoryMb: sizing.memoryMb,
          functionPrefix: `${config.fleetName}-`,
          architecture,
          ...(config.modelDir ? { modelDir: config.modelDir } : {}),
          ...(props.lambdaEntry ? { entry: props.lambdaEntry } : {}),
        }),
      );
    }

    // `c5.large:spot` launches from c5.large's template (with Spot market options): one template per EC2 type.
    const ec2Types = [...new Set(config.instanceTypes.map(ec2TypeOf))];
    const types = ec2Types.map((name) => {
      const t = catalog.ec2.instanceTypes.find((x) => x.name === name);
      if (!t) throw new Error(`ServingStack instanceTypes: '${name}' is not in the catalog`);
      return t;
    });
    const controllerSg = new ec2.SecurityGroup(this, 'ControllerSg', {
      vpc: this.vpc,
      description: `Spillway ${config.fleetName} controller`,
      allowAllOutbound: true,
    });
    this.launchTemplates = new VmLaunchTemplates(this, 'Vms', {
      vpc: this.vpc,
      fleetName: config.fleetName,
      instanceTypes: types,
      controllerSecurityGroup: controllerSg,
      appBundle,
      // By name, not by reference: keeps the IAM grant free of a cross-stack export.
      modelBucket: s3.Bucket.fromBucketName(this, 'ModelBucketRef', modelBucketName(this, config.fleetName)),
    });
    // Deleted after the controller (which depends on it) and before the network the VMs sit in.
    this.reaper = new FleetReaper(this, 'FleetReaper', {
      fleetName: config.fleetName,
      repoRoot: props.repoRoot,
      outlives: [this.vpc, this.launchTemplates.securityGroup, this.launchTemplates.role, controllerSg],
    });
    // EC2's Spot warnings through EventBridge, when the planner may buy Spot (`<type>:spot`).
    this.spotWarnings = config.instanceTypes.some(isSpotType)
      ? new SpotInterruptionQueue(this, 'SpotWarnings', { fleetName: config.fleetName })
      : undefined;
    const controllerType = catalog.ec2.instanceTypes.find((x) => x.name === config.controllerInstanceType);
    if (!controllerType) throw new Error(`controllerInstanceType '${config.controllerInstanceType}' is not in the catalog`);
    const settings: ControllerHostSettings = {
      sloMs: config.sloMs,
      variants: config.variants,
      instanceTypes: config.instanceTypes,
      lambdaArch: config.lambdaArchitecture,
      lambdaPrefix: `${config.fleetName}-`,
      launchTemplatePattern: '{fleet}-{instanceType}',
      vmSubnets: this.vpc.publicSubnets.map((s) => s.subnetId),
      vmPort: this.launchTemplates.serverPort,
      ...(this.spotWarnings ? { spotQueueUrl: this.spotWarnings.queue.queueUrl } : {}),
      // Unset = the controller's defaults: its aws-world maxVms, the account's Lambda concurrency.
      ...(config.maxVms !== undefined ? { maxVms: config.maxVms } : {}),
      ...(config.lambdaConcurrency !== undefined ? { lambdaConcurrency: config.lambdaConcurrency } : {}),
      ...(config.vcpuQuota !== undefined ? { vcpuQuota: config.vcpuQuota } : {}),
    };
    const controllerParts = {
      vpc: this.vpc,
      fleetName: config.fleetName,
      instanceType: controllerType.name,
      arch: controllerType.arch,
      launchTemplates: [...this.launchTemplates.templates.values()],
      vmRole: this.launchTemplates.role,
      vmSecurityGroup: this.launchTemplates.securityGroup,
      functions: [...this.functions.values()].map((f) => f.fn),
      apiKeySecret: props.stateful.apiKeySecret,
      appBundle,
      controller: settings,
      ...(this.spotWarnings ? { spotWarnings: this.spotWarnings } : {}),
    };
    const endpointParts = {
      vpc: this.vpc,
      controllerSecurityGroup: controllerSg,
      apiKeySecret: props.stateful.apiKeySecret,
      accessLogBucket: props.stateful.models.accessLogBucket,
      allowedCidr: config.allowedCidr,
      ...(config.certificateArn ? { certificateArn: config.certificateArn } : {}),
    };
    if (config.routers === undefined) {
      const controller = new ControllerHost(this, 'Controller', { ...controllerParts, securityGroup: controllerSg });
      controller.instance.node.addDependency(this.reaper.resource);
      this.controller = controller;
      this.routers = undefined;
      this.endpoint = new PublicEndpoint(this, 'Endpoint', {
        ...endpointParts,
        controllerInstance: controller.instance,
        controllerPort: controller.port,
        healthCheckPort: CONTROLLER_HEALTH_PORT,
      });
    } else {
      // The routers answer on the controller's port; the target group checks /readyz, which stays
      // 200 at the admission limit (a router under overload sheds with 503s, it is not unhealthy).
      this.endpoint = new PublicEndpoint(this, 'Endpoint', {
        ...endpointParts,
        healthCheckPath: '/readyz',
        healthCheckPort: CONTROLLER_HEALTH_PORT,
      });
      // By name, not by reference (like the model bucket): no cross-stack export to pin the table.
      const table = dynamodb.Table.fromTableName(this, 'CoordinationTableRef', coordinationTableName(config.fleetName));
      const routers = new RouterGroup(this, 'Routers', {
        ...controllerParts,
        routers: config.routers,
        table,
        targetGroup: this.endpoint.targetGroup,
        securityGroup: controllerSg,
      });
      routers.asg.node.addDependency(this.reaper.resource);
      this.routers = routers;
      this.controller = undefined;
    }
    this.dashboard = new SpillwayDashboard(this, 'Observability', {
      fleetName: config.fleetName,
      sloViolationRateThreshold: config.sloViolationRateAlarm,
      budgetUsdPerHour: config.budgetUsdPerHour,
      controllerTargetGroup: this.endpoint.targetGroup,
    });
    this.alarms = new AlarmTopic(this, 'Alarms', {
      fleetName: config.fleetName,
      ...(config.alarmEmail ? { email: config.alarmEmail } : {}),
    });
    this.alarms.wireAllAlarms(this);
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-EC28',
      reason: 'Inference VMs are short-lived and scaled by the controller; their health is the /readyz probe, not per-minute EC2 metrics.',
    });
  }
}
