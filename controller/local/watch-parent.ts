/**
 * Calls `onOrphaned` once when this process's parent dies (it is re-parented to init or a
 * subreaper). Linux gives Node no parent-death signal, so it polls process.ppid (a live getppid()
 * call). Used by the VM/Lambda children (parent-watch.ts: exit at once) and by the controller
 * under `npm start` (graceful shutdown when npm is killed without passing a signal on).
 */
export function watchParent(onOrphaned: () => void, opts: { intervalMs?: number } = {}): () => void {
  const parentPid = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parentPid) return;
    clearInterval(timer);
    onOrphaned();
  }, opts.intervalMs ?? 500);
  // Never the reason the process stays alive.
  timer.unref();
  return () => clearInterval(timer);
}
