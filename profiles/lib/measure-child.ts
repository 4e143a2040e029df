/**
 * Child-process entry for measuring one variant (forked by run-child.ts with an IPC channel).
 * Protocol: parent sends one {type:'measure', request}; the child answers with any number of
 * {type:'progress'} messages and then exactly one {type:'result'} or {type:'error'}, then exits.
 */
import { type MeasureRequest, measureVariant } from './measure.js';

export type ChildMessage =
  | { type: 'progress'; cellsDone: number; cellsTotal: number; label: string }
  | { type: 'result'; result: Awaited<ReturnType<typeof measureVariant>> }
  | { type: 'error'; message: string };

function send(msg: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(msg, undefined, undefined, () => resolve());
  });
}

// The parent went away (killed, crashed): stop measuring rather than linger as an orphan.
process.once('disconnect', () => process.exit(1));

process.once('message', (msg: { type: 'measure'; request: MeasureRequest }) => {
  measureVariant(msg.request, (cellsDone, cellsTotal, label) => {
    void send({ type: 'progress', cellsDone, cellsTotal, label });
  })
    .then((result) => send({ type: 'result', result }))
    .catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? err.message : String(err) }))
    .finally(() => {
      process.removeAllListeners('disconnect');
      process.disconnect?.();
      process.exit(0);
    });
});
