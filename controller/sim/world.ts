/**
 * The simulated world apart from what any policy believes. A policy plans with the profiles and
 * the catalog (cold start = 250 ms runtime + model load, keep-alive 10 min, boot = the catalog's
 * typical delay, lognormal noise with the profile's p99/p50, 1 ms / 15 ms transport); the world
 * below departs from each of those the way AWS does, and is the same for every policy.
 *
 * Figures, and why (assumptions where no measurement of our own exists; say so when quoting):
 * - Cold start: Node 22 + the onnxruntime-node native addon (~25 MB .so loaded and linked) before
 *   the handler runs: 1.2 s runtime INIT, plus the model's session load taken 1.5x slower than on
 *   the profiling machine (a cold page cache on /var/task), lognormal sigma 0.35 (p99/p50 ~2.3).
 *   MobileNetV2 int8 (sessionLoadMs ~60) at 2,048 MB: median ~1.3 s, p99 ~3 s: "seconds, not 250 ms".
 * - Keep-alive: AWS documents none; an idle instance lives 0.4-1.2x the catalog's 10 min (uniform
 *   per idle period), so a policy that counts on exactly 10 min meets cold starts earlier.
 * - Boot: mean 1.2x the catalog's typical delay with a coefficient of variation of 0.25 (lognormal):
 *   AMI, instance type and AZ make boots of one type vary; a catalog of 90 s means ~108 s, p95 ~155 s.
 * - Service time: the profile's lognormal spread x 1.3 (a real host has neighbours), and one batch in
 *   500 stalls 4x (GC, page faults, a noisy neighbour): a tail heavier than the router assumes.
 * - Transport: a 60 KB request (a 224x224 JPEG); VM: 3 ms of HTTP + parse (the project's VM-server
 *   bench measured ~4.8 ms including JSON base64 work) + 60 KB at 0.75 Gbps (c5.large baseline
 *   bandwidth) = 3.6 ms; Lambda: 15 ms Invoke overhead + 60 KB at ~10 MB/s effective = 21 ms.
 * - Warm Lambda instances are never shown to a policy in either world: the policy host estimates
 *   them from what it observed (core/host), as on AWS.
 */
export interface WorldModel {
  coldStart?: { runtimeInitMs: number; sessionLoadFactor: number; sigma: number };
  keepAlive?: { minFactor: number; maxFactor: number };
  boot?: { meanFactor: number; cv: number };
  serviceTail?: { sigmaFactor: number; stallProbability: number; stallFactor: number };
  transport?: { payloadBytes: number; vmBaseMs: number; vmBytesPerMs: number; lambdaBaseMs: number; lambdaBytesPerMs: number };
}

export const REALISTIC_WORLD: WorldModel = {
  coldStart: { runtimeInitMs: 1_200, sessionLoadFactor: 1.5, sigma: 0.35 },
  keepAlive: { minFactor: 0.4, maxFactor: 1.2 },
  boot: { meanFactor: 1.2, cv: 0.25 },
  serviceTail: { sigmaFactor: 1.3, stallProbability: 0.002, stallFactor: 4 },
  // 0.75 Gbps = 93,750 bytes per ms; ~10 MB/s = 10,000 bytes per ms.
  transport: { payloadBytes: 60_000, vmBaseMs: 3, vmBytesPerMs: 93_750, lambdaBaseMs: 15, lambdaBytesPerMs: 10_000 },
};

export const WORLDS = { realistic: REALISTIC_WORLD, optimistic: undefined } as const;
export type WorldName = keyof typeof WORLDS;

/** The world named on a command line; a typo is an error that lists the names. */
export function worldNamed(name: string): WorldModel | undefined {
  if (!(name in WORLDS)) throw new RangeError(`unknown world '${name}' (known: ${Object.keys(WORLDS).join(', ')})`);
  return WORLDS[name as WorldName];
}

/** The world's transport per request (ms): its payload over the link, else the given default. */
export function transportMs(world: WorldModel | undefined, kind: 'vm' | 'lambda', fallbackMs: number): number {
  const t = world?.transport;
  if (!t) return fallbackMs;
  return kind === 'vm' ? t.vmBaseMs + t.payloadBytes / t.vmBytesPerMs : t.lambdaBaseMs + t.payloadBytes / t.lambdaBytesPerMs;
}
