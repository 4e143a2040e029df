/**
 * A local VM boots at a lower CPU priority and serves at the normal one (vm-fleet.ts bootNice,
 * init-nice.ts): its process start and model load then yield to the VMs already serving on the
 * shared cores, as a booting EC2 VM on its own CPU never slows them. Real fleet, real child
 * processes (the stand-in server), niceness read from /proc.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { defaultInitNice } from '../../controller/local/init-nice.js';
import { LocalVmFleet } from '../../controller/local/vm-fleet.js';
import { threadNices } from './fixtures/thread-nices.js';
import { STAND_IN_SERVER, waitFor } from './helpers.js';

const canRenice = process.platform === 'linux' && process.getuid?.() === 0;

describe('local VM boot niceness', () => {
  const fleet = new LocalVmFleet({ serverEntry: STAND_IN_SERVER, bootDelayMs: 1500, readyPollMs: 50 });
  afterAll(async () => {
    await fleet.close();
  });

  it('the default is the Lambda runtime\'s: 10 where a process may return to 0 (root on Linux), else 0', () => {
    expect(defaultInitNice()).toBe(canRenice ? 10 : 0);
  });

  it.skipIf(!canRenice)('boots at 10 on every thread, serves at 0 on every thread once ready', async () => {
    const [vm] = await fleet.launch({ instanceType: 'c5.large', variant: 'stand-in-a', count: 1, clientToken: 'nice-1' });
    if (!vm) throw new Error('no VM');
    const pid = fleet.pidOf(vm.id)!;
    // Booting: nice 10 from the first instruction (`nice -n 10 node ...` execs node in place).
    await waitFor(() => threadNices(pid).length > 1, 10_000, 'server threads');
    expect((await fleet.describe()).find((r) => r.id === vm.id)?.state).toBe('pending');
    expect(new Set(threadNices(pid))).toEqual(new Set([10]));
    await waitFor(async () => (await fleet.describe()).find((r) => r.id === vm.id)?.state === 'ready', 20_000, 'VM ready');
    expect(new Set(threadNices(pid))).toEqual(new Set([0]));
  });

  it('bootNice 0 boots at 0', async () => {
    const plain = new LocalVmFleet({ serverEntry: STAND_IN_SERVER, bootDelayMs: 1500, readyPollMs: 50, bootNice: 0 });
    try {
      const [vm] = await plain.launch({ instanceType: 'c5.large', variant: 'stand-in-a', count: 1, clientToken: 'nice-0' });
      const pid = plain.pidOf(vm!.id)!;
      await waitFor(() => threadNices(pid).length > 1, 10_000, 'server threads');
      expect(new Set(threadNices(pid))).toEqual(new Set([0]));
    } finally {
      await plain.close();
    }
  });
});
