/**
 * CoordinationStore on one DynamoDB table (issue 12), tested against moto with the same contract
 * suite as the memory and local stores (test/coord/dynamodb-store.test.ts).
 *
 * Table design (string keys `pk`, `sk`; TTL attribute `expiresAtS`; the CDK table in infra/ uses
 * the same names, from COORD_TABLE_KEYS):
 *
 *   pk        sk                       attributes
 *   lease     planner                  holderId, fence, expiresAtMs
 *   plan      current                  version, fence, atMs, body (JSON text)
 *   learned   current                  fence, atMs, body (JSON text)
 *   obs       <routerId>#<seq, 16 digits>  routerId, seq, fromMs, toMs, body, expiresAtS (TTL)
 *
 * Why these writes:
 * - The lease: read it (consistent), decide with the pure rule (lease.ts nextLease), then write
 *   conditioned on what was read: a new lease `attribute_not_exists(pk)`; a renewal
 *   `holderId = :me AND fence = :fence`; a takeover `holderId = :prev AND fence = :fence AND
 *   expiresAtMs <= :now`. Of two racing planners one condition fails; the loser re-reads and sees
 *   the winner. Release: `expiresAtMs = 0` conditioned on holder and fence (a deposed one's is a no-op).
 * - Plan and learned state: one TransactWriteItems of a ConditionCheck on the lease (`fence =
 *   :fence`) and the Put, so a deposed planner's late write is refused atomically with the check
 *   (StaleFenceError with the current fence). The plan's Put is also conditioned on the version
 *   read (`version = :prev`), so versions grow by exactly one; a lost version race re-reads and retries.
 *   Kept apart from the lease item on purpose: DynamoDB bills a write by the larger of the old and
 *   new item, so renewing a lease item that also held a 300 KB plan would cost 300 WCU, not 1.
 * - Observations: plain puts (a router owns its (routerId, seq)); the planner queries the one `obs`
 *   partition and filters by its cursors, and trims in transactions of a ConditionCheck on the
 *   fence + up to 99 deletes (TransactWriteItems takes 100 actions). Untrimmed ones (a router the
 *   planner never consumed) expire by TTL after `observationTtlS` (default 1 day), by wall clock,
 *   because DynamoDB's TTL sweeper compares against real epoch seconds; it decides nothing here.
 *   One partition takes 1,000 WCU/s: 100 routers publishing once a second use a tenth of it.
 * - Sizes: bodies are JSON text of at most MAX_COORD_BODY_BYTES (store-input.ts: 400 KB less 8 KB
 *   for keys and the other attributes, ~100 bytes), refused before any write with the size and limit.
 */
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandOutput,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type TransactWriteItem,
  UpdateItemCommand,
  UpdateTimeToLiveCommand,
  type AttributeValue,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { type AwsClientOptions, resolveClientConfig } from '../aws/client-config.js';
import {
  type CoordinationStore,
  CoordinationUnavailableError,
  type Lease,
  type LeaseResult,
  type ObservationDoc,
  type PlanDoc,
  StaleFenceError,
} from './coordination-port.js';
import {
  assertCurrentFence,
  checkFence,
  checkHolderId,
  checkTimeMs,
  checkTtlMs,
  nextLease,
} from './lease.js';
import { checkCursors, checkObservation, compareObservations, encodeBody } from './store-input.js';

/** The table's key and TTL attribute names (the CDK construct uses these too). */
export const COORD_TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'expiresAtS' } as const;

const LEASE_KEY = { pk: { S: 'lease' }, sk: { S: 'planner' } };
const PLAN_KEY = { pk: { S: 'plan' }, sk: { S: 'current' } };
const LEARNED_KEY = { pk: { S: 'learned' }, sk: { S: 'current' } };
const OBS_PK = 'obs';
/** 16 digits hold every safe integer (9,007,199,254,740,991): lexicographic order = numeric order. */
const SEQ_DIGITS = 16;
/** TransactWriteItems takes at most 100 actions: one ConditionCheck + 99 deletes. */
const TRIM_BATCH = 99;
/** A lost version race (another publish by the same planner) is retried this many times. */
const MAX_PUBLISH_ATTEMPTS = 20;
const MAX_LEASE_ATTEMPTS = 5;

