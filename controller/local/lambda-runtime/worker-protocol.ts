/** IPC messages between the local Lambda runtime (parent) and one instance process (worker.ts). */

export interface LambdaErrorPayload {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

export interface InvokeMessage {
  type: 'invoke';
  requestId: string;
  event: unknown;
  /** Epoch ms when the function times out, for context.getRemainingTimeInMillis(). */
  deadlineEpochMs: number;
}

export type ParentMessage = InvokeMessage;

export type WorkerMessage =
  | { type: 'ready'; initMs: number }
  | { type: 'init-error'; initMs: number; error: LambdaErrorPayload }
  | {
      type: 'result';
      requestId: string;
      ok: boolean;
      /** JSON text of the handler's return value (ok) or null. */
      payload?: string;
      error?: LambdaErrorPayload;
      durationMs: number;
      logs: string;
      maxRssMb: number;
    };

export function toErrorPayload(err: unknown): LambdaErrorPayload {
  if (err instanceof Error) {
    return {
      errorType: err.name || 'Error',
      errorMessage: err.message,
      trace: (err.stack ?? '').split('\n'),
    };
  }
  return { errorType: 'Error', errorMessage: String(err) };
}

/** Env telling worker.ts to return to niceness 0 once the handler is loaded (its value: the init niceness). */
export const INIT_NICE_ENV = 'SPILLWAY_LOCAL_INIT_NICE';
