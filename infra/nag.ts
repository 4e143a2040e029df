/**
 * Helpers to write cdk-nag acknowledgements (Validations.of(x).acknowledge) whose finding ids
 * match what the AwsSolutions IAM5 rule prints: CloudFormation pseudo parameters appear as
 * <AWS::AccountId> / <AWS::Region> when the stack is environment-agnostic, else as literals.
 */
import { Stack, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';

export function nagAccount(scope: IConstruct): string {
  const a = Stack.of(scope).account;
  return Token.isUnresolved(a) ? '<AWS::AccountId>' : a;
}

export function nagRegion(scope: IConstruct): string {
  const r = Stack.of(scope).region;
  return Token.isUnresolved(r) ? '<AWS::Region>' : r;
}

/** Default-synthesizer file-asset bucket, as IAM5 prints it. */
export function nagAssetBucketObjects(scope: IConstruct): string {
  return `Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-${nagAccount(scope)}-${nagRegion(scope)}/*`;
}

/** Read actions CDK's grantRead adds (s3:GetObject*, s3:GetBucket*, s3:List*). */
export const GRANT_READ_ACTIONS = ['Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*'] as const;

/** The IAM5 finding id part for a resource value (token-aware), e.g. `Resource::arn:...:bucket/models/*`. */
export function nagResource(scope: IConstruct, value: string): string {
  return `Resource::${flattenCfnReference(Stack.of(scope).resolve(value))}`;
}
