/**
 * Expected service time of one batch, learned from what the batcher observes: an EWMA per batch
 * size. Unknown sizes are extrapolated from the nearest known size proportionally upwards
 * (conservative: e.g. 8 ms seen at b=2 -> 32 ms guessed at b=8, real is ~20 ms) and as-is downwards.
 */
export class ServiceTimeModel {
  private readonly bySize = new Map<number, number>();

  constructor(
    /** Weight of a new sample; 0.2 forgets a stale figure in ~10 batches. */
    private readonly alpha = 0.2,
    /** Guess before any observation; 0 = no early 504 until we have evidence. */
    private readonly initialMsPerInput = 0,
  ) {}

  observe(batchSize: number, ms: number): void {
    if (!(batchSize > 0) || !Number.isFinite(ms) || ms < 0) return;
    const old = this.bySize.get(batchSize);
    this.bySize.set(batchSize, old === undefined ? ms : old + this.alpha * (ms - old));
  }

  predict(batchSize: number): number {
    const exact = this.bySize.get(batchSize);
    if (exact !== undefined) return exact;
    let best: [number, number] | undefined;
    for (const [size, ms] of this.bySize) {
      if (!best || Math.abs(size - batchSize) < Math.abs(best[0] - batchSize)) best = [size, ms];
    }
    if (!best) return this.initialMsPerInput * batchSize;
    return batchSize > best[0] ? (best[1] * batchSize) / best[0] : best[1];
  }
}
