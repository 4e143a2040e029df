import { describe, expect, it } from 'vitest';
import { CoordinationUnavailableError } from '../../controller/coord/coordination-port.js';
import { MemoryCoordinationStore } from '../../controller/coord/memory-store.js';
import { storeContract } from './store-contract.js';

storeContract('memory', async () => {
  const store = new MemoryCoordinationStore();
  return { a: store, b: store, close: () => store.close() };
});

describe('MemoryCoordinationStore specifics', () => {
  it('stores a copy: mutating a published body afterwards changes nothing', async () => {
    const store = new MemoryCoordinationStore();
    await store.acquireOrRenewLease('A', 0, 1_000);
    const body = { vms: ['i-1'] };
    await store.publishPlan(1, 0, body);
    body.vms.push('i-2');
    expect((await store.readPlan())?.body).toEqual({ vms: ['i-1'] });
  });

  it('refuses calls once closed', async () => {
    const store = new MemoryCoordinationStore();
    await store.close();
    await expect(store.readLease()).rejects.toThrow(CoordinationUnavailableError);
  });
});
