/** Messages between the VM server's main thread (worker-engine.ts) and its inference worker (engine-worker.ts). */
import type { TensorDtype } from '../engine/protocol.js';

export interface WorkerData {
  intraOpThreads: number;
  home?: string;
  modelDir?: string;
}

export type WorkerInput =
  | { image: Uint8Array }
  | { tensor: { dtype: TensorDtype; shape: number[]; data: Float32Array | Uint8Array } };

export type WorkerRequest =
  | { id: number; type: 'load'; variant: string }
  | { id: number; type: 'predict'; variant: string; inputs: WorkerInput[]; topK?: number }
  | { id: number; type: 'close' };

export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { name: string; message: string; field?: string; stack?: string } };
