/**
 * StatefulStack: what must survive a redeploy of the serving side — the model bucket (+ access
 * logs), the API-key secret and, with spillway:routers, the coordination table (lease, plan,
 * learned state). Retained on `cdk destroy` unless removalPolicy says otherwise.
 */
import { join } from 'node:path';
import { CfnOutput, RemovalPolicy, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { S3_BUCKET_NAME_MAX } from '../config.js';
import { CoordinationTable, coordinationTableName } from '../constructs/coordination-table.js';
import { ModelBucket } from '../constructs/model-bucket.js';

export interface StatefulStackProps extends StackProps {
  readonly fleetName: string;
  readonly repoRoot: string;
  /** Local model directory to upload; absent = skipped. @default undefined */
  readonly modelDir?: string;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Create the router group's coordination table (spillway:routers set). @default false */
  readonly coordinationTable?: boolean;
}

/** Deterministic model bucket name, so the serving stack can reference it without an export. */
export function modelBucketName(scope: Stack, fleetName: string): string {
  const name = `${fleetName}-models-${scope.account}-${scope.region}`;
  // Env-agnostic stacks have tokens here (checked by readInfraConfig with the widest account and
  // region instead); concrete ones are checked exactly.
  if (!Token.isUnresolved(name) && name.length > S3_BUCKET_NAME_MAX) {
    throw new Error(
      `StatefulStack fleetName '${fleetName}' makes the model bucket name '${name}' ${name.length} characters long; ` +
        `S3 allows ${S3_BUCKET_NAME_MAX}: use a fleet name of at most ${S3_BUCKET_NAME_MAX - (name.length - fleetName.length)} characters`,
    );
  }
  return name;
}

export class StatefulStack extends Stack {
  readonly models: ModelBucket;
  readonly apiKeySecret: secretsmanager.Secret;
  readonly coordination: CoordinationTable | undefined;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    this.models = new ModelBucket(this, 'Models', {
      ...(props.modelDir ? { modelDir: props.modelDir } : {}),
      registryFile: join(props.repoRoot, 'functions', 'models', 'registry.json'),
      bucketName: modelBucketName(this, props.fleetName),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.apiKeySecret = new secretsmanager.Secret(this, 'ApiKey', {
      secretName: `spillway/${props.fleetName}/api-key`,
      description: 'Spillway public API key (x-api-key header); the controller loads it at boot',
      generateSecretString: { passwordLength: 40, excludePunctuation: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(this.apiKeySecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'A static API key read by the controller at boot; rotate by updating the secret and restarting the controller (documented in infra/README.md).',
    });
    this.coordination = props.coordinationTable
      ? new CoordinationTable(this, 'Coordination', {
          tableName: coordinationTableName(props.fleetName),
          removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
        })
      : undefined;
    new CfnOutput(this, 'ModelBucketName', { value: this.models.bucket.bucketName });
    new CfnOutput(this, 'ApiKeySecretArn', { value: this.apiKeySecret.secretArn });
  }
}
