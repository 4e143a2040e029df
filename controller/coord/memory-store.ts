/**
 * CoordinationStore in one process's memory: the semantics every adapter shares (the contract in
 * test/coord/store-contract.ts), in their simplest form. Each method does its read-decide-write in
 * one synchronous step, so on Node's single thread two callers racing for the lease are
 * serialised and exactly one wins, as DynamoDB's conditional writes guarantee across processes.
 *
 * Used in-process by tests and the simulator, and behind controller/coord/local-store-server.ts by
 * `npm start` (the supervisor owns this object, so it outlives any planner or router it starts).
 * Holds nothing after the process ends; old observations leave only by trimObservations (the
 * planner trims each tick), where DynamoDB would also expire them by TTL.
 */
import {
  CoordinationUnavailableError,
  type CoordinationStore,
  type Lease,
  type LeaseResult,
  type ObservationDoc,
  type PlanDoc,
} from './coordination-port.js';
import {
  assertCurrentFence,
  checkFence,
  checkHolderId,
  checkTimeMs,
  nextLease,
  releasedLease,
} from './lease.js';
import { checkCursors, checkObservation, compareObservations, encodeBody } from './store-input.js';

interface StoredPlan {
  version: number;
  fence: number;
  atMs: number;
  bodyJson: string;
}

interface StoredObservation {
  doc: Omit<ObservationDoc, 'body'>;
  bodyJson: string;
}

export class MemoryCoordinationStore implements CoordinationStore {
  private lease: Lease | undefined;
  private plan: StoredPlan | undefined;
  private learned: { fence: number; atMs: number; bodyJson: string } | undefined;
  /** routerId -> seq -> observation. */
  private readonly observations = new Map<string, Map<number, StoredObservation>>();
  private closed = false;

  async acquireOrRenewLease(holderId: string, nowMs: number, ttlMs: number): Promise<LeaseResult> {
    this.checkOpen();
    const result = nextLease(this.lease, holderId, nowMs, ttlMs);
    if (result.held) this.lease = result.lease;
    return { held: result.held, lease: { ...result.lease } };
  }

  async releaseLease(holderId: string, fence: number): Promise<void> {
    this.checkOpen();
    checkHolderId(holderId);
    checkFence(fence);
    const released = releasedLease(this.lease, holderId, fence);
    if (released) this.lease = released;
  }

  async readLease(): Promise<Lease | undefined> {
    this.checkOpen();
    return this.lease ? { ...this.lease } : undefined;
  }

  async publishPlan(fence: number, atMs: number, body: unknown): Promise<PlanDoc> {
    this.checkOpen();
    checkFence(fence);
    checkTimeMs('atMs', atMs);
    const bodyJson = encodeBody('body', body);
    assertCurrentFence(this.lease, fence, 'publishPlan');
    this.plan = { version: (this.plan?.version ?? 0) + 1, fence, atMs, bodyJson };
    return planDoc(this.plan);
  }

  async readPlan(): Promise<PlanDoc | undefined> {
    this.checkOpen();
    return this.plan ? planDoc(this.plan) : undefined;
  }

  async publishObservations(doc: ObservationDoc): Promise<void> {
    this.checkOpen();
    checkObservation(doc);
    const bodyJson = encodeBody('body', doc.body);
    let mine = this.observations.get(doc.routerId);
    if (!mine) {
      mine = new Map();
      this.observations.set(doc.routerId, mine);
    }
    // A retried publish of the same (routerId, seq) replaces the first: at most one per seq.
    mine.set(doc.seq, {
      doc: { routerId: doc.routerId, seq: doc.seq, fromMs: doc.fromMs, toMs: doc.toMs },
      bodyJson,
    });
  }

  async readObservations(after: Readonly<Record<string, number>>): Promise<ObservationDoc[]> {
    this.checkOpen();
    checkCursors('after', after);
    const out: ObservationDoc[] = [];
    for (const [routerId, bySeq] of this.observations) {
      const cursor = after[routerId] ?? 0;
      for (const [seq, stored] of bySeq) {
        if (seq > cursor) out.push({ ...stored.doc, body: JSON.parse(stored.bodyJson) });
      }
    }
    return out.sort(compareObservations);
  }

  async trimObservations(upTo: Readonly<Record<string, number>>, fence: number): Promise<void> {
    this.checkOpen();
    checkCursors('upTo', upTo);
    checkFence(fence);
    assertCurrentFence(this.lease, fence, 'trimObservations');
    for (const [routerId, cursor] of Object.entries(upTo)) {
      const bySeq = this.observations.get(routerId);
      if (!bySeq) continue;
      for (const seq of [...bySeq.keys()]) if (seq <= cursor) bySeq.delete(seq);
      if (bySeq.size === 0) this.observations.delete(routerId);
    }
  }

  async saveLearnedState(fence: number, atMs: number, body: unknown): Promise<void> {
    this.checkOpen();
    checkFence(fence);
    checkTimeMs('atMs', atMs);
    const bodyJson = encodeBody('body', body);
    assertCurrentFence(this.lease, fence, 'saveLearnedState');
    this.learned = { fence, atMs, bodyJson };
  }

  async loadLearnedState(): Promise<{ fence: number; atMs: number; body: unknown } | undefined> {
    this.checkOpen();
    const l = this.learned;
    return l ? { fence: l.fence, atMs: l.atMs, body: JSON.parse(l.bodyJson) } : undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new CoordinationUnavailableError('coordination store is closed');
  }
}

function planDoc(p: StoredPlan): PlanDoc {
  return { version: p.version, fence: p.fence, atMs: p.atMs, body: JSON.parse(p.bodyJson) };
}
