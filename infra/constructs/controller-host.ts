/**
 * ControllerHost: the EC2 instance running the Spillway controller (router + control loop),
 * with a least-privilege role (controller-permissions.ts, shared with the router group). The
 * default deployment; `spillway:routers` replaces it with the router group (router-group.ts).
 */
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { type AppBundle, bootPreamble, bundleFetchLines } from './app-bundle.js';
import { checkApiPort, checkControllerPermissionsProps, grantControllerPermissions } from './controller-permissions.js';
import { controllerUnitLines, hostControllerEnvironment } from './controller-unit.js';
import type { ControllerEnvironmentInput } from '../../controller/config/controller-environment.js';

/** What the stack decides for the controller; the host itself decides the rest of its environment. */
export type ControllerHostSettings = Omit<ControllerEnvironmentInput, 'fleet' | 'port' | 'host' | 'home'>;

/** The controller host's own launch template (IMDSv2 only): unique per fleet, never an Ec2Fleet type name. */
export function controllerLaunchTemplateName(fleetName: string): string {
  return `${fleetName}-controller-imdsv2`;
}

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
    checkApiPort('ControllerHost', this.port);
    checkControllerPermissionsProps('ControllerHost', props);
    const stack = Stack.of(this);

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
    grantControllerPermissions(this.role, { ...props, logGroup: this.logGroup });

    const userData = ec2.UserData.forLinux();
    const env = hostControllerEnvironment({
      region: stack.region,
      controller: props.controller,
      fleetName: props.fleetName,
      port: this.port,
    });
    userData.addCommands(
      ...bootPreamble('spillway-controller'),
      ...bundleFetchLines(props.appBundle.assetFor(props.arch).s3ObjectUrl),
      ...controllerUnitLines({
        service: 'spillway-controller',
        description: 'Spillway controller',
        apiKeySecretArn: props.apiKeySecret.secretArn,
        env,
        entry: 'controller.mjs',
        readyUrl: `http://127.0.0.1:${this.port}/healthz`,
        readyTimeoutS: 300,
      }),
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
  }
}
