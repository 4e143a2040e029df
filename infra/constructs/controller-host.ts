/**
 * ControllerHost: the EC2 instance running the Spillway controller (router + control loop),
 * with a least-privilege role: RunInstances only from this fleet's launch templates and only
 * with its spillway:fleet tag, TerminateInstances only on instances carrying that tag,
 * invoke/update only its own Lambda functions, PutMetricData only in the Spillway namespace,
 * logs only to its own log group, and read access to the API-key secret it checks.
 */
import { Arn, type CfnElement, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { allowSessionManager } from './session-manager.js';
import { type AppBundle, BUNDLE_APP, BUNDLE_NODE, bootPreamble, bundleFetchLines, readinessLines } from './app-bundle.js';
import { GRANT_READ_ACTIONS, nagAccount, nagAssetBucketObjects, nagRegion } from '../nag.js';
import { METRIC_NAMESPACE } from '../../controller/aws/metric-names.js';
import { type ControllerEnvironmentInput, controllerEnvironment } from '../../controller/config/controller-environment.js';

/** What the stack decides for the controller; the host itself decides the rest of its environment. */
export type ControllerHostSettings = Omit<ControllerEnvironmentInput, 'fleet' | 'port' | 'host' | 'home'>;

/** The controller host's own launch template (IMDSv2 only): unique per fleet, never an Ec2Fleet type name. */
export function controllerLaunchTemplateName(fleetName: string): string {
  return `${fleetName}-controller-imdsv2`;
}

/** State directory of the controller on the host (registry, profiles cache). */
const CONTROLLER_HOME = '/var/lib/spillway';

export interface ControllerHostProps {
  readonly vpc: ec2.IVpc;
  readonly fleetName: string;
  /** EC2 type of the controller host (catalog entry, for the idle-cost figure). */
  readonly instanceType: string;
  /** CPU architecture of instanceType. */
  readonly arch: 'x86_64' | 'arm64';
  /** Launch templates the controller may launch from (Ec2Fleet's). */
  readonly launchTemplates: readonly ec2.LaunchTemplate[];
  /** Role the VMs run with (passed at RunInstances through the templates' instance profile). */
  readonly vmRole: iam.IRole;
  /** VM security group (RunInstances references it). */
  readonly vmSecurityGroup: ec2.ISecurityGroup;
  /** Variant functions the controller invokes and right-sizes. */
  readonly functions: readonly lambda.IFunction[];
  readonly apiKeySecret: secretsmanager.ISecret;
  /** The app bundle (see AppBundle); the host boots the asset of its own architecture. */
  readonly appBundle: AppBundle;
  /**
   * The controller's aws-world configuration (SLO, variants, instance types, max VMs, ...), typed by
   * the controller's own schema; written as its environment by controllerEnvironment(). Fleet,
   * port, host and home are the host's own and set here.
   */
  readonly controller: ControllerHostSettings;
  /** Security group of the host (created before the VM templates reference it). @default a new one */
  readonly securityGroup?: ec2.SecurityGroup;
  /** Port of the controller's public API. @default 8080 */
  readonly port?: number;
}

export class ControllerHost extends Construct {
  readonly instance: ec2.Instance;
  readonly securityGroup: ec2.SecurityGroup;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly port: number;

  constructor(scope: Construct, id: string, props: ControllerHostProps) {
    super(scope, id);
    this.port = props.port ?? 8080;
    if (!Number.isInteger(this.port) || this.port < 1 || this.port > 65_535) {
      throw new Error(`ControllerHost port must be an integer in 1..65535, got ${this.port}`);
    }
    if (props.launchTemplates.length === 0) throw new Error('ControllerHost launchTemplates must not be empty, got []');
    if (props.functions.length === 0) throw new Error('ControllerHost functions must not be empty, got []');
    const stack = Stack.of(this);
    const ec2Arn = (resource: string) =>
      Arn.format({ service: 'ec2', resource, resourceName: '*', account: stack.account, region: stack.region }, stack);

    this.securityGroup =
      props.securityGroup ??
      new ec2.SecurityGroup(this, 'Sg', {
        vpc: props.vpc,
        description: `Spillway ${props.fleetName} controller`,
        allowAllOutbound: true,
      });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/spillway/${props.fleetName}/controller`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Spillway controller: manage its own fleet and functions only',
    });
    const fleetTag = `aws:RequestTag/spillway:fleet`;
    const templateArns = props.launchTemplates.map((lt) =>
      Arn.format({ service: 'ec2', resource: 'launch-template', resourceName: lt.launchTemplateId!, account: stack.account, region: stack.region }, stack),
    );
    // RunInstances authorises every resource it touches; the instance and volume must carry our
    // fleet tag and come from one of our templates.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RunTaggedFromOwnTemplates',
        actions: ['ec2:RunInstances'],
        resources: [ec2Arn('instance'), ec2Arn('volume')],
        conditions: {
          StringEquals: { [fleetTag]: props.fleetName },
          ArnLike: { 'ec2:LaunchTemplate': templateArns },
        },
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RunUsingOwnTemplatesAndNetwork',
        actions: ['ec2:RunInstances'],
        resources: [
          ...templateArns,
          ec2Arn('network-interface'),
          ec2Arn('subnet'),
          // A Spot launch (InstanceMarketOptions spot) also creates a one-time Spot request, which
          // RunInstances authorises as its own resource (untagged: we tag instance and volume only).
          ec2Arn('spot-instances-request'),
          Arn.format({ service: 'ec2', resource: 'security-group', resourceName: props.vmSecurityGroup.securityGroupId, account: stack.account, region: stack.region }, stack),
          Arn.format({ service: 'ec2', resource: 'image', resourceName: '*', account: '', region: stack.region }, stack),
        ],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TagOnLaunchOnly',
        actions: ['ec2:CreateTags'],
        resources: [ec2Arn('instance'), ec2Arn('volume')],
        conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TerminateOwnFleetOnly',
        actions: ['ec2:TerminateInstances'],
        resources: [ec2Arn('instance')],
        conditions: { StringEquals: { 'ec2:ResourceTag/spillway:fleet': props.fleetName } },
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeHasNoResourceScope',
        // DescribeSpotInstanceRequests: the describe-based Spot reclaim fallback (ec2-fleet.ts).
        actions: ['ec2:DescribeInstances', 'ec2:DescribeLaunchTemplates', 'ec2:DescribeInstanceStatus', 'ec2:DescribeSpotInstanceRequests'],
        resources: ['*'],
      }),
    );
    // Read at start when spillway:lambdaConcurrency is unset: the planner's Lambda concurrency limit.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'AccountSettingsHasNoResourceScope',
        actions: ['lambda:GetAccountSettings'],
        resources: ['*'],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PassVmRoleToEc2',
        actions: ['iam:PassRole'],
        resources: [props.vmRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'OwnFunctions',
        actions: [
          'lambda:InvokeFunction',
          'lambda:GetFunction',
          'lambda:GetFunctionConfiguration',
          'lambda:GetFunctionConcurrency',
          'lambda:UpdateFunctionConfiguration',
          'lambda:PutFunctionConcurrency',
          'lambda:PutProvisionedConcurrencyConfig',
        ],
        resources: props.functions.flatMap((f) => [f.functionArn, `${f.functionArn}:*`]),
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'OwnMetricNamespace',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACE } },
      }),
    );
    allowSessionManager(this.role);
    this.logGroup.grantWrite(this.role);
    props.apiKeySecret.grantRead(this.role);
    props.appBundle.grantRead(props.arch, this.role);

    const userData = ec2.UserData.forLinux();
    const env: Record<string, string> = {
      AWS_REGION: stack.region,
      ...controllerEnvironment({
        ...props.controller,
        fleet: props.fleetName,
        port: this.port,
        host: '0.0.0.0',
        home: CONTROLLER_HOME,
      }),
    };
    userData.addCommands(
      ...bootPreamble('spillway-controller'),
      `mkdir -p ${CONTROLLER_HOME}`,
      ...bundleFetchLines(props.appBundle.assetFor(props.arch).s3ObjectUrl),
      'step api-key',
      // The API key never lands in user data nor in the boot log (set -x traces every command into
      // cloud-init's output and the EC2 console): fetched at boot straight into a root-only env file
      // through a pipe, so the trace shows the commands and never the value
      // (test/infra/user-data-secret.test.ts runs this step under bash -x).
      `(umask 077 && aws secretsmanager get-secret-value --secret-id ${props.apiKeySecret.secretArn} --query SecretString --output text | sed 's/^/SPILLWAY_API_KEY=/' > /etc/spillway-controller.env)`,
      'step systemd',
      'cat > /etc/systemd/system/spillway-controller.service <<UNIT',
      '[Unit]',
      'Description=Spillway controller',
      'After=network-online.target',
      '[Service]',
      `WorkingDirectory=${BUNDLE_APP}`,
      'EnvironmentFile=/etc/spillway-controller.env',
      ...Object.entries(env).map(([k, v]) => `Environment=${k}=${v}`),
      `ExecStart=${BUNDLE_NODE} ${BUNDLE_APP}/dist/controller.mjs`,
      'Restart=on-failure',
      '[Install]',
      'WantedBy=multi-user.target',
      'UNIT',
      'systemctl daemon-reload',
      'step start',
      'systemctl enable --now spillway-controller.service',
      ...readinessLines(`http://127.0.0.1:${this.port}/healthz`, 300),
    );

    this.instance = new ec2.Instance(this, 'Instance', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      instanceType: new ec2.InstanceType(props.instanceType),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({
        cpuType: props.arch === 'arm64' ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64,
      }),
      securityGroup: this.securityGroup,
      role: this.role,
      userData,
      // A new app asset or environment changes the user data; replacing the host is what makes it
      // run (a stop/start would keep the old code). The controller is stateless (its fleet lives in
      // EC2 tags and is adopted on start), so CloudFormation's create-new-then-delete-old is safe.
      userDataCausesReplacement: true,
      // IMDSv2 through a launch template of our own (below): CDK's requireImdsv2 names its template
      // '<id>LaunchTemplate', the same in every stack, so a second fleet in one region would fail.
      detailedMonitoring: true,
      associatePublicIpAddress: true,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(20, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
        },
      ],
    });

    const imds = new ec2.CfnLaunchTemplate(this, 'ImdsV2', {
      launchTemplateName: controllerLaunchTemplateName(props.fleetName),
      launchTemplateData: { metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 1 } },
    });
    // The shape CDK's requireImdsv2 aspect writes (name + latest version), with our own name.
    (this.instance.node.defaultChild as ec2.CfnInstance).launchTemplate = {
      launchTemplateName: controllerLaunchTemplateName(props.fleetName),
      version: imds.attrLatestVersionNumber,
    };

    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-EC29',
      reason: 'The controller is stateless (fleet state lives in EC2 tags, adopted on restart); replacing it is safe, so no termination protection or ASG.',
    });
    Validations.of(this.role).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ec2:Describe*, lambda:GetAccountSettings, cloudwatch:PutMetricData and the Session Manager instance actions support no resource scoping; PutMetricData is limited by the cloudwatch:namespace condition.',
      },
      { id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${nagRegion(this)}:${nagAccount(this)}:instance/*]`, reason: 'Instance ids are unknown before launch; scoped by the spillway:fleet tag condition.' },
      { id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${nagRegion(this)}:${nagAccount(this)}:volume/*]`, reason: 'Volume ids are unknown before launch; scoped by the fleet tag and launch-template conditions.' },
      { id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${nagRegion(this)}:${nagAccount(this)}:network-interface/*]`, reason: 'ENIs are created by RunInstances; ids are unknown before launch.' },
      { id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${nagRegion(this)}:${nagAccount(this)}:spot-instances-request/*]`, reason: 'The one-time Spot request a Spot RunInstances creates; its id is unknown before launch (only from our own templates, see RunTaggedFromOwnTemplates).' },
      { id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${nagRegion(this)}:${nagAccount(this)}:subnet/*]`, reason: 'Subnet chosen by the launch template at run time.' },
      { id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${nagRegion(this)}::image/*]`, reason: 'The AL2023 AMI id is resolved from SSM at launch time.' },
      ...GRANT_READ_ACTIONS.map((a) => ({ id: `AwsSolutions-IAM5[${a}]`, reason: 'CDK grantRead on the app-bundle asset.' })),
      { id: `AwsSolutions-IAM5[${nagAssetBucketObjects(this)}]`, reason: 'CDK grantRead on the app-bundle asset.' },
      ...props.functions.map((f) => ({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(f.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason: 'Versions/aliases of our own function (provisioned concurrency is set on a qualifier).',
      })),
    );
  }
}
