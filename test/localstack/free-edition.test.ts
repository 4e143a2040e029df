/** free-edition.ts on small templates (no LocalStack needed): what is removed, rewritten, refused. */
import { describe, expect, it } from 'vitest';
import { pruneTemplate, resolveIntrinsics, type Template } from './free-edition.js';

const template = (): Template => ({
  Resources: {
    Fn: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'f-v' } },
    Alb: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: {} },
    Policy: {
      Type: 'AWS::IAM::Policy',
      Properties: { Resources: [{ 'Fn::GetAtt': ['Fn', 'Arn'] }, { Ref: 'Fn' }] },
      DependsOn: ['Fn', 'Sg'],
    },
    Sg: { Type: 'AWS::EC2::SecurityGroup', Properties: {} },
  },
  Outputs: { Url: { Value: { 'Fn::GetAtt': ['Alb', 'DNSName'] } }, SgId: { Value: { Ref: 'Sg' } } },
});

describe('pruneTemplate', () => {
  it('removes the listed types with their reasons, rewrites Lambda Ref/Arn exactly, drops DependsOn and outputs on removed resources', () => {
    const { template: t, skipped } = pruneTemplate('S', template());
    expect(Object.keys(t.Resources).sort()).toEqual(['Policy', 'Sg']);
    expect(t.Resources.Policy?.Properties).toEqual({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax
      Resources: [{ 'Fn::Sub': 'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:f-v' }, 'f-v'],
    });
    expect(t.Resources.Policy?.DependsOn).toEqual(['Sg']);
    expect(Object.keys(t.Outputs ?? {})).toEqual(['SgId']);
    expect(skipped.map((s) => `${s.logicalId}:${s.type}`).sort()).toEqual([
      'Alb:AWS::ElasticLoadBalancingV2::LoadBalancer',
      'Fn:AWS::Lambda::Function',
      'Url:Output',
    ]);
    expect(skipped.every((s) => s.reason.length > 10)).toBe(true);
  });

  it('drops IAM statements that grant access to a removed resource without a fixed name (the Provider framework invoking the reaper), and a policy left empty', () => {
    const t: Template = {
      Resources: {
        Reaper: { Type: 'AWS::Lambda::Function', Properties: {} },
        Named: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'f-v' } },
        Waiter: { Type: 'AWS::StepFunctions::StateMachine', Properties: {} },
        Mixed: {
          Type: 'AWS::IAM::Policy',
          Properties: {
            PolicyDocument: {
              Statement: [
                { Action: 'lambda:InvokeFunction', Resource: [{ 'Fn::GetAtt': ['Reaper', 'Arn'] }] },
                { Action: 'lambda:InvokeFunction', Resource: [{ 'Fn::GetAtt': ['Named', 'Arn'] }] },
                { Action: 'ec2:DescribeInstances', Resource: '*' },
              ],
            },
          },
        },
        OnlyGone: {
          Type: 'AWS::IAM::Policy',
          Properties: { PolicyDocument: { Statement: [{ Action: 'states:StartExecution', Resource: { Ref: 'Waiter' } }] } },
        },
        UsesPolicy: { Type: 'AWS::IAM::Role', Properties: {}, DependsOn: ['OnlyGone'] },
      },
    };
    const { template: out, skipped } = pruneTemplate('S', t);
    expect(Object.keys(out.Resources).sort()).toEqual(['Mixed', 'UsesPolicy']);
    const statements = (out.Resources.Mixed!.Properties as { PolicyDocument: { Statement: Array<{ Action: string }> } }).PolicyDocument.Statement;
    expect(statements.map((st) => st.Action)).toEqual(['lambda:InvokeFunction', 'ec2:DescribeInstances']);
    expect(out.Resources.UsesPolicy?.DependsOn).toBeUndefined();
    expect(skipped.map((x) => `${x.logicalId}:${x.type}`)).toEqual(
      expect.arrayContaining(['Mixed:AWS::IAM::Policy statement', 'OnlyGone:AWS::IAM::Policy statement', 'OnlyGone:AWS::IAM::Policy', 'Waiter:AWS::StepFunctions::StateMachine']),
    );
  });

  it('removes an alarm whose metric belongs to a removed resource (the ALB target group), with its reason', () => {
    const t = template();
    t.Resources.Unhealthy = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: { Dimensions: [{ Name: 'LoadBalancer', Value: { 'Fn::GetAtt': ['Alb', 'LoadBalancerFullName'] } }] },
    };
    t.Resources.Spend = { Type: 'AWS::CloudWatch::Alarm', Properties: { Namespace: 'Spillway' } };
    const { template: out, skipped } = pruneTemplate('S', t);
    expect(Object.keys(out.Resources)).toContain('Spend');
    expect(Object.keys(out.Resources)).not.toContain('Unhealthy');
    expect(skipped.find((x) => x.logicalId === 'Unhealthy')?.reason).toMatch(/not deployed \(Alb\)/);
  });

  it('refuses a reference to a removed resource it cannot rewrite exactly', () => {
    const t = template();
    t.Resources.Sg = { Type: 'AWS::EC2::SecurityGroup', Properties: { Description: { 'Fn::GetAtt': ['Alb', 'DNSName'] } } };
    expect(() => pruneTemplate('S', t)).toThrow(/references removed Alb/);
  });
});

describe('resolveIntrinsics', () => {
  const stack = {
    physical: new Map([
      ['Sg', 'sg-1'],
      ['Prof', 'prof-1'],
    ]),
    parameters: new Map([['Ami', 'ami-1']]),
    accountId: '000000000000',
    region: 'us-east-1',
  };
  const types = new Map([
    ['Sg', 'AWS::EC2::SecurityGroup'],
    ['Prof', 'AWS::IAM::InstanceProfile'],
  ]);

  it('resolves Ref, GetAtt, Sub, Join and Base64 as CloudFormation would', () => {
    const out = resolveIntrinsics(
      {
        ImageId: { Ref: 'Ami' },
        Sg: [{ 'Fn::GetAtt': ['Sg', 'GroupId'] }],
        Profile: { Arn: { 'Fn::GetAtt': ['Prof', 'Arn'] } },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax
        UserData: { 'Fn::Base64': { 'Fn::Join': ['', ['s3://b-', { Ref: 'AWS::AccountId' }, { 'Fn::Sub': '/${AWS::Region}/${Sg}' }]] } },
      },
      stack,
      types,
    );
    expect(out).toEqual({
      ImageId: 'ami-1',
      Sg: ['sg-1'],
      Profile: { Arn: 'arn:aws:iam::000000000000:instance-profile/prof-1' },
      UserData: Buffer.from('s3://b-000000000000/us-east-1/sg-1').toString('base64'),
    });
  });

  it('refuses what it does not know instead of guessing', () => {
    expect(() => resolveIntrinsics({ Ref: 'Nope' }, stack, types)).toThrow(/Ref Nope/);
    expect(() => resolveIntrinsics({ 'Fn::GetAtt': ['Sg', 'VpcId'] }, stack, types)).toThrow(/GetAtt Sg.VpcId/);
    expect(() => resolveIntrinsics({ 'Fn::If': ['c', 1, 2] }, stack, types)).toThrow(/Fn::If/);
  });
});
