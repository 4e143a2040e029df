import { describe, expect, it } from 'vitest';
import * as awsErrors from '../../controller/aws/errors.js';
import * as controllerErrors from '../../controller/errors.js';
import * as lambdaApiErrors from '../../controller/local/lambda-runtime/api-errors.js';
import * as localErrors from '../../controller/local/errors.js';
import * as loopErrors from '../../controller/loop/errors.js';
import * as replayErrors from '../../controller/replay/errors.js';
import * as apiErrors from '../../controller/server/errors.js';
import * as simErrors from '../../controller/sim/errors.js';
import * as engineErrors from '../../functions/engine/errors.js';
import { SpillwayError } from '../../functions/engine/spillway-error.js';
import * as lambdaErrors from '../../functions/lambda/errors.js';
import * as servingErrors from '../../functions/server/errors.js';
import * as profileErrors from '../../profiles/lib/errors.js';

const modules = {
  awsErrors,
  controllerErrors,
  lambdaApiErrors,
  localErrors,
  loopErrors,
  replayErrors,
  apiErrors,
  simErrors,
  engineErrors,
  lambdaErrors,
  servingErrors,
  profileErrors,
};

const errorClasses = Object.entries(modules).flatMap(([mod, exports]) =>
  Object.entries(exports as Record<string, unknown>)
    .filter(([, v]) => typeof v === 'function' && (v as { prototype: unknown }).prototype instanceof Error)
    .map(([name, v]) => [`${mod}.${name}`, v] as const),
);

describe('one error base class', () => {
  it('finds the error classes of every module', () => {
    expect(errorClasses.length).toBeGreaterThan(30);
  });

  it.each(errorClasses)('%s extends SpillwayError', (_name, cls) => {
    expect((cls as { prototype: unknown }).prototype).toBeInstanceOf(SpillwayError);
  });

  it('names an error after its class and keeps the cause (Powertools style)', () => {
    const root = new Error('ECONNRESET');
    const e = new controllerErrors.BackendUnavailableError('vm-1 hung up', { cause: root });
    expect(e).toBeInstanceOf(SpillwayError);
    expect(e).toBeInstanceOf(controllerErrors.SpillwayControllerError);
    expect(e.name).toBe('BackendUnavailableError');
    expect(e.cause).toBe(root);
    expect(e.message).toBe('vm-1 hung up');
    expect(String(e)).toBe('BackendUnavailableError: vm-1 hung up');
    const p = new profileErrors.ProfilingError('resnet18', 'child crashed', { cause: root });
    expect(p.name).toBe('ProfilingError');
    expect(p.message).toBe('resnet18: child crashed');
    expect(p.cause).toBe(root);
    expect(new engineErrors.RegistryError('bad').name).toBe('RegistryError');
  });
});
