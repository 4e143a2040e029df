/**
 * VmLaunchTemplates: one EC2 launch template per instance type, named '{fleet}-{instanceType}'
 * (the pattern Ec2Fleet uses), plus the VMs' security group and instance role. Amazon Linux 2023
 * for the type's CPU architecture, IMDSv2 required (instance tags readable through it: the user
 * data reads its variant from the spillway:variant tag), encrypted gp3 root volume, inference
 * port open only to the controller's security group. User data unpacks the app bundle of the
 * type's architecture (Node runtime included: nothing from a registry or dnf at boot), syncs models
 * from the model bucket, and runs the server under systemd.
 */
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { allowSessionManager } from './session-manager.js';
import { type AppBundle, BUNDLE_APP, BUNDLE_NODE, BUNDLE_ROOT, bootPreamble, bundleFetchLines, imdsLines, readinessLines } from './app-bundle.js';
import { GRANT_READ_ACTIONS, nagAssetBucketObjects, nagResource } from '../nag.js';
import type { InstanceType as CatalogInstanceType } from '../../profiles/catalog.js';

export interface VmLaunchTemplatesProps {
  readonly vpc: ec2.IVpc;
  /** spillway:fleet tag value and template name prefix. */
  readonly fleetName: string;
  /** Catalog entries of the instance types to create templates for (>= 1). */
  readonly instanceTypes: readonly CatalogInstanceType[];
  /** Only this security group may reach the inference port. */
  readonly controllerSecurityGroup: ec2.ISecurityGroup;
  /** The app bundle (see AppBundle): each template boots the asset of its type's architecture. */
  readonly appBundle: AppBundle;
  /** Bucket with models/ (see ModelBucket). */
  readonly modelBucket: s3.IBucket;
  /** Inference server port. @default 8081 */
  readonly serverPort?: number;
  /** Root volume size in GiB. @default 30 */
  readonly rootVolumeGib?: number;
}

export function launchTemplateName(fleetName: string, instanceType: string): string {
  return `${fleetName}-${instanceType}`;
}

/** Seconds the VM boot script waits for /readyz before it reports a failed boot. */
export const VM_READY_TIMEOUT_S = 300;

/**
 * The user data script (exported for tests): unpacks the app bundle (Node runtime included),
 * syncs models/ from the model bucket, and runs the server under systemd. No package manager and
 * no registry; every step fails the boot loudly (SPILLWAY_BOOT_FAILED step=... on the console).
 */
export function vmUserData(opts: { bundleUrl: string; modelBucket: string; serverPort: number }): string[] {
  return [
    ...bootPreamble('spillway-server'),
    ...imdsLines({ VARIANT: 'tags/instance/spillway:variant', LIFECYCLE: 'instance-life-cycle' }),
    'VCPU=$(nproc)',
    // A Spot VM watches IMDS for EC2's interruption notice and drains on it (functions/server/spot-notice.ts).
    'SPOT=0; [ "$LIFECYCLE" = spot ] && SPOT=1',
    `mkdir -p ${BUNDLE_ROOT}/models /var/lib/spillway`,
    ...bundleFetchLines(opts.bundleUrl),
    'step models',
    `aws s3 sync --only-show-errors s3://${opts.modelBucket}/models/ ${BUNDLE_ROOT}/models/`,
    'step systemd',
    'cat > /etc/systemd/system/spillway-server.service <<UNIT',
    '[Unit]',
    'Description=Spillway inference server',
    'After=network-online.target',
    '[Service]',
    `WorkingDirectory=${BUNDLE_APP}`,
    `Environment=PORT=${opts.serverPort}`,
    'Environment=HOST=0.0.0.0',
    'Environment=SPILLWAY_VARIANTS=$VARIANT',
    // One server process; intra-op threads = vCPUs so one VM uses all its cores: the layout
    // controller/core/vm-layout.ts describes (1 slot per VM) and both fleets assume.
    'Environment=SPILLWAY_INTRA_OP_THREADS=$VCPU',
    `Environment=SPILLWAY_MODEL_DIR=${BUNDLE_ROOT}/models`,
    'Environment=SPILLWAY_HOME=/var/lib/spillway',
    'Environment=SPILLWAY_SHARED_DIR=none',
    'Environment=SPILLWAY_SPOT=$SPOT',
    `ExecStart=${BUNDLE_NODE} ${BUNDLE_APP}/dist/server.mjs`,
    'Restart=on-failure',
    'KillSignal=SIGTERM',
    'TimeoutStopSec=30',
    '[Install]',
    'WantedBy=multi-user.target',
    'UNIT',
    'systemctl daemon-reload',
    'step start',
    'systemctl enable --now spillway-server.service',
    ...readinessLines(`http://127.0.0.1:${opts.serverPort}/readyz`, VM_READY_TIMEOUT_S),
  ];
}