export interface DynamoDbCoordinationStoreOptions extends AwsClientOptions {
  tableName: string;
  /** A client to share (its config wins over endpoint/region/credentials). @default a new DynamoDBClient */
  client?: DynamoDBClient;
  /** How long an untrimmed observation lives before DynamoDB's TTL removes it. @default 86,400 (1 day) */
  observationTtlS?: number;
  /** Wall clock for the TTL attribute only (never for a decision). @default Date.now */
  wallClockMs?: () => number;
}

const n = (v: number): AttributeValue => ({ N: String(v) });
const s = (v: string): AttributeValue => ({ S: v });

function num(item: Record<string, AttributeValue>, name: string): number {
  const v = item[name]?.N;
  if (v === undefined)
    throw new CoordinationUnavailableError(`coordination table item lacks number attribute '${name}'`);
  return Number(v);
}

function str(item: Record<string, AttributeValue>, name: string): string {
  const v = item[name]?.S;
  if (v === undefined)
    throw new CoordinationUnavailableError(`coordination table item lacks string attribute '${name}'`);
  return v;
}

function obsSk(routerId: string, seq: number): string {
  return `${routerId}#${String(seq).padStart(SEQ_DIGITS, '0')}`;
}

function leaseFrom(item: Record<string, AttributeValue>): Lease {
  return {
    holderId: str(item, 'holderId'),
    fence: num(item, 'fence'),
    expiresAtMs: num(item, 'expiresAtMs'),
  };
}

