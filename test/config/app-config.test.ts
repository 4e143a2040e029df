/**
 * The controller's one configuration schema (controller/config/schema.ts) through its reader:
 * a branch per world with its own defaults, strictness across branches, and error messages that
 * name the variable, its flag and the accepted range.
 */
import { describe, expect, it } from 'vitest';
import { loadAppConfig, parseAppConfig } from '../../controller/app-config.js';
import { controllerEnvironment } from '../../controller/config/controller-environment.js';
import { CONFIG_NAMES } from '../../controller/config/names.js';
import { ConfigError } from '../../controller/errors.js';

describe('local branch (the embedded default)', () => {
  it('is the default world, with laptop-sized defaults', () => {
    const c = loadAppConfig({});
    expect(c.world).toBe('local');
    if (c.world !== 'local') return;
    expect(c.maxVms).toBe(2);
    expect(c.lambdaConcurrency).toBe(8);
    expect(c.instanceType).toBe('c7a.medium');
    expect(c.vmBootDelayMs).toBe(20_000);
  });

  it('rejects aws-only settings, saying which world they belong to', () => {
    expect(() => loadAppConfig({ SPILLWAY_FLEET: 'prod' })).toThrow(
      /SPILLWAY_FLEET \(--fleet\) is a setting of the aws world, and SPILLWAY_WORLD is local/,
    );
    expect(() => loadAppConfig({}, ['--instance-types', 'c5.large'])).toThrow(/SPILLWAY_INSTANCE_TYPES/);
  });

  it('names the accepted range on an out-of-range value', () => {
    expect(() => loadAppConfig({ SPILLWAY_MAX_VMS: '65' })).toThrow(
      /SPILLWAY_MAX_VMS \(--max-vms\).*<=64.*accepted: integer 0\.\.64/,
    );
    expect(() => loadAppConfig({ SPILLWAY_LAMBDA_CONCURRENCY: '0' })).toThrow(
      /SPILLWAY_LAMBDA_CONCURRENCY.*accepted: integer 1\.\.1000/,
    );
  });
});

describe('aws branch (the deployed controller host)', () => {
  const base = { SPILLWAY_WORLD: 'aws', SPILLWAY_INSTANCE_TYPES: 'c5.large, c6g.large' };

  it('reads the aws variables, with account-sized defaults and Lambda concurrency left to the account', () => {
    const c = loadAppConfig(base);
    if (c.world !== 'aws') throw new Error('expected the aws world');
    expect(c.instanceTypes).toEqual(['c5.large', 'c6g.large']);
    expect(c.maxVms).toBe(10);
    expect(c.lambdaConcurrency).toBeUndefined();
    expect(c.fleet).toBe('spillway');
    expect(c.launchTemplatePattern).toBe('{fleet}-{instanceType}');
    expect(c.vmPort).toBe(8081);
    expect(c.metricsMode).toBe('api');
  });

  it('flags win over env here too', () => {
    const c = loadAppConfig({ ...base, SPILLWAY_MAX_VMS: '4' }, [
      '--max-vms',
      '200',
      '--lambda-concurrency',
      '500',
      '--vm-subnets',
      'subnet-a,subnet-b',
    ]);
    if (c.world !== 'aws') throw new Error('expected the aws world');
    expect(c.maxVms).toBe(200);
    expect(c.lambdaConcurrency).toBe(500);
    expect(c.vmSubnets).toEqual(['subnet-a', 'subnet-b']);
  });

  it('requires instance types; rejects local-only settings and bad values by name', () => {
    expect(() => loadAppConfig({ SPILLWAY_WORLD: 'aws' })).toThrow(
      /SPILLWAY_INSTANCE_TYPES \(--instance-types\): required in the aws world/,
    );
    expect(() => loadAppConfig({ ...base, SPILLWAY_LAMBDA_CONCURRENCY: 'many' })).toThrow(
      /SPILLWAY_LAMBDA_CONCURRENCY.*accepted: integer 1\.\.100000/,
    );
    expect(() => loadAppConfig({ ...base, SPILLWAY_INSTANCE_TYPE: 'c5.large' })).toThrow(
      /SPILLWAY_INSTANCE_TYPE \(--instance-type\) is a setting of the local world, and SPILLWAY_WORLD is aws/,
    );
    expect(() => loadAppConfig({ ...base, SPILLWAY_MAX_VMS: '1001' })).toThrow(
      /SPILLWAY_MAX_VMS.*accepted: integer 0\.\.1000/,
    );
    expect(() => loadAppConfig({ ...base, SPILLWAY_METRICS_MODE: 'loud' })).toThrow(
      /SPILLWAY_METRICS_MODE \(--metrics-mode\)/,
    );
    expect(() => loadAppConfig({ ...base, SPILLWAY_LAUNCH_TEMPLATE_PATTERN: 'lt-{fleet}' })).toThrow(
      /SPILLWAY_LAUNCH_TEMPLATE_PATTERN/,
    );
    expect(() => loadAppConfig({ ...base, SPILLWAY_FLEET: 'no spaces' })).toThrow(
      /SPILLWAY_FLEET.*letters, digits/,
    );
  });

  it('an unknown world is named with the accepted ones', () => {
    expect(() => loadAppConfig({ SPILLWAY_WORLD: 'gcp' })).toThrow(
      /SPILLWAY_WORLD \(--world\): expected one of local, aws/,
    );
  });

  it('every error is a ConfigError', () => {
    expect(() => parseAppConfig({ world: 'aws', instanceTypes: [] })).toThrow(ConfigError);
  });
});