export class VmLaunchTemplates extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  /** Port the VMs' inference server listens on (the controller is told the same). */
  readonly serverPort: number;
  readonly role: iam.Role;
  readonly templates = new Map<string, ec2.LaunchTemplate>();

  constructor(scope: Construct, id: string, props: VmLaunchTemplatesProps) {
    super(scope, id);
    if (props.instanceTypes.length === 0) throw new Error('VmLaunchTemplates instanceTypes must not be empty, got []');
    const serverPort = props.serverPort ?? 8081;
    this.serverPort = serverPort;
    if (!Number.isInteger(serverPort) || serverPort < 1 || serverPort > 65_535) {
      throw new Error(`VmLaunchTemplates serverPort must be an integer in 1..65535, got ${serverPort}`);
    }
    const rootVolumeGib = props.rootVolumeGib ?? 30;
    if (!Number.isInteger(rootVolumeGib) || rootVolumeGib < 8 || rootVolumeGib > 1024) {
      throw new Error(`VmLaunchTemplates rootVolumeGib must be an integer in 8..1024, got ${rootVolumeGib}`);
    }

    this.securityGroup = new ec2.SecurityGroup(this, 'VmSg', {
      vpc: props.vpc,
      description: `Spillway ${props.fleetName} inference VMs: port ${serverPort} from the controller only`,
      allowAllOutbound: true,
    });
    this.securityGroup.addIngressRule(
      props.controllerSecurityGroup,
      ec2.Port.tcp(serverPort),
      'inference API from the controller',
    );

    this.role = new iam.Role(this, 'VmRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Spillway inference VM: read the app bundle and models; Session Manager',
    });
    for (const arch of new Set(props.instanceTypes.map((t) => t.arch))) props.appBundle.grantRead(arch, this.role);
    allowSessionManager(this.role);
    props.modelBucket.grantRead(this.role, 'models/*');

    for (const t of props.instanceTypes) {
      const userData = ec2.UserData.forLinux();
      userData.addCommands(
        ...vmUserData({
          bundleUrl: props.appBundle.assetFor(t.arch).s3ObjectUrl,
          modelBucket: props.modelBucket.bucketName,
          serverPort,
        }),
      );
      const lt = new ec2.LaunchTemplate(this, `Lt-${t.name}`, {
        launchTemplateName: launchTemplateName(props.fleetName, t.name),
        instanceType: new ec2.InstanceType(t.name),
        machineImage: ec2.MachineImage.latestAmazonLinux2023({
          cpuType: t.arch === 'arm64' ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64,
        }),
        userData,
        role: this.role,
        securityGroup: this.securityGroup,
        requireImdsv2: true,
        httpPutResponseHopLimit: 1,
        instanceMetadataTags: true,
        blockDevices: [
          {
            deviceName: '/dev/xvda',
            volume: ec2.BlockDeviceVolume.ebs(rootVolumeGib, {
              encrypted: true,
              volumeType: ec2.EbsDeviceVolumeType.GP3,
              deleteOnTermination: true,
            }),
          },
        ],
      });
      this.templates.set(t.name, lt);
    }
    const why = 'VMs read the app-bundle assets and models/* only (CDK grantRead actions).';
    Validations.of(this.role).acknowledge(
      ...GRANT_READ_ACTIONS.map((a) => ({ id: `AwsSolutions-IAM5[${a}]`, reason: why })),
      { id: `AwsSolutions-IAM5[${nagAssetBucketObjects(this)}]`, reason: why },
      { id: `AwsSolutions-IAM5[${nagResource(this, `${props.modelBucket.bucketArn}/models/*`)}]`, reason: why },
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'Session Manager instance actions (ssm:UpdateInstanceInformation, ssmmessages:*Channel) take no resource scope; they replace SSH.' },
    );
  }
}
