/**
 * LocalVmFleet running the REAL VM inference server (functions/server/main.ts, real onnxruntime)
 * as a "VM", called through HttpVmClient. Real model + sample photo when present, else a
 * synthetic variant (shape checks only).
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpVmClient } from '../../controller/local/vm-client.js';
import { LocalVmFleet } from '../../controller/local/vm-fleet.js';
import { BackendInferResponseSchema } from '../../functions/engine/protocol.js';
import { isAlive, pickTestVariant, samplePhoto, waitFor } from './helpers.js';

const photo = samplePhoto();

describe.skipIf(!photo)('LocalVmFleet with the real VM server', () => {
  const fleet = new LocalVmFleet({ bootDelayMs: 1000, terminateGraceMs: 10_000, readyPollMs: 50 });
  const client = new HttpVmClient();
  const pids: number[] = [];

  afterAll(async () => {
    await fleet.close();
    client.close();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  });

  it('launch -> pending -> ready (boot delay + model load), real inference, terminate -> drained exit', async () => {
    const { variant, real } = await pickTestVariant();
    const [vm] = await fleet.launch({ instanceType: 'c5.large', variant, count: 1, clientToken: 'real-1' });
    if (!vm) throw new Error('no VM');
    expect(vm.state).toBe('pending');
    pids.push(fleet.pidOf(vm.id) ?? -1);
    await waitFor(
      async () => {
        const s = (await fleet.describe()).find((r) => r.id === vm.id)?.state;
        if (s === 'terminated') throw new Error(`VM died: ${JSON.stringify(fleet.diagnostics(vm.id))}`);
        return s === 'ready';
      },
      60_000,
      'real server ready',
    );
    const rec = (await fleet.describe()).find((r) => r.id === vm.id);
    expect((rec?.readyAtMs ?? 0) - (rec?.launchedAtMs ?? 0)).toBeGreaterThanOrEqual(1000);
    const image = readFileSync(photo?.path ?? '').toString('base64');
    const out = BackendInferResponseSchema.parse(await client.infer(rec?.endpoint ?? '', { model: variant, inputs: [{ image }], topK: 3 }, 10_000));
    expect(out.backend.kind).toBe('vm');
    expect(out.model).toBe(variant);
    if (real) expect(out.outputs[0]?.top[0]?.label).toBe(photo?.label);
    else expect(out.weights).toBe('synthetic');

    await fleet.terminate([vm.id]);
    await fleet.waitForExit([vm.id]);
    expect((await fleet.describe()).find((r) => r.id === vm.id)?.state).toBe('terminated');
    // SIGTERM drained and exited 0 (not killed after the grace period).
    expect(fleet.diagnostics(vm.id)?.exit).toBe('exit code 0');
  });
});
