/**
 * V8 flags of the processes that route requests: the single-process stack (`npm start`), the
 * cluster routers (local supervisor and the router group's systemd unit) and the controller unit.
 *
 * --max-semi-space-size=64 (MB; Node 20's default is 16): a router at 1 k req/s allocates ~25 KB
 * per request, so a 16 MB young generation fills every ~0.5 s while requests, timers and sockets of
 * the last few hundred ms are still alive; they were promoted, the old generation grew ~12 MB per
 * 0.75 s and mark-compact pauses of 8-21 ms (scavenges up to 22 ms) set the p99. With 64 MB the
 * same load scavenged in 1.5-3.6 ms and promoted nothing (measured with --trace-gc, stand-in
 * backend, test/bench/router.bench.ts). The cost is up to ~128 MB more resident memory under load.
 *
 * Not for the VM inference servers: with it on them too, the deploy twin's burst (test/twin)
 * fell from 86-88 % to 79-81 % within the SLO, with ~100 VM calls past their 1 s budget.
 */
export const ROUTER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
