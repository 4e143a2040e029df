/**
 * FleetReaper: a custom resource whose delete terminates every instance tagged
 * spillway:fleet=<fleet> and waits until none is left (infra/lambda/fleet-reaper.ts, on the CDK
 * custom-resources Provider framework: onEvent terminates, isComplete polls every 15 s for up to
 * 30 min). The VMs are the controller's, not CloudFormation's; without this, `cdk destroy` with VMs
 * running stops on DependencyViolation (their network interfaces hold the subnets and the VM
 * security group) while they keep billing. Order on delete: the controller host first (it depends
 * on the reaper, so it stops launching), then the reaper, then what it depends on (VPC, security
 * groups).
 */
import { Arn, CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, type IDependable } from 'constructs';
import { join } from 'node:path';
import { nagAccount, nagRegion } from '../nag.js';

export interface FleetReaperProps {
  readonly fleetName: string;
  readonly repoRoot: string;
  /** Resources that must outlive the VMs on delete (VPC, subnets, the VM security group). */
  readonly outlives: readonly IDependable[];
  /** How long the delete may wait for terminations. @default 30 min */
  readonly totalTimeout?: Duration;
}

export class FleetReaper extends Construct {
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: FleetReaperProps) {
    super(scope, id);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(props.fleetName)) {
      throw new Error(`FleetReaper fleetName must match [A-Za-z0-9._-]{1,64}, got '${props.fleetName}'`);
    }
    const stack = Stack.of(this);
    const entry = join(props.repoRoot, 'infra', 'lambda', 'fleet-reaper.ts');
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Spillway ${props.fleetName}: terminate the fleet's VMs on stack delete`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({ sid: 'DescribeHasNoResourceScope', actions: ['ec2:DescribeInstances'], resources: ['*'] }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TerminateOwnFleetOnly',
        actions: ['ec2:TerminateInstances'],
        resources: [Arn.format({ service: 'ec2', resource: 'instance', resourceName: '*', account: stack.account, region: stack.region }, stack)],
        conditions: { StringEquals: { 'ec2:ResourceTag/spillway:fleet': props.fleetName } },
      }),
    );
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    logGroup.grantWrite(role);
    const fn = (name: 'onEvent' | 'isComplete') =>
      new nodejs.NodejsFunction(this, name === 'onEvent' ? 'OnEvent' : 'IsComplete', {
        entry,
        handler: name,
        runtime: lambda.Runtime.NODEJS_22_X,
        timeout: Duration.minutes(1),
        memorySize: 256,
        role,
        logGroup,
        projectRoot: props.repoRoot,
        depsLockFilePath: join(props.repoRoot, 'package-lock.json'),
        // The runtime ships the AWS SDK v3: only the handler itself is bundled.
        bundling: { format: nodejs.OutputFormat.ESM, target: 'node22', minify: true, externalModules: ['@aws-sdk/*'], forceDockerBundling: false },
      });
    const onEvent = fn('onEvent');
    const isComplete = fn('isComplete');
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: onEvent,
      isCompleteHandler: isComplete,
      queryInterval: Duration.seconds(15),
      totalTimeout: props.totalTimeout ?? Duration.minutes(30),
    });
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::SpillwayFleetReaper',
      properties: { FleetName: props.fleetName },
    });
    for (const d of props.outlives) this.resource.node.addDependency(d);

    for (const f of [onEvent, isComplete]) {
      Validations.of(f).acknowledge({ id: 'AwsSolutions-L1', reason: 'Pinned to nodejs22.x on purpose, like the variant functions.' });
    }
    Validations.of(role).acknowledge(
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'ec2:DescribeInstances supports no resource scoping.' },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${nagRegion(this)}:${nagAccount(this)}:instance/*]`,
        reason: 'The fleet\'s instance ids are unknown; TerminateInstances is scoped by the spillway:fleet tag condition.',
      },
    );
    // The Provider framework (aws-cdk-lib's own functions, roles and waiter state machine).
    const functions = this.node.findAll().filter((c): c is lambda.CfnFunction => c instanceof lambda.CfnFunction);
    Validations.of(provider).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'The Provider framework\'s own functions use AWSLambdaBasicExecutionRole (aws-cdk-lib sets it).',
      },
      ...functions.map((f) => ({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(f)}.Arn>:*]`,
        reason: 'The Provider framework invokes these functions and their versions (aws-cdk-lib\'s policy).',
      })),
      { id: 'AwsSolutions-L1', reason: 'The Provider framework\'s runtime is chosen by aws-cdk-lib.' },
      { id: 'AwsSolutions-SF1', reason: 'The framework\'s waiter state machine only polls isComplete; the handlers log to their own log group.' },
      { id: 'AwsSolutions-SF2', reason: 'X-Ray tracing of a delete-time poll loop adds cost and no insight.' },
    );
  }
}
