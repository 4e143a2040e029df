/**
 * A local Lambda instance initialises at a lower CPU priority and serves at the normal one
 * (config.ts initNice): its init then yields to the local VMs and warm instances sharing the
 * cores, as an AWS init on its own environment's CPU would. Real runtime, real child processes,
 * the stand-in handler reporting its own threads' niceness.
 */
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultInitNice } from '../../controller/local/lambda-runtime/config.js';
import {
  type LocalLambdaRuntime,
  startLocalLambdaRuntime,
} from '../../controller/local/lambda-runtime/index.js';
import { decode, lambdaClient, STAND_IN_HANDLER } from './helpers.js';

const canRenice = process.platform === 'linux' && process.getuid?.() === 0;

interface NiceBody {
  niceAtInit: number;
  threadNices: number[];
  calls: number;
}

async function invoke(rt: LocalLambdaRuntime, fn: string): Promise<NiceBody> {
  const out = await lambdaClient(rt.endpoint).send(new InvokeCommand({ FunctionName: fn, Payload: '{}' }));
  const r = decode(out.Payload) as { statusCode: number; body: string };
  expect(r.statusCode).toBe(200);
  return JSON.parse(r.body) as NiceBody;
}

describe('local Lambda init niceness', () => {
  let rt: LocalLambdaRuntime;
  beforeAll(async () => {
    rt = await startLocalLambdaRuntime({
      handlerModule: STAND_IN_HANDLER,
      functions: [{ functionName: 'nice-default', variant: 'v-default', memoryMb: 1769 }],
    });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('the default is 10 where an instance may return to 0 (root on Linux), else 0', () => {
    expect(defaultInitNice()).toBe(canRenice ? 10 : 0);
  });

  it('init runs at the default niceness; every thread serves at 0, warm invokes too', async () => {
    const cold = await invoke(rt, 'nice-default');
    expect(cold.niceAtInit).toBe(defaultInitNice());
    if (process.platform === 'linux') {
      expect(cold.threadNices.length).toBeGreaterThan(1);
      expect(
        cold.threadNices.every((n) => n === 0),
        JSON.stringify(cold.threadNices),
      ).toBe(true);
    }
    const warm = await invoke(rt, 'nice-default');
    expect(warm.calls).toBe(2); // the same instance
    if (process.platform === 'linux') expect(warm.threadNices.every((n) => n === 0)).toBe(true);
  });

  it('initNice 0 forks node directly: init at 0', async () => {
    const plain = await startLocalLambdaRuntime({
      handlerModule: STAND_IN_HANDLER,
      initNice: 0,
      functions: [{ functionName: 'nice-off', variant: 'v-off', memoryMb: 1769 }],
    });
    try {
      expect((await invoke(plain, 'nice-off')).niceAtInit).toBe(0);
    } finally {
      await plain.close();
    }
  });
});
