/**
 * cluster-env.ts, the one reader of a router's configuration: both modes, and every fail-fast
 * error naming the variable (the router group's unit sets exactly these; router-group.test.ts
 * reads the synthesized one back).
 */
import { describe, expect, it } from 'vitest';
import { awsRouterEnvironment, readClusterEnv } from '../../controller/cluster/cluster-env.js';

const AWS_BASE = {
  SPILLWAY_WORLD: 'aws',
  SPILLWAY_INSTANCE_TYPES: 'c5.large',
  ...awsRouterEnvironment({ coordTable: 'spillway-coordination', routerId: 'i-0123456789abcdef0' }),
};

describe('readClusterEnv', () => {
  it('aws mode: the table, the router id and the aws-world config from the controller variables', () => {
    const c = readClusterEnv(AWS_BASE);
    expect(c).toMatchObject({
      mode: 'aws',
      routerId: 'i-0123456789abcdef0',
      coordTable: 'spillway-coordination',
    });
    expect(c.mode === 'aws' && c.config.instanceTypes).toEqual(['c5.large']);
  });

  it.each([
    [{ SPILLWAY_ROUTER_MODE: 'cloud' }, /SPILLWAY_ROUTER_MODE must be local or aws, got "cloud"/],
    [{ SPILLWAY_ROUTER_ID: '' }, /SPILLWAY_ROUTER_ID must be 1-32 lowercase/],
    [{ SPILLWAY_ROUTER_ID: 'I-UPPER' }, /SPILLWAY_ROUTER_ID .*got "I-UPPER"/],
    [{ SPILLWAY_COORD_TABLE: 'x' }, /SPILLWAY_COORD_TABLE must name a DynamoDB table .*got "x"/],
    [
      { SPILLWAY_WORLD: 'local', SPILLWAY_INSTANCE_TYPES: '' },
      /SPILLWAY_ROUTER_MODE=aws needs SPILLWAY_WORLD=aws, got "local"/,
    ],
    [{ SPILLWAY_INSTANCE_TYPES: '' }, /SPILLWAY_INSTANCE_TYPES/],
  ])('aws mode with %j fails naming the variable', (override, message) => {
    expect(() => readClusterEnv({ ...AWS_BASE, ...override })).toThrow(message);
  });

  it('local mode (the default) needs the supervisor hand-over', () => {
    expect(() => readClusterEnv({})).toThrow(/SPILLWAY_CLUSTER is not set/);
    expect(() => readClusterEnv({ SPILLWAY_CLUSTER: '{' })).toThrow(/SPILLWAY_CLUSTER is not JSON/);
    expect(() => readClusterEnv({ SPILLWAY_CLUSTER: '{}' })).toThrow(/SPILLWAY_CLUSTER: /);
  });

  it('the writer refuses a table name DynamoDB would', () => {
    expect(() => awsRouterEnvironment({ coordTable: 'a b', routerId: '$INSTANCE_ID' })).toThrow(
      /SPILLWAY_COORD_TABLE: 'a b'/,
    );
  });
});
