/**
 * `spillway reclaim <vmId> --target URL [--notice-ms N]`: give a Spot VM of a running local stack
 * EC2's interruption notice (POST /v1/vms/{id}/reclaim), as EC2 would on AWS. Prints the answer
 * (`{id, time, noticeMs}`) as JSON; exits 1 with the API's message otherwise. VM ids: GET /v1/status.
 */
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('reclaim')
    .description("Give a Spot VM of a running local stack EC2's interruption notice (it is killed --notice-ms later)")
    .argument('<vmId>', 'the VM, as GET /v1/status lists it')
    .requiredOption('--target <url>', 'Spillway endpoint, e.g. http://127.0.0.1:8080')
    .option('--notice-ms <n>', "notice before the VM is killed (default the stack's, EC2's 120 000)", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 600_000) throw new Error(`--notice-ms: expected an integer 0..600000, got '${v}'`);
      return n;
    })
    .option('--api-key <key>', 'x-api-key header (default $SPILLWAY_API_KEY)')
    .action(async (vmId: string, o: { target: string; noticeMs?: number; apiKey?: string }) => {
      const apiKey = o.apiKey ?? process.env['SPILLWAY_API_KEY'];
      const url = new URL(`/v1/vms/${encodeURIComponent(vmId)}/reclaim`, o.target);
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(apiKey ? { 'x-api-key': apiKey } : {}) },
        body: JSON.stringify(o.noticeMs !== undefined ? { noticeMs: o.noticeMs } : {}),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      if (!res.ok) {
        let message = text;
        try {
          message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
        } catch {
          // not JSON: print it as it came
        }
        throw new Error(`reclaim ${vmId}: ${res.status} ${message}`);
      }
      process.stdout.write(`${text}\n`);
    });
}
