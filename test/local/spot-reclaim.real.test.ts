/**
 * Local Spot fault test: a real VM server child process launched as `c7a.medium:spot` (with its
 * loopback IMDS stand-in) and the real local Lambda runtime, real onnxruntime (a real model when
 * present, else the synthetic one). Two closed-loop clients send requests through a small router
 * that follows the live router's rules (controller/server/dispatch.ts): a ready VM first, a VM
 * 503 or a connection failure falls back to Lambda, no ready VM -> Lambda. The router here is the
 * test's (the policy host and API are covered by test/e2e); the fleet, servers and Lambda are real.
 * Mid-load the VM is reclaimed with a 4 s notice: it must turn terminating in describe() within a
 * few polls, no request may be lost (each gets 200 from the VM or Lambda, or a clear 503), the VM
 * gets nothing once terminating, and its process is gone after the notice.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { LambdaPool } from '../../controller/aws/lambda-pool.js';
import { BackendResponseError, BackendUnavailableError } from '../../controller/errors.js';
import {
  type LocalLambdaRuntime,
  startLocalLambdaRuntime,
} from '../../controller/local/lambda-runtime/index.js';
import { HttpVmClient } from '../../controller/local/vm-client.js';
import { LocalVmFleet } from '../../controller/local/vm-fleet.js';
import type { VmRecord } from '../../controller/ports.js';
import { newInternalToken } from '../../functions/server/internal-token.js';
import { isAlive, pickTestVariant, samplePhoto, waitFor } from './helpers.js';

const photo = samplePhoto();
const NOTICE_MS = 4_000;

describe.skipIf(!photo)('Spot reclaim in the local world (real VM server + real local Lambda)', () => {
  const internalToken = newInternalToken();
  const fleet = new LocalVmFleet({
    bootDelayMs: 0,
    maxThreadsPerVm: 1,
    internalToken,
    imdsPollMs: 200,
    noticePollMs: 100,
    readyPollMs: 50,
    spotNoticeMs: NOTICE_MS,
    terminateGraceMs: 5_000,
  });
  const vmClient = new HttpVmClient({ internalToken });
  let lambdaRt: LocalLambdaRuntime | undefined;
  let pool: LambdaPool | undefined;

  afterAll(async () => {
    await fleet.close();
    vmClient.close();
    await lambdaRt?.close();
  });

  it('notice -> terminating within a few polls, no request lost, the VM process gone after the notice', async () => {
    const { variant } = await pickTestVariant();
    lambdaRt = await startLocalLambdaRuntime({
      port: 0,
      internalToken,
      functions: [{ functionName: `spillway-${variant}`, variant, memoryMb: 1769, timeoutMs: 60_000 }],
      keepAliveMs: 60_000,
      accountConcurrencyLimit: 2,
    });
    pool = new LambdaPool({
      endpoint: lambdaRt.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: internalToken, secretAccessKey: internalToken },
      variants: [variant],
    });
    const [launched] = await fleet.launch({
      instanceType: 'c7a.medium:spot',
      variant,
      count: 1,
      clientToken: 'spot-1',
    });
    const id = launched!.id;
    const pid = fleet.pidOf(id)!;
    let vm: VmRecord = launched!;
    await waitFor(
      async () => {
        vm = (await fleet.describe()).find((r) => r.id === id)!;
        if (vm.state === 'terminated') throw new Error(`VM died: ${JSON.stringify(fleet.diagnostics(id))}`);
        return vm.state === 'ready';
      },
      90_000,
      'Spot VM ready',
    );
    // Warm one Lambda instance first so the fallback is not measured through a cold start alone.
    const body = {
      model: variant,
      inputs: [{ image: readFileSync(photo!.path).toString('base64') }],
      topK: 1,
    };
    await pool.invoke(variant, body, 60_000);

    // The router's view of the fleet, refreshed like the control loop's describe() (every 100 ms here).
    let view = vm;
    let terminatingSeenAtMs: number | undefined;
    const refresher = setInterval(() => {
      void fleet.describe().then((rs) => {
        view = rs.find((r) => r.id === id) ?? view;
        if (view.state !== 'ready' && terminatingSeenAtMs === undefined) terminatingSeenAtMs = Date.now();
      });
    }, 100);

    const counts = {
      sent: 0,
      vm200: 0,
      lambda200: 0,
      clear503: 0,
      vm503Fallbacks: 0,
      sentToVmAfterTerminating: 0,
      lost: 0,
    };
    const lostDetails: string[] = [];
    const viaLambda = async () => {
      try {
        await pool!.invoke(variant, body, 60_000);
        counts.lambda200++;
      } catch (err) {
        if (err instanceof BackendResponseError && err.status === 503) counts.clear503++;
        else {
          counts.lost++;
          lostDetails.push(String(err));
        }
      }
    };
    const one = async () => {
      counts.sent++;
      if (view.state === 'ready' && view.endpoint) {
        if (terminatingSeenAtMs !== undefined) counts.sentToVmAfterTerminating++;
        try {
          const r = await vmClient.infer(view.endpoint, body, 30_000);
          if (r.backend.kind === 'vm') counts.vm200++;
          return;
        } catch (err) {
          const fallback =
            (err instanceof BackendResponseError && err.status === 503) ||
            err instanceof BackendUnavailableError;
          if (!fallback) {
            counts.lost++;
            lostDetails.push(String(err));
            return;
          }
          counts.vm503Fallbacks++;
        }
      }
      await viaLambda();
    };
    let running = true;
    const client = async () => {
      while (running) await one();
    };
    const clients = [client(), client()];

    await waitFor(() => counts.vm200 >= 10, 30_000, '10 VM answers before the reclaim');
    const reclaimAtMs = Date.now();
    const { noticeMs } = fleet.reclaim(id);
    expect(noticeMs).toBe(NOTICE_MS);
    await waitFor(
      () => terminatingSeenAtMs !== undefined,
      NOTICE_MS,
      'the VM turns terminating in describe()',
    );
    const noticeToTerminatingMs = terminatingSeenAtMs! - reclaimAtMs;
    const vmAnswersAtTerminating = counts.vm200;
    // The server itself says why, while EC2 has not taken it yet.
    const readyz = await fetch(`${vm.endpoint}/readyz`);
    const readyzBody = (await readyz.json()) as {
      status: string;
      spotNotice?: { time: string; drained: boolean };
    };

    await fleet.waitForExit([id]);
    const exitedAfterMs = Date.now() - reclaimAtMs;
    // Half a second more of load on Lambda alone.
    await new Promise((r) => setTimeout(r, 500));
    running = false;
    await Promise.all(clients);
    clearInterval(refresher);

    const answered = counts.vm200 + counts.lambda200 + counts.clear503;
    // biome-ignore lint/suspicious/noConsole: the fault test's figures go to the report
    console.log(
      JSON.stringify({
        variant,
        noticeMs: NOTICE_MS,
        noticeToTerminatingMs,
        exitedAfterMs,
        ...counts,
        answered,
        vmAnswersAfterTerminating: counts.vm200 - vmAnswersAtTerminating,
      }),
    );
    expect(readyz.status).toBe(503);
    expect(readyzBody.status).toBe('spot-notice');
    expect(readyzBody.spotNotice?.time).toBeDefined();
    // imds poll 200 ms + fleet poll 100 ms + describe refresh 100 ms: well under the 4 s notice.
    expect(noticeToTerminatingMs).toBeLessThan(NOTICE_MS);
    expect(counts.lost, lostDetails.join('\n')).toBe(0);
    expect(answered).toBe(counts.sent);
    expect(counts.sentToVmAfterTerminating).toBeLessThanOrEqual(2); // at most the two in flight as the view flipped
    expect(counts.lambda200).toBeGreaterThan(0);
    expect(exitedAfterMs).toBeGreaterThanOrEqual(NOTICE_MS - 50);
    expect(fleet.diagnostics(id)?.exit).toBe('signal SIGKILL');
    expect(isAlive(pid)).toBe(false);
    expect((await fleet.describe()).find((r) => r.id === id)?.state).toBe('terminated');
  }, 180_000);
});
