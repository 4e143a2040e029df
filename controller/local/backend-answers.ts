/**
 * Runs one variant on every backend kind of the local world and collects its top-1 answers, for
 * `spillway models verify`: the VM inference server (functions/server/main.ts as a real child
 * process, started by LocalVmFleet) and the Lambda handler (the local Lambda runtime's worker
 * processes, invoked through aws/lambda-pool.ts, i.e. @aws-sdk/client-lambda). Both run one
 * thread (VM: maxThreadsPerVm 1; Lambda: 1,769 MB = 1 vCPU share) and one input per request, so
 * on one machine they run the same kernels and must agree exactly (SAME_ISA).
 */
import { request } from 'node:http';
import type { BackendRun } from '../../profiles/lib/verify.js';
import { LambdaPool } from '../aws/lambda-pool.js';
import { type LocalLambdaRuntime, startLocalLambdaRuntime } from './lambda-runtime/index.js';
import { ChildStartError } from './errors.js';
import { HttpVmClient } from './vm-client.js';
import { LocalVmFleet } from './vm-fleet.js';
import { newInternalToken } from '../../functions/server/internal-token.js';

export interface SampleInput {
  /** File name: the key reference answers are recorded under. */
  name: string;
  bytes: Buffer;
}

export interface BackendAnswersOptions {
  variants: readonly string[];
  /** Env for the VM servers and Lambda instances (SPILLWAY_HOME, SPILLWAY_MODEL_DIR). */
  env?: Record<string, string>;
  /** Per request (a cold Lambda start loads the model inside it). */
  requestTimeoutMs?: number;
  /** Start-up limit for a VM server (process start + model load). */
  vmReadyTimeoutMs?: number;
  /** Lambda function memory; 1,769 MB = one vCPU share = one thread, like the VM. */
  lambdaMemoryMb?: number;
}

export interface BackendAnswers {
  /** The VM run and the Lambda run of one variant over `inputs`, in parallel. */
  run(variant: string, inputs: readonly SampleInput[]): Promise<BackendRun[]>;
  close(): Promise<void>;
}

const VERIFY_INSTANCE_TYPE = 'c5.large';

const short = (err: unknown) =>
  (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);

function getJson(url: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export async function startBackendAnswers(o: BackendAnswersOptions): Promise<BackendAnswers> {
  const env = o.env ?? {};
  const timeoutMs = o.requestTimeoutMs ?? 120_000;
  const vmReadyTimeoutMs = o.vmReadyTimeoutMs ?? 180_000;
  const internalToken = newInternalToken();
  const lambdaRt: LocalLambdaRuntime = await startLocalLambdaRuntime({
    port: 0,
    internalToken,
    functions: o.variants.map((variant) => ({
      functionName: `spillway-${variant}`,
      variant,
      memoryMb: o.lambdaMemoryMb ?? 1769,
      timeoutMs: Math.min(900_000, timeoutMs),
      env,
    })),
    // One instance per function is enough; it dies soon after the variant is done.
    keepAliveMs: 2_000,
    accountConcurrencyLimit: 2,
  });
  const pool = new LambdaPool({
    endpoint: lambdaRt.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: internalToken, secretAccessKey: internalToken },
    variants: [...o.variants],
  });
  const fleet = new LocalVmFleet({ bootDelayMs: 0, maxThreadsPerVm: 1, env, terminateGraceMs: 5_000, internalToken });
  const vmClient = new HttpVmClient({ internalToken });

  const body = (variant: string, input: SampleInput) => ({
    model: variant,
    inputs: [{ image: input.bytes.toString('base64') }],
    topK: 1,
  });

  async function vmRun(variant: string, inputs: readonly SampleInput[]): Promise<BackendRun> {
    const run: BackendRun = { kind: 'vm', isa: null, answers: {}, errors: [] };
    const [vm] = await fleet.launch({
      instanceType: VERIFY_INSTANCE_TYPE,
      variant,
      count: 1,
      clientToken: `verify-${variant}-${process.pid}-${Date.now()}`,
    });
    const id = vm!.id;
    try {
      const deadline = Date.now() + vmReadyTimeoutMs;
      let rec = vm!;
      while (rec.state === 'pending') {
        if (Date.now() > deadline)
          throw new ChildStartError(`VM server for ${variant} not ready after ${vmReadyTimeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
        rec = (await fleet.describe()).find((r) => r.id === id)!;
      }
      if (rec.state !== 'ready' || !rec.endpoint) {
        const d = fleet.diagnostics(id);
        throw new ChildStartError(
          `VM server for ${variant} ended before ready (${d?.exit ?? rec.state}): ${d?.stderrTail.slice(-3).join(' | ') ?? ''}`,
        );
      }
      const ready = (await getJson(`${rec.endpoint}/readyz`, 5_000)) as { isa?: unknown };
      run.isa = typeof ready.isa === 'string' ? ready.isa : null;
      for (const input of inputs) {
        try {
          const r = await vmClient.infer(rec.endpoint, body(variant, input), timeoutMs);
          const top = r.outputs[0]?.top[0];
          if (!top) throw new Error('answer has no prediction');
          run.answers = { ...run.answers, [input.name]: { top1: top.index, score: top.score } };
          run.isa ??= r.backend.isa ?? null;
        } catch (err) {
          run.errors.push(`${input.name}: ${short(err)}`);
        }
      }
    } catch (err) {
      run.errors.push(short(err));
    } finally {
      await fleet.terminate([id]);
      await fleet.waitForExit([id]);
    }
    return run;
  }

  async function lambdaRun(variant: string, inputs: readonly SampleInput[]): Promise<BackendRun> {
    const run: BackendRun = { kind: 'lambda', isa: null, answers: {}, errors: [] };
    for (const input of inputs) {
      try {
        const r = await pool.invoke(variant, body(variant, input), timeoutMs);
        const top = r.response.outputs[0]?.top[0];
        if (!top) throw new Error('answer has no prediction');
        run.answers = { ...run.answers, [input.name]: { top1: top.index, score: top.score } };
        run.isa = r.response.backend.isa ?? run.isa;
      } catch (err) {
        run.errors.push(`${input.name}: ${short(err)}`);
        // A function that cannot start fails every input the same way: say it once.
        if (Object.keys(run.answers).length === 0 && run.errors.length >= 2) break;
      }
    }
    return run;
  }

  return {
    async run(variant, inputs) {
      return Promise.all([vmRun(variant, inputs), lambdaRun(variant, inputs)]);
    },
    async close() {
      vmClient.close();
      await fleet.close();
      await lambdaRt.close();
    },
  };
}
