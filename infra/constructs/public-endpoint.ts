/**
 * PublicEndpoint: an internet-facing Application Load Balancer in front of the controller, and
 * the API key the controller requires on every /v1/* call (`x-api-key`), kept in Secrets Manager.
 * Plain HTTP on port 80 unless a certificate is given (an ACM certificate needs a domain, which
 * a fresh account does not have); with `certificateArn` it listens on 443 and redirects 80.
 */
import { Annotations, CfnOutput, Duration, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as targets from 'aws-cdk-lib/aws-elasticloadbalancingv2-targets';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface PublicEndpointProps {
  readonly vpc: ec2.IVpc;
  /** The single controller host, registered as the target. @default none: targets register themselves (the router group) */
  readonly controllerInstance?: ec2.Instance;
  readonly controllerSecurityGroup: ec2.ISecurityGroup;
  /** Controller API port. @default 8080 */
  readonly controllerPort?: number;
  readonly apiKeySecret: secretsmanager.ISecret;
  /** Bucket for ALB access logs (SSE-S3). */
  readonly accessLogBucket: s3.IBucket;
  /** Who may connect. @default '0.0.0.0/0' (the API key is still required) */
  readonly allowedCidr?: string;
  /** Target health check path. @default '/healthz' (the router group uses '/readyz') */
  readonly healthCheckPath?: string;
  /** Target health check port: the health listener on its own thread (CONTROLLER_HEALTH_PORT). @default the API port */
  readonly healthCheckPort?: number;
  /** ACM certificate ARN for HTTPS on 443. @default undefined (HTTP on 80) */
  readonly certificateArn?: string;
}

export class PublicEndpoint extends Construct {
  readonly alb: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly url: string;

  constructor(scope: Construct, id: string, props: PublicEndpointProps) {
    super(scope, id);
    const port = props.controllerPort ?? 8080;
    const cidr = props.allowedCidr ?? '0.0.0.0/0';
    const healthCheckPath = props.healthCheckPath ?? '/healthz';
    if (!/^\/[\w\-./]*$/.test(healthCheckPath)) {
      throw new Error(`PublicEndpoint healthCheckPath must be an absolute path like /readyz, got '${healthCheckPath}'`);
    }
    if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr)) {
      throw new Error(`PublicEndpoint allowedCidr must be an IPv4 CIDR, got '${cidr}'`);
    }
    if (props.certificateArn !== undefined && !props.certificateArn.startsWith('arn:')) {
      throw new Error(`PublicEndpoint certificateArn must be an ACM ARN, got '${props.certificateArn}'`);
    }
    const sg = new ec2.SecurityGroup(this, 'AlbSg', {
      vpc: props.vpc,
      description: 'Spillway public endpoint',
      allowAllOutbound: false,
    });
    const listenPort = props.certificateArn ? 443 : 80;
    sg.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(listenPort), 'public API (x-api-key required)');
    if (props.certificateArn) sg.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(80), 'redirect to HTTPS');
    sg.addEgressRule(props.controllerSecurityGroup, ec2.Port.tcp(port), 'to the controller');
    props.controllerSecurityGroup.addIngressRule(sg, ec2.Port.tcp(port), 'from the load balancer');
    const healthPort = props.healthCheckPort ?? port;
    if (!Number.isInteger(healthPort) || healthPort < 1 || healthPort > 65_535) {
      throw new Error(`PublicEndpoint healthCheckPort must be an integer port 1..65535, got ${healthPort}`);
    }
    if (healthPort !== port) {
      sg.addEgressRule(props.controllerSecurityGroup, ec2.Port.tcp(healthPort), 'health checks');
      props.controllerSecurityGroup.addIngressRule(sg, ec2.Port.tcp(healthPort), 'health checks from the load balancer');
    }

    this.alb = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      vpc: props.vpc,
      internetFacing: true,
      securityGroup: sg,
      dropInvalidHeaderFields: true,
    });
    this.alb.logAccessLogs(props.accessLogBucket, 'alb');

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'Controller', {
      vpc: props.vpc,
      port,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.INSTANCE,
      ...(props.controllerInstance ? { targets: [new targets.InstanceTarget(props.controllerInstance, port)] } : {}),
      healthCheck: {
        path: healthCheckPath,
        ...(healthPort !== port ? { port: String(healthPort) } : {}),
        interval: Duration.seconds(15),
        healthyThresholdCount: 2,
      },
      deregistrationDelay: Duration.seconds(15),
    });
    const targetGroup = this.targetGroup;
    if (props.certificateArn) {
      this.alb.addListener('Https', {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn)],
        defaultTargetGroups: [targetGroup],
      });
      this.alb.addRedirect();
    } else {
      // Shown by `cdk synth`/`cdk deploy` (and fails `cdk synth --strict`): plain HTTP is a choice.
      Annotations.of(this).addWarningV2(
        'spillway:plain-http',
        'The public endpoint listens on plain HTTP (port 80): the x-api-key header and every payload cross the network unencrypted. ' +
          'Pass -c spillway:certificateArn=<ACM certificate ARN> for HTTPS on 443 (80 then redirects).',
      );
      this.alb.addListener('Http', {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        defaultTargetGroups: [targetGroup],
        open: false,
      });
    }
    this.url = `${props.certificateArn ? 'https' : 'http'}://${this.alb.loadBalancerDnsName}`;
    new CfnOutput(this, 'Url', { value: this.url, description: 'Spillway public endpoint (send x-api-key)' });
    // The controller's live dashboard (controller/server/dashboard.ts) through the same listener:
    // the page loads without the key and asks for it once per browser session.
    new CfnOutput(this, 'LiveDashboardUrl', { value: `${this.url}/`, description: 'Spillway live dashboard (asks for the API key once)' });
    new CfnOutput(this, 'ApiKeyCommand', {
      value: `aws secretsmanager get-secret-value --secret-id ${props.apiKeySecret.secretArn} --query SecretString --output text`,
      description: 'Command printing the API key',
    });
    if (cidr === '0.0.0.0/0') {
      Validations.of(sg).acknowledge({
        id: 'AwsSolutions-EC23',
        reason: 'Public inference API by design; every /v1/* call needs the API key (x-api-key). Narrow with spillway:allowedCidr.',
      });
    }
  }
}
