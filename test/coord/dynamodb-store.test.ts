import { DynamoDBClient, GetItemCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_COORD_BODY_BYTES } from '../../controller/coord/coordination-port.js';
import {
  COORD_TABLE_KEYS,
  createCoordinationTable,
  DynamoDbCoordinationStore,
  deleteCoordinationTable,
} from '../../controller/coord/dynamodb-store.js';
import { MOTO_CREDENTIALS, type Moto, motoAvailable, startMoto, uniqueName } from '../aws/moto.js';
import { storeContract } from './store-contract.js';

describe.skipIf(!motoAvailable)('DynamoDbCoordinationStore against moto', () => {
  let moto: Moto;
  let admin: DynamoDBClient;
  beforeAll(async () => {
    moto = await startMoto();
    admin = new DynamoDBClient({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: MOTO_CREDENTIALS,
    });
  }, 60_000);
  afterAll(async () => {
    admin?.destroy();
    await moto?.stop();
  });

  const storeOn = (tableName: string, wallClockMs?: () => number) =>
    new DynamoDbCoordinationStore({
      tableName,
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: MOTO_CREDENTIALS,
      ...(wallClockMs ? { wallClockMs } : {}),
    });

  // A fresh table per test; two stores with their own clients on it, as two processes would have.
  storeContract(
    'DynamoDB (moto), two clients on one table',
    async () => {
      const tableName = uniqueName('spillway-coord');
      await createCoordinationTable(admin, tableName);
      const a = storeOn(tableName);
      const b = storeOn(tableName);
      return {
        a,
        b,
        close: async () => {
          await a.close();
          await b.close();
          await deleteCoordinationTable(admin, tableName);
        },
      };
    },
    60_000,
  );

  it('a body of exactly MAX_COORD_BODY_BYTES fits in one item (the 8 KB headroom holds)', {
    timeout: 30_000,
  }, async () => {
    const tableName = uniqueName('spillway-coord');
    await createCoordinationTable(admin, tableName);
    const store = storeOn(tableName);
    try {
      await store.acquireOrRenewLease('A', 0, 10_000);
      const body = 'y'.repeat(MAX_COORD_BODY_BYTES - 2); // JSON adds the two quotes
      const plan = await store.publishPlan(1, 0, body);
      expect(plan.version).toBe(1);
      expect((await store.readPlan())?.body).toBe(body);
      await store.saveLearnedState(1, 0, body);
      expect((await store.loadLearnedState())?.body).toBe(body);
    } finally {
      await store.close();
      await deleteCoordinationTable(admin, tableName);
    }
  });

  it('observations carry a TTL attribute by wall clock, and the table has TTL on it', {
    timeout: 30_000,
  }, async () => {
    const tableName = uniqueName('spillway-coord');
    await createCoordinationTable(admin, tableName);
    const store = new DynamoDbCoordinationStore({
      tableName,
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: MOTO_CREDENTIALS,
      wallClockMs: () => 1_800_000_000_000,
      observationTtlS: 3_600,
    });
    try {
      await store.publishObservations({ routerId: 'r1', seq: 7, fromMs: 0, toMs: 1_000, body: { a: 1 } });
      const got = await admin.send(
        new GetItemCommand({
          TableName: tableName,
          Key: { pk: { S: 'obs' }, sk: { S: 'r1#0000000000000007' } },
        }),
      );
      expect(got.Item?.[COORD_TABLE_KEYS.ttlAttribute]).toEqual({ N: String(1_800_000_000 + 3_600) });
      const ttl = await admin.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
      expect(ttl.TimeToLiveDescription?.AttributeName).toBe(COORD_TABLE_KEYS.ttlAttribute);
      expect(ttl.TimeToLiveDescription?.TimeToLiveStatus).toBe('ENABLED');
    } finally {
      await store.close();
      await deleteCoordinationTable(admin, tableName);
    }
  });

  it('trims more observations than one transaction holds (250 > 99 per batch)', {
    timeout: 60_000,
  }, async () => {
    const tableName = uniqueName('spillway-coord');
    await createCoordinationTable(admin, tableName);
    const store = storeOn(tableName);
    try {
      await store.acquireOrRenewLease('P', 0, 10_000);
      for (let seq = 1; seq <= 250; seq++) {
        await store.publishObservations({ routerId: 'r1', seq, fromMs: seq, toMs: seq + 1, body: seq });
      }
      await store.trimObservations({ r1: 240 }, 1);
      const left = await store.readObservations({});
      expect(left.map((o) => o.seq)).toEqual([241, 242, 243, 244, 245, 246, 247, 248, 249, 250]);
    } finally {
      await store.close();
      await deleteCoordinationTable(admin, tableName);
    }
  });

  it('a missing table fails with CoordinationUnavailableError naming the table', async () => {
    const store = storeOn('spillway-no-such-table');
    await expect(store.readLease()).rejects.toThrow(
      /readLease on DynamoDB table spillway-no-such-table failed: ResourceNotFoundException/,
    );
    await store.close();
  });
});
