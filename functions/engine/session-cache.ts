/**
 * One ORT session per variant, created once (concurrent load() calls share the same promise so a
 * burst of first requests creates one session, not N).
 */
import type * as ort from 'onnxruntime-node';

export interface SessionOptions {
  intraOpThreads: number;
  /**
   * 'serving' (default): every graph optimisation, so QDQ graphs fuse into int8 kernels whose
   * results depend on the CPU's instruction set (AVX2 saturates u8*s8 pairs in int16, VNNI does
   * not). 'reference': no graph optimisation, so QuantizeLinear/DequantizeLinear run as written and
   * the arithmetic between them is fp32: the ISA-independent answer a QDQ model is checked against.
   */
  numerics?: 'serving' | 'reference';
}

/**
 * The session options every Spillway backend uses. interOp 1 + sequential: our graphs are chains,
 * and a second pool would compete with the Node main thread on a 2-vCPU box (see the shared
 * README's latency notes).
 *
 * No spinning: by default ORT's intra-op workers spin-wait for the next op and keep spinning after a
 * run returns. Measured here (shufflenet-v2 qdq, 2 intra-op threads, one run every 20 ms): 26.9 ms
 * of CPU per 3.5 ms inference with spinning, 4.5 ms of CPU per 4.6 ms without. A serving process is
 * never alone on its cores (the Node event loop, a VM's HTTP work, several Lambda instances on one
 * host, Lambda's fractional vCPU), so the spin steals more than the 1 ms it saves.
 */
export function ortSessionOptions(o: SessionOptions): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: o.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: o.numerics === 'reference' ? 'disabled' : 'all',
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

export class SessionCache<T extends { session: ort.InferenceSession }> {
  private readonly entries = new Map<string, Promise<T>>();

  /** The cached value for `key`, creating it with `create` on first use. A failed create is not cached. */
  get(key: string, create: () => Promise<T>): Promise<T> {
    let p = this.entries.get(key);
    if (!p) {
      p = create();
      this.entries.set(key, p);
      p.catch(() => {
        if (this.entries.get(key) === p) this.entries.delete(key);
      });
    }
    return p;
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(
      all.map(async (p) => {
        try {
          await (await p).session.release();
        } catch {
          // a session that failed to load has nothing to release
        }
      }),
    );
  }
}
