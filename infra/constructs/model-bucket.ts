/**
 * ModelBucket: the S3 bucket holding model files and the registry for the VMs (and for Lambda
 * functions that fetch at init), plus its server-access-log bucket. Encrypted, public access
 * blocked, TLS enforced, versioned. The local model directory is uploaded with a BucketDeployment
 * when it exists; synth never fails when it is absent (a fresh clone has no ../shared/models).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { GRANT_READ_ACTIONS, nagAssetBucketObjects } from '../nag.js';

export interface ModelBucketProps {
  /** Local model directory to upload under `models/`; skipped when unset or missing. @default undefined */
  readonly modelDir?: string;
  /** Registry JSON uploaded as `models/registry.json` when given. @default undefined */
  readonly registryFile?: string;
  /** Bucket removal policy. @default RemovalPolicy.RETAIN (models survive `cdk destroy`) */
  readonly removalPolicy?: RemovalPolicy;
  /** Explicit bucket name (lets other stacks reference it without cross-stack exports). @default generated */
  readonly bucketName?: string;
  /** Days after which non-current object versions expire. @default 30 */
  readonly noncurrentVersionExpirationDays?: number;
}

export const MODEL_PREFIX = 'models/';

export class ModelBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogBucket: s3.Bucket;
  /** Whether a local model directory was found and deployed. */
  readonly modelsDeployed: boolean;

  constructor(scope: Construct, id: string, props: ModelBucketProps = {}) {
    super(scope, id);
    const days = props.noncurrentVersionExpirationDays ?? 30;
    if (!Number.isInteger(days) || days < 1) {
      throw new Error(`ModelBucket noncurrentVersionExpirationDays must be an integer >= 1, got ${days}`);
    }
    if (props.registryFile !== undefined && !existsSync(props.registryFile)) {
      throw new Error(`ModelBucket registryFile does not exist: ${props.registryFile}`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const autoDelete = removalPolicy === RemovalPolicy.DESTROY;

    this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy,
      autoDeleteObjects: autoDelete,
    });
    Validations.of(this.accessLogBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server-access-log destination; logging it into itself would loop.',
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...(props.bucketName ? { bucketName: props.bucketName } : {}),
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'model-bucket/',
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(days) }],
      removalPolicy,
      autoDeleteObjects: autoDelete,
    });

    const dir = props.modelDir;
    this.modelsDeployed = dir !== undefined && existsSync(dir) && statSync(dir).isDirectory();
    const sources: s3deploy.ISource[] = [];
    if (this.modelsDeployed && dir) {
      // Sample photos are test data, not models: keep them out of the bucket.
      sources.push(s3deploy.Source.asset(dir, { exclude: ['images', 'images/**', '*.md'] }));
    }
    if (props.registryFile) {
      sources.push(s3deploy.Source.jsonData('registry.json', JSON.parse(readFileSync(props.registryFile, 'utf8'))));
    }
    if (sources.length > 0) {
      const deployment = new s3deploy.BucketDeployment(this, 'DeployModels', {
        sources,
        destinationBucket: this.bucket,
        destinationKeyPrefix: MODEL_PREFIX,
        prune: false,
        memoryLimit: 512,
      });
      acknowledgeBucketDeployment(deployment, this.bucket);
    }
  }
}

/** The BucketDeployment custom resource is CDK-managed code; its findings are acknowledged here once. */
export function acknowledgeBucketDeployment(deployment: Construct, bucket: s3.Bucket): void {
  const stack = Stack.of(deployment);
  const why = 'CDK BucketDeployment custom resource: copies the model asset into the model bucket (CDK-generated grants).';
  Validations.of(stack).acknowledge(
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'CDK BucketDeployment custom-resource Lambda uses the basic execution role for its own logs only.',
    },
    { id: 'AwsSolutions-L1', reason: 'The BucketDeployment handler runtime is pinned by aws-cdk-lib, not by this project.' },
    ...[...GRANT_READ_ACTIONS, 'Action::s3:DeleteObject*', 'Action::s3:Abort*'].map((a) => ({
      id: `AwsSolutions-IAM5[${a}]`,
      reason: why,
    })),
    { id: `AwsSolutions-IAM5[${nagAssetBucketObjects(stack)}]`, reason: why },
    {
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(bucket.node.defaultChild as CfnElement)}.Arn>/*]`,
      reason: why,
    },
  );
}
