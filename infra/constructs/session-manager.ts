/**
 * Session Manager access for a host role, instead of SSH: no key pair, no port 22 in any security
 * group; `aws ssm start-session --target <instance-id>` opens a shell (audited in CloudTrail).
 * The SSM agent ships in the Amazon Linux 2023 AMIs; it reaches the SSM endpoints through the
 * instances' public IPv4 (no NAT, no interface endpoints). These are the actions AWS documents as
 * the minimum instance permissions for Session Manager (narrower than the managed
 * AmazonSSMManagedInstanceCore policy, which also grants Run Command and Parameter Store reads).
 */
import * as iam from 'aws-cdk-lib/aws-iam';

export const SESSION_MANAGER_ACTIONS = [
  'ssm:UpdateInstanceInformation',
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
] as const;

export function allowSessionManager(role: iam.Role): void {
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'SessionManagerInsteadOfSsh',
      actions: [...SESSION_MANAGER_ACTIONS],
      // The instance's own SSM registration and channels; these actions take no resource scope.
      resources: ['*'],
    }),
  );
}