/** The cancellation reason codes of a cancelled transaction, in action order. */
function cancellationCodes(err: TransactionCanceledException): string[] {
  return (err.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
}

export class DynamoDbCoordinationStore implements CoordinationStore {
  readonly tableName: string;
  private readonly client: DynamoDBClient;
  private readonly ownsClient: boolean;
  private readonly observationTtlS: number;
  private readonly wallClockMs: () => number;

  constructor(opts: DynamoDbCoordinationStoreOptions) {
    this.tableName = opts.tableName;
    this.ownsClient = !opts.client;
    this.client = opts.client ?? new DynamoDBClient(resolveClientConfig(opts));
    this.observationTtlS = opts.observationTtlS ?? 86_400;
    this.wallClockMs = opts.wallClockMs ?? Date.now;
  }

  async acquireOrRenewLease(holderId: string, nowMs: number, ttlMs: number): Promise<LeaseResult> {
    checkHolderId(holderId);
    checkTimeMs('nowMs', nowMs);
    checkTtlMs(ttlMs);
    for (let attempt = 1; ; attempt++) {
      const current = await this.readLease();
      const next = nextLease(current, holderId, nowMs, ttlMs);
      if (!next.held) return next;
      const item = {
        ...LEASE_KEY,
        holderId: s(next.lease.holderId),
        fence: n(next.lease.fence),
        expiresAtMs: n(next.lease.expiresAtMs),
      };
      let condition: {
        ConditionExpression: string;
        ExpressionAttributeValues?: Record<string, AttributeValue>;
      };
      if (current === undefined) condition = { ConditionExpression: 'attribute_not_exists(pk)' };
      else if (current.holderId === holderId) {
        condition = {
          ConditionExpression: 'holderId = :me AND fence = :fence',
          ExpressionAttributeValues: { ':me': s(holderId), ':fence': n(current.fence) },
        };
      } else {
        condition = {
          ConditionExpression: 'holderId = :prev AND fence = :fence AND expiresAtMs <= :now',
          ExpressionAttributeValues: {
            ':prev': s(current.holderId),
            ':fence': n(current.fence),
            ':now': n(nowMs),
          },
        };
      }
      try {
        await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item, ...condition }));
        return next;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException))
          throw this.unavailable('acquireOrRenewLease', err);
        // Someone wrote between our read and our write: decide again on what is there now.
        if (attempt >= MAX_LEASE_ATTEMPTS) {
          const now = await this.readLease();
          return { held: false, lease: now ?? next.lease };
        }
      }
    }
  }

  async releaseLease(holderId: string, fence: number): Promise<void> {
    checkHolderId(holderId);
    checkFence(fence);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: LEASE_KEY,
          UpdateExpression: 'SET expiresAtMs = :zero',
          ConditionExpression: 'holderId = :me AND fence = :fence',
          ExpressionAttributeValues: { ':zero': n(0), ':me': s(holderId), ':fence': n(fence) },
        }),
      );
    } catch (err) {
      // Not (or no longer) ours: a deposed planner's release changes nothing (lease.ts releasedLease).
      if (err instanceof ConditionalCheckFailedException) return;
      throw this.unavailable('releaseLease', err);
    }
  }

  async readLease(): Promise<Lease | undefined> {
    const item = await this.getItem(LEASE_KEY, 'readLease');
    return item ? leaseFrom(item) : undefined;
  }

  async publishPlan(fence: number, atMs: number, body: unknown): Promise<PlanDoc> {
    checkFence(fence);
    checkTimeMs('atMs', atMs);
    const bodyJson = encodeBody('body', body);
    for (let attempt = 1; ; attempt++) {
      const prev = await this.getItem(PLAN_KEY, 'publishPlan');
      const prevVersion = prev ? num(prev, 'version') : 0;
      const version = prevVersion + 1;
      const put: TransactWriteItem = {
        Put: {
          TableName: this.tableName,
          Item: { ...PLAN_KEY, version: n(version), fence: n(fence), atMs: n(atMs), body: s(bodyJson) },
          ...(prev
            ? {
                ConditionExpression: 'version = :prev',
                ExpressionAttributeValues: { ':prev': n(prevVersion) },
              }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        },
      };
      const outcome = await this.fencedWrite(fence, [put], 'publishPlan');
      if (outcome === 'written') return { version, fence, atMs, body: JSON.parse(bodyJson) };
      if (attempt >= MAX_PUBLISH_ATTEMPTS) {
        throw new CoordinationUnavailableError(
          `publishPlan: lost the plan version race ${attempt} times in a row`,
        );
      }
      // Another publish took this version: back off a little (0-20 ms) and read again.
      await new Promise((r) => setTimeout(r, Math.random() * 20));
    }
  }

  async readPlan(): Promise<PlanDoc | undefined> {
    const item = await this.getItem(PLAN_KEY, 'readPlan');
    if (!item) return undefined;
    return {
      version: num(item, 'version'),
      fence: num(item, 'fence'),
      atMs: num(item, 'atMs'),
      body: JSON.parse(str(item, 'body')),
    };
  }

  async publishObservations(doc: ObservationDoc): Promise<void> {
    checkObservation(doc);
    const bodyJson = encodeBody('body', doc.body);
    const expiresAtS = Math.ceil(this.wallClockMs() / 1000) + this.observationTtlS;
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: s(OBS_PK),
            sk: s(obsSk(doc.routerId, doc.seq)),
            routerId: s(doc.routerId),
            seq: n(doc.seq),
            fromMs: n(doc.fromMs),
            toMs: n(doc.toMs),
            body: s(bodyJson),
            [COORD_TABLE_KEYS.ttlAttribute]: n(expiresAtS),
          },
        }),
      );
    } catch (err) {
      throw this.unavailable('publishObservations', err);
    }
  }

  async readObservations(after: Readonly<Record<string, number>>): Promise<ObservationDoc[]> {
    checkCursors('after', after);
    const out: ObservationDoc[] = [];
    for (const item of await this.queryObservations(undefined)) {
      const doc: ObservationDoc = {
        routerId: str(item, 'routerId'),
        seq: num(item, 'seq'),
        fromMs: num(item, 'fromMs'),
        toMs: num(item, 'toMs'),
        body: JSON.parse(str(item, 'body')),
      };
      if (doc.seq > (after[doc.routerId] ?? 0)) out.push(doc);
    }
    return out.sort(compareObservations);
  }

  async trimObservations(upTo: Readonly<Record<string, number>>, fence: number): Promise<void> {
    checkCursors('upTo', upTo);
    checkFence(fence);
    // Refuse a stale trim even when there is nothing to delete.
    assertCurrentFence(await this.readLease(), fence, 'trimObservations');
    const keys: Array<Record<string, AttributeValue>> = [];
    for (const [routerId, cursor] of Object.entries(upTo)) {
      if (cursor < 1) continue;
      for (const item of await this.queryObservations({ routerId, upToSeq: cursor }))
        keys.push({ pk: item.pk!, sk: item.sk! });
    }
    for (let i = 0; i < keys.length; i += TRIM_BATCH) {
      const deletes = keys
        .slice(i, i + TRIM_BATCH)
        .map((Key): TransactWriteItem => ({ Delete: { TableName: this.tableName, Key } }));
      if ((await this.fencedWrite(fence, deletes, 'trimObservations')) !== 'written') {
        throw new CoordinationUnavailableError(
          'trimObservations: a delete was cancelled (unexpected condition)',
        );
      }
    }
  }

  async saveLearnedState(fence: number, atMs: number, body: unknown): Promise<void> {
    checkFence(fence);
    checkTimeMs('atMs', atMs);
    const bodyJson = encodeBody('body', body);
    const put: TransactWriteItem = {
      Put: {
        TableName: this.tableName,
        Item: { ...LEARNED_KEY, fence: n(fence), atMs: n(atMs), body: s(bodyJson) },
      },
    };
    if ((await this.fencedWrite(fence, [put], 'saveLearnedState')) !== 'written') {
      throw new CoordinationUnavailableError(
        'saveLearnedState: the write was cancelled (unexpected condition)',
      );
    }
  }

  async loadLearnedState(): Promise<{ fence: number; atMs: number; body: unknown } | undefined> {
    const item = await this.getItem(LEARNED_KEY, 'loadLearnedState');
    if (!item) return undefined;
    return { fence: num(item, 'fence'), atMs: num(item, 'atMs'), body: JSON.parse(str(item, 'body')) };
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  /**
   * One transaction: a ConditionCheck that the lease's fence is `fence`, then `writes`. Throws
   * StaleFenceError when the check failed; 'conflict' when one of the writes' own conditions failed
   * (or DynamoDB reported a conflicting transaction), so the caller may retry.
   */
  private async fencedWrite(
    fence: number,
    writes: TransactWriteItem[],
    what: string,
  ): Promise<'written' | 'conflict'> {
    const check: TransactWriteItem = {
      ConditionCheck: {
        TableName: this.tableName,
        Key: LEASE_KEY,
        ConditionExpression: 'fence = :fence',
        ExpressionAttributeValues: { ':fence': n(fence) },
      },
    };
    try {
      await this.client.send(new TransactWriteItemsCommand({ TransactItems: [check, ...writes] }));
      return 'written';
    } catch (err) {
      if (err instanceof TransactionCanceledException) {
        const codes = cancellationCodes(err);
        if (codes[0] === 'ConditionalCheckFailed') {
          assertCurrentFence(await this.readLease(), fence, what);
          return 'conflict'; // the fence is current again (cannot happen: fences only grow); retry
        }
        if (codes.some((c) => c === 'ConditionalCheckFailed' || c === 'TransactionConflict'))
          return 'conflict';
      }
      throw this.unavailable(what, err);
    }
  }

  private async getItem(
    key: Record<string, AttributeValue>,
    what: string,
  ): Promise<Record<string, AttributeValue> | undefined> {
    try {
      const out = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
      );
      return out.Item;
    } catch (err) {
      throw this.unavailable(what, err);
    }
  }

  /** All observation items (optionally one router's, seq <= upToSeq), every page, consistently read. */
  private async queryObservations(
    range: { routerId: string; upToSeq: number } | undefined,
  ): Promise<Array<Record<string, AttributeValue>>> {
    const items: Array<Record<string, AttributeValue>> = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      let page: QueryCommandOutput;
      try {
        page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            ConsistentRead: true,
            ...(range
              ? {
                  KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
                  ExpressionAttributeValues: {
                    ':pk': s(OBS_PK),
                    ':lo': s(obsSk(range.routerId, 0)),
                    ':hi': s(obsSk(range.routerId, range.upToSeq)),
                  },
                  ProjectionExpression: 'pk, sk',
                }
              : { KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': s(OBS_PK) } }),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
      } catch (err) {
        throw this.unavailable('readObservations', err);
      }
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  private unavailable(what: string, err: unknown): Error {
    if (err instanceof StaleFenceError || err instanceof CoordinationUnavailableError) return err;
    const name = (err as Error)?.name ?? 'Error';
    return new CoordinationUnavailableError(
      `${what} on DynamoDB table ${this.tableName} failed: ${name}: ${(err as Error)?.message ?? String(err)}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Creates the table with the design above (PAY_PER_REQUEST, TTL on expiresAtS) and waits until it is
 * ACTIVE: for tests against moto and for a hand-made dev table; on AWS the CDK stack owns it.
 */
export async function createCoordinationTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: COORD_TABLE_KEYS.partitionKey, AttributeType: 'S' },
        { AttributeName: COORD_TABLE_KEYS.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: COORD_TABLE_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: COORD_TABLE_KEYS.sortKey, KeyType: 'RANGE' },
      ],
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 60 }, { TableName: tableName });
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: COORD_TABLE_KEYS.ttlAttribute, Enabled: true },
    }),
  );
}

export async function deleteCoordinationTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: tableName }));
}
