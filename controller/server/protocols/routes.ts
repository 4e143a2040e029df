/**
 * The one hook app.ts calls: the foreign protocols' routes (Open Inference Protocol under /v2,
 * SageMaker InvokeEndpoint under /endpoints/). Each answers its own errors in its own shape.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleOpenInference, type ProtocolDeps } from './open-inference.js';
import { handleSageMaker } from './sagemaker.js';

export type { ProtocolDeps };

/** Paths a foreign protocol owns: app.ts asks the handlers below only for these (a sync check on the hot path). */
export function isProtocolPath(path: string): boolean {
  return path === '/v2' || path.startsWith('/v2/') || path.startsWith('/endpoints/');
}

/** True when the path belonged to a protocol (and the request was answered). */
export async function handleProtocolRoutes(
  deps: ProtocolDeps,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  method: string,
  receivedAtMs: number,
  receivedPerfMs: number,
): Promise<boolean> {
  return (
    (await handleOpenInference(deps, req, res, path, method, receivedAtMs, receivedPerfMs)) ||
    (await handleSageMaker(deps, req, res, path, method, receivedAtMs, receivedPerfMs))
  );
}