describe('controllerEnvironment (the writer) and loadAppConfig (the reader) agree', () => {
  it('round-trips every aws setting it is given', () => {
    const given = {
      fleet: 'prod',
      instanceTypes: ['c5.large', 'c5.xlarge'],
      variants: ['squeezenet-caffe2-fp16'],
      maxVms: 7,
      lambdaConcurrency: 250,
      sloMs: 400,
      vmSubnets: ['subnet-1', 'subnet-2'],
      metricsMode: 'emf' as const,
      port: 8080,
      home: '/var/lib/spillway',
    };
    const env = controllerEnvironment(given);
    expect(env['SPILLWAY_WORLD']).toBe('aws');
    expect(env['SPILLWAY_INSTANCE_TYPES']).toBe('c5.large,c5.xlarge');
    const c = loadAppConfig(env);
    expect(c).toMatchObject({ world: 'aws', ...given });
  });

  it('writes only the names the reader reads', () => {
    const env = controllerEnvironment({ instanceTypes: ['c5.large'], maxVms: 3 });
    const known = new Set(Object.values(CONFIG_NAMES).map((n) => n.env));
    for (const k of Object.keys(env)) expect(known.has(k)).toBe(true);
  });
});

describe('npm start -- --help', () => {
  it('lists every flag the reader accepts with its env variable, and the local defaults', async () => {
    const { configHelp } = await import('../../controller/config/help.js');
    const h = configHelp();
    for (const n of Object.values(CONFIG_NAMES)) {
      expect(h).toContain(`--${n.flag} `);
      expect(h).toContain(n.env);
    }
    expect(h).toMatch(/--max-vms\s+SPILLWAY_MAX_VMS\s+2\n/);
    expect(h).toMatch(/--instance-types\s+SPILLWAY_INSTANCE_TYPES\s+\[aws world\]/);
  });
});

describe('cluster and admission settings', () => {
  it('reads --routers, --lease-ttl-ms and the admission limits with their defaults', () => {
    const d = loadAppConfig({});
    if (d.world !== 'local') throw new Error('expected the local world');
    expect(d.routers).toBe(1);
    expect(d.leaseTtlMs).toBe(15_000);
    expect(d.maxInFlight).toBe(512);
    expect(d.maxInFlightBodyBytes).toBe(128 * 1024 * 1024);
    const c = loadAppConfig({ SPILLWAY_ROUTERS: '3', SPILLWAY_MAX_IN_FLIGHT: '64' }, [
      '--lease-ttl-ms',
      '20000',
      '--max-in-flight-body-bytes',
      '1048576',
    ]);
    if (c.world !== 'local') throw new Error('expected the local world');
    expect([c.routers, c.leaseTtlMs, c.maxInFlight, c.maxInFlightBodyBytes]).toEqual([
      3, 20_000, 64, 1_048_576,
    ]);
  });

  it('names the variable and the range on a bad value', () => {
    expect(() => loadAppConfig({ SPILLWAY_ROUTERS: '17' })).toThrow(
      /SPILLWAY_ROUTERS \(--routers\).*accepted: integer 1\.\.16/,
    );
    expect(() => loadAppConfig({ SPILLWAY_MAX_IN_FLIGHT: '0' })).toThrow(
      /SPILLWAY_MAX_IN_FLIGHT \(--max-in-flight\)/,
    );
    expect(() => loadAppConfig({}, ['--lease-ttl-ms', '100'])).toThrow(
      /SPILLWAY_LEASE_TTL_MS \(--lease-ttl-ms\).*accepted: integer 300\.\.600000/,
    );
  });

  it('refuses a lease shorter than two ticks when there is more than one router', () => {
    expect(() =>
      loadAppConfig({ SPILLWAY_ROUTERS: '3', SPILLWAY_TICK_MS: '5000', SPILLWAY_LEASE_TTL_MS: '9000' }),
    ).toThrow(
      /SPILLWAY_LEASE_TTL_MS \(--lease-ttl-ms\) = 9000 is shorter than two ticks \(SPILLWAY_TICK_MS = 5000\); accepted: >= 10000/,
    );
    // One router holds no lease: the same values are fine.
    expect(loadAppConfig({ SPILLWAY_TICK_MS: '5000', SPILLWAY_LEASE_TTL_MS: '9000' }).world).toBe('local');
  });
});
