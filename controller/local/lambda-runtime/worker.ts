/**
 * One local Lambda instance: a child process that imports the handler module ONCE (module init:
 * top-level await loads the model, like a real cold start), then serves one invocation at a time
 * over IPC. Started by pool.ts with `node --import tsx worker.ts`.
 *
 * Env (set by the parent): SPILLWAY_LOCAL_HANDLER_MODULE (absolute path), SPILLWAY_LOCAL_HANDLER_EXPORT
 * (default 'handler'), AWS_LAMBDA_FUNCTION_NAME / _MEMORY_SIZE / _VERSION, plus the function's env.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { reniceThreads } from '../init-nice.js';
import { INIT_NICE_ENV, type LambdaErrorPayload, type ParentMessage, type WorkerMessage, toErrorPayload } from './worker-protocol.js';

type Handler = (event: unknown, context: Record<string, unknown>) => unknown;

const send = (m: WorkerMessage): void => {
  process.send?.(m);
};

// The parent gone (crash, SIGKILL) closes the IPC channel: exit so no instance outlives its runtime.
process.on('disconnect', () => process.exit(0));
// Ctrl-C reaches the whole process group; the runtime decides when an instance stops (after the
// controller's drain), so an invocation in flight is answered instead of cut off.
process.on('SIGINT', () => {});

// Capture what the function prints during an invocation for the LogType=Tail log, like Lambda's
// CloudWatch stream. Writes still reach the real stdout/stderr.
let capture: string[] | null = null;
for (const stream of [process.stdout, process.stderr]) {
  const original = stream.write.bind(stream) as (...a: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (capture) capture.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return original(chunk, ...rest);
  }) as typeof stream.write;
}

const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'local';
const memoryMb = process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '128';
const region = process.env.AWS_REGION ?? 'us-east-1';

async function init(): Promise<Handler | null> {
  const t0 = performance.now();
  try {
    const modulePath = process.env.SPILLWAY_LOCAL_HANDLER_MODULE;
    if (!modulePath) throw new Error('SPILLWAY_LOCAL_HANDLER_MODULE is not set (absolute path of the handler module)');
    const exportName = process.env.SPILLWAY_LOCAL_HANDLER_EXPORT ?? 'handler';
    const mod = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
    const fn = mod[exportName];
    if (typeof fn !== 'function') {
      const e = new Error(`${modulePath} does not export a function named '${exportName}'`);
      e.name = 'Runtime.HandlerNotFound';
      throw e;
    }
    if (process.env[INIT_NICE_ENV]) leaveInitNice();
    send({ type: 'ready', initMs: performance.now() - t0 });
    return fn as Handler;
  } catch (err) {
    const error: LambdaErrorPayload = toErrorPayload(err);
    if (error.errorType === 'Error') error.errorType = 'Runtime.ImportModuleError';
    send({ type: 'init-error', initMs: performance.now() - t0, error });
    return null;
  }
}

/**
 * Back to niceness 0 on every thread (Linux niceness is per thread: the ORT pool made during the
 * model load is niced too). Threads made later inherit 0 from their creator. Needs CAP_SYS_NICE;
 * the runtime only nices where it holds it (config.ts defaultInitNice), so a failure is reported.
 */
function leaveInitNice(): void {
  try {
    reniceThreads('self', 0);
  } catch (err) {
    console.error(`spillway local lambda: could not leave init niceness: ${(err as Error).message}`);
  }
}

const handler = await init();
if (handler) {
  process.on('message', (raw: ParentMessage) => {
    if (raw?.type !== 'invoke') return;
    void run(handler, raw);
  });
} else {
  // Keep the process until the parent reads the init error, then let it go.
  process.on('message', () => undefined);
  setTimeout(() => process.exit(1), 100).unref();
}

async function run(fn: Handler, msg: Extract<ParentMessage, { type: 'invoke' }>): Promise<void> {
  capture = [];
  const context = {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: memoryMb,
    awsRequestId: msg.requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, msg.deadlineEpochMs - Date.now()),
  };
  const t0 = performance.now();
  let result: Omit<Extract<WorkerMessage, { type: 'result' }>, 'durationMs' | 'logs' | 'maxRssMb'>;
  try {
    const value = await fn(msg.event, context);
    result = { type: 'result', requestId: msg.requestId, ok: true, payload: JSON.stringify(value ?? null) };
  } catch (err) {
    console.error(`${new Date().toISOString()}\t${msg.requestId}\tERROR\tInvoke Error \t${JSON.stringify(toErrorPayload(err))}`);
    result = { type: 'result', requestId: msg.requestId, ok: false, error: toErrorPayload(err) };
  }
  const durationMs = performance.now() - t0;
  const logs = capture.join('');
  capture = null;
  send({ ...result, durationMs, logs, maxRssMb: process.memoryUsage().rss / (1024 * 1024) });
}
