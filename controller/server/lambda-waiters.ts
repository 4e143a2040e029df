/**
 * The live worlds' holding area for 'wait' decisions (core/router.ts): a request that may wait for
 * one of its variant's busy Lambda instances is parked here until an invoke of that variant ends
 * with its instance idle-warm (LambdaPoolView.onWarmFreed) or its wait runs out. First come, first
 * released; the simulator keeps the same queue in its own event loop (sim/simulator.ts).
 */
import type { LambdaPoolView } from '../core/host/lambda-view.js';

interface Waiter {
  /** Releases the waiter unless it already ended; true when this call released it. */
  release(): boolean;
}

export class LambdaWaiters {
  private readonly queues = new Map<string, Waiter[]>();

  constructor(private readonly lambda: LambdaPoolView) {
    lambda.onWarmFreed = (variant) => this.releaseOne(variant);
  }

  /** Resolves true once released (an instance of `variant` is idle-warm), false after `maxWaitMs`. */
  wait(variant: string, maxWaitMs: number): Promise<boolean> {
    const lambda = this.lambda;
    lambda.waitStarted(variant);
    let q = this.queues.get(variant);
    if (!q) {
      q = [];
      this.queues.set(variant, q);
    }
    const queue = q;
    return new Promise<boolean>((resolve) => {
      let done = false;
      const end = (released: boolean): boolean => {
        if (done) return false;
        done = true;
        lambda.waitEnded(variant);
        resolve(released);
        return true;
      };
      const timer = setTimeout(
        () => {
          if (!end(false)) return;
          const i = queue.indexOf(waiter);
          if (i >= 0) queue.splice(i, 1);
        },
        Math.max(0, maxWaitMs),
      );
      const waiter: Waiter = {
        release: () => {
          if (!end(true)) return false;
          clearTimeout(timer);
          return true;
        },
      };
      queue.push(waiter);
    });
  }

  /** Requests waiting for `variant` now. */
  waiting(variant: string): number {
    return this.queues.get(variant)?.length ?? 0;
  }

  private releaseOne(variant: string): void {
    const q = this.queues.get(variant);
    while (q && q.length > 0) if (q.shift()!.release()) return;
  }
}
