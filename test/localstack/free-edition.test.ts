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

  it('refuses a reference to a removed resource it cannot rewrite exactly', () => {
    const t = template();
    t.Resources.Sg = { Type: 'AWS::EC2::SecurityGroup', Properties: { Description: { 'Fn::GetAtt': ['Alb', 'DNSName'] } } };
    expect(() => pruneTemplate('S', t)).toThrow(/references removed Alb/);
  });

  it('an alarm on a removed resource goes with it; an alarm on a kept one stays', () => {
    const t = template();
    t.Resources.AlbAlarm = { Type: 'AWS::CloudWatch::Alarm', Properties: { Dimensions: [{ Value: { 'Fn::GetAtt': ['Alb', 'LoadBalancerFullName'] } }] } };
    t.Resources.SgAlarm = { Type: 'AWS::CloudWatch::Alarm', Properties: { Dimensions: [{ Value: { Ref: 'Sg' } }] } };
    const { template: out, skipped } = pruneTemplate('S', t);
    expect(Object.keys(out.Resources)).toContain('SgAlarm');
    expect(Object.keys(out.Resources)).not.toContain('AlbAlarm');
    expect(skipped.find((s) => s.logicalId === 'AlbAlarm')?.reason).toMatch(/watches Alb/);
  });

  it('takes a listed construct out whole (its roles and policies too), by the construct path', () => {
    const t = template();
    const at = (path: string) => ({ 'aws:cdk:path': path });
    t.Resources.ReaperFn = { Type: 'AWS::Lambda::Function', Properties: {}, Metadata: at('S/FleetReaper/OnEvent/Resource') };
    t.Resources.ReaperPolicy = {
      Type: 'AWS::IAM::Policy',
      Properties: { Resources: [{ 'Fn::GetAtt': ['ReaperFn', 'Arn'] }] },
      Metadata: at('S/FleetReaper/Provider/framework-onEvent/ServiceRole/DefaultPolicy/Resource'),
    };
    t.Resources.Reaper = { Type: 'Custom::SpillwayFleetReaper', Properties: {}, Metadata: at('S/FleetReaper/Resource/Default') };
    const { template: out, skipped } = pruneTemplate('S', t);
    expect(Object.keys(out.Resources).sort()).toEqual(['Policy', 'Sg']);
    const reaper = skipped.filter((s) => s.logicalId.startsWith('Reaper'));
    expect(reaper.map((s) => s.logicalId).sort()).toEqual(['Reaper', 'ReaperFn', 'ReaperPolicy']);
    expect(reaper.every((s) => /^part of FleetReaper: /.test(s.reason))).toBe(true);
    // Without the construct rule, the policy's reference to a nameless removed function is refused.
    delete t.Resources.ReaperPolicy?.Metadata;
    expect(() => pruneTemplate('S', t)).toThrow(/references removed ReaperFn/);
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
