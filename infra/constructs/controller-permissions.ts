/**
 * The permissions of a host that runs the Spillway controller (the single controller host, or a
 * router of the router group whose planner may hold the lease), in one home so the two roles
 * cannot drift: RunInstances only from this fleet's launch templates and only with its
 * spillway:fleet tag, TerminateInstances only on instances carrying that tag, invoke/update only
 * its own Lambda functions, PutMetricData only in the Spillway namespace, logs only to its own log
 * group, read access to the API-key secret it checks and to the app bundle it boots from, and
 * Session Manager instead of SSH. The cdk-nag acknowledgements of these grants live here too.
 */
import { Arn, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { METRIC_NAMESPACE } from '../../controller/aws/metric-names.js';
import { GRANT_READ_ACTIONS, nagAccount, nagAssetBucketObjects, nagRegion } from '../nag.js';
import type { AppBundle, BundleArch } from './app-bundle.js';
import { allowSessionManager } from './session-manager.js';
import type { SpotInterruptionQueue } from './spot-interruption-queue.js';

export interface ControllerPermissionsProps {
  readonly fleetName: string;
  /** Launch templates the controller may launch from (Ec2Fleet's). */
  readonly launchTemplates: readonly ec2.LaunchTemplate[];
  /** Role the VMs run with (passed at RunInstances through the templates' instance profile). */
  readonly vmRole: iam.IRole;
  /** VM security group (RunInstances references it). */
  readonly vmSecurityGroup: ec2.ISecurityGroup;
  /** Variant functions the controller invokes and right-sizes. */
  readonly functions: readonly lambda.IFunction[];
  readonly apiKeySecret: secretsmanager.ISecret;
  readonly appBundle: AppBundle;
  /** Architecture of the host (the bundle asset it reads). */
  readonly arch: BundleArch;
  /** The host's own log group. */
  readonly logGroup: logs.ILogGroup;
  /** EventBridge's Spot warnings, which the controller receives and deletes. @default none (no Spot type planned) */
  readonly spotWarnings?: SpotInterruptionQueue;
}

/** Validates what both hosts need (names the prop and the value, like a construct's own checks). */
export function checkControllerPermissionsProps(
  owner: string,
  props: Pick<ControllerPermissionsProps, 'launchTemplates' | 'functions'>,
): void {
  if (props.launchTemplates.length === 0)
    throw new Error(`${owner} launchTemplates must not be empty, got []`);
  if (props.functions.length === 0) throw new Error(`${owner} functions must not be empty, got []`);
}

/** The public API port of a controller host or router (the same rule and message for both). */
export function checkApiPort(owner: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`${owner} port must be an integer in 1..65535, got ${port}`);
}

/** Adds the controller's statements and grants to `role`, and acknowledges their cdk-nag findings. */
export function grantControllerPermissions(role: iam.Role, props: ControllerPermissionsProps): void {
  const stack = Stack.of(role);
  const ec2Arn = (resource: string) =>
    Arn.format(
      { service: 'ec2', resource, resourceName: '*', account: stack.account, region: stack.region },
      stack,
    );
  const fleetTag = `aws:RequestTag/spillway:fleet`;
  const templateArns = props.launchTemplates.map((lt) =>
    Arn.format(
      {
        service: 'ec2',
        resource: 'launch-template',
        resourceName: lt.launchTemplateId!,
        account: stack.account,
        region: stack.region,
      },
      stack,
    ),
  );
  // RunInstances authorises every resource it touches; the instance and volume must carry our
  // fleet tag and come from one of our templates.
  role.addToPolicy(
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
  role.addToPolicy(
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
        Arn.format(
          {
            service: 'ec2',
            resource: 'security-group',
            resourceName: props.vmSecurityGroup.securityGroupId,
            account: stack.account,
            region: stack.region,
          },
          stack,
        ),
        Arn.format(
          { service: 'ec2', resource: 'image', resourceName: '*', account: '', region: stack.region },
          stack,
        ),
      ],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'TagOnLaunchOnly',
      actions: ['ec2:CreateTags'],
      resources: [ec2Arn('instance'), ec2Arn('volume')],
      conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'TerminateOwnFleetOnly',
      actions: ['ec2:TerminateInstances'],
      resources: [ec2Arn('instance')],
      conditions: { StringEquals: { 'ec2:ResourceTag/spillway:fleet': props.fleetName } },
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'DescribeHasNoResourceScope',
      // DescribeSpotInstanceRequests: the describe-based Spot reclaim fallback (ec2-fleet.ts).
      actions: ['ec2:DescribeInstances', 'ec2:DescribeLaunchTemplates', 'ec2:DescribeInstanceStatus', 'ec2:DescribeSpotInstanceRequests'],
      resources: ['*'],
    }),
  );
  // Read at start when spillway:lambdaConcurrency is unset: the planner's Lambda concurrency limit.
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'AccountSettingsHasNoResourceScope',
      actions: ['lambda:GetAccountSettings'],
      resources: ['*'],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'PassVmRoleToEc2',
      actions: ['iam:PassRole'],
      resources: [props.vmRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    }),
  );
  role.addToPolicy(
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
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'OwnMetricNamespace',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACE } },
    }),
  );
  allowSessionManager(role);
  props.logGroup.grantWrite(role);
  props.apiKeySecret.grantRead(role);
  props.appBundle.grantRead(props.arch, role);
  props.spotWarnings?.grantConsume(role);

  Validations.of(role).acknowledge(
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ec2:Describe*, lambda:GetAccountSettings, cloudwatch:PutMetricData and the Session Manager instance actions support no resource scoping; PutMetricData is limited by the cloudwatch:namespace condition.',
    },
    {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${nagRegion(role)}:${nagAccount(role)}:instance/*]`,
      reason: 'Instance ids are unknown before launch; scoped by the spillway:fleet tag condition.',
    },
    {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${nagRegion(role)}:${nagAccount(role)}:volume/*]`,
      reason: 'Volume ids are unknown before launch; scoped by the fleet tag and launch-template conditions.',
    },
    {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${nagRegion(role)}:${nagAccount(role)}:network-interface/*]`,
      reason: 'ENIs are created by RunInstances; ids are unknown before launch.',
    },
    {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${nagRegion(role)}:${nagAccount(role)}:spot-instances-request/*]`,
      reason: 'The one-time Spot request a Spot RunInstances creates; its id is unknown before launch (only from our own templates, see RunTaggedFromOwnTemplates).',
    },
    {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${nagRegion(role)}:${nagAccount(role)}:subnet/*]`,
      reason: 'Subnet chosen by the launch template at run time.',
    },
    {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${nagRegion(role)}::image/*]`,
      reason: 'The AL2023 AMI id is resolved from SSM at launch time.',
    },
    ...GRANT_READ_ACTIONS.map((a) => ({
      id: `AwsSolutions-IAM5[${a}]`,
      reason: 'CDK grantRead on the app-bundle asset.',
    })),
    {
      id: `AwsSolutions-IAM5[${nagAssetBucketObjects(role)}]`,
      reason: 'CDK grantRead on the app-bundle asset.',
    },
    ...props.functions.map((f) => ({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(f.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason: 'Versions/aliases of our own function (provisioned concurrency is set on a qualifier).',
    })),
  );
}
