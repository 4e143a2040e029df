/**
 * VmLaunchTemplates: one EC2 launch template per instance type, named '{fleet}-{instanceType}'
 * (the pattern Ec2Fleet uses), plus the VMs' security group and instance role. Amazon Linux 2023
 * for the type's CPU architecture, IMDSv2 required (instance tags readable through it: the user
 * data reads its variant from the spillway:variant tag), encrypted gp3 root volume, inference
 * port open only to the controller's security group. User data installs Node 22, fetches the
 * app source from S3 and models from the model bucket, and runs the server under systemd.
 */
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
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
  /** App source asset (see AppSource). */
  readonly appSource: s3assets.Asset;
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

/** The user data script (exported for tests): systemd unit running the inference server. */
export function vmUserData(opts: { appSourceUrl: string; modelBucket: string; serverPort: number }): string[] {
  return [
    'set -euxo pipefail',
    'dnf install -y nodejs22 nodejs22-npm unzip',
    'alternatives --set node /usr/bin/node-22 || true',
    'TOKEN=$(curl -sS -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 300")',
    'VARIANT=$(curl -sS -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/tags/instance/spillway:variant)',
    'VCPU=$(nproc)',
    'mkdir -p /opt/spillway/app /opt/spillway/models /var/lib/spillway',
    `aws s3 cp ${opts.appSourceUrl} /opt/spillway/app.zip`,
    'unzip -oq /opt/spillway/app.zip -d /opt/spillway/app',
    `aws s3 sync s3://${opts.modelBucket}/models/ /opt/spillway/models/ || true`,
    'cd /opt/spillway/app && ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --no-audit --no-fund',
    'cat > /etc/systemd/system/spillway-server.service <<UNIT',
    '[Unit]',
    'Description=Spillway inference server',
    'After=network-online.target',
    '[Service]',
    'WorkingDirectory=/opt/spillway/app',
    `Environment=PORT=${opts.serverPort}`,
    'Environment=HOST=0.0.0.0',
    'Environment=SPILLWAY_VARIANTS=$VARIANT',
    // One server process; intra-op threads = vCPUs so one VM uses all its cores: the layout
    // controller/core/vm-layout.ts describes (1 slot per VM) and both fleets assume.
    'Environment=SPILLWAY_INTRA_OP_THREADS=$VCPU',
    'Environment=SPILLWAY_MODEL_DIR=/opt/spillway/models',
    'Environment=SPILLWAY_HOME=/var/lib/spillway',
    'ExecStart=/usr/bin/node --import tsx functions/server/main.ts',
    'Restart=on-failure',
    'KillSignal=SIGTERM',
    'TimeoutStopSec=30',
    '[Install]',
    'WantedBy=multi-user.target',
    'UNIT',
    'systemctl daemon-reload',
    'systemctl enable --now spillway-server.service',
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
      description: 'Spillway inference VM: read app source and models',
    });
    props.appSource.grantRead(this.role);
    props.modelBucket.grantRead(this.role, 'models/*');

    for (const t of props.instanceTypes) {
      const userData = ec2.UserData.forLinux();
      userData.addCommands(
        ...vmUserData({
          appSourceUrl: props.appSource.s3ObjectUrl,
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
    const why = 'VMs read the app-source asset and models/* only (CDK grantRead actions).';
    Validations.of(this.role).acknowledge(
      ...GRANT_READ_ACTIONS.map((a) => ({ id: `AwsSolutions-IAM5[${a}]`, reason: why })),
      { id: `AwsSolutions-IAM5[${nagAssetBucketObjects(this)}]`, reason: why },
      { id: `AwsSolutions-IAM5[${nagResource(this, `${props.modelBucket.bucketArn}/models/*`)}]`, reason: why },
    );
  }
}
