/**
 * No secret in any boot log (issue 11, item 4): cloud-init writes every traced user-data command
 * to /var/log/cloud-init-output.log and the EC2 console. Each user data of the synthesized stack
 * that reads a secret runs here, its secret step under `bash -x` exactly as synthesized, with a
 * stand-in `aws` CLI on PATH (a mock: there is no AWS here) that answers a known secret. The
 * step must still write the key where the service reads it, and the trace and output must not
 * contain it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scriptWithTokens } from '../twin/template.js';
import { synthApp } from './synth-helper.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };


/** Every user data of the default app and of the router-group app (spillway:routers). */
function userDataScripts(): Array<{ id: string; script: string }> {
  const out: Array<{ id: string; script: string }> = [];
  const stacks = [synthApp(), synthApp({ 'spillway:routers': '2' })].flatMap(({ app }) => app.synth().stacks);
  for (const stack of stacks) {
    const resources = (stack.template as { Resources: Record<string, { Type: string; Properties: Record<string, Json> }> }).Resources;
    for (const [id, r] of Object.entries(resources)) {
      const ud =
        r.Type === 'AWS::EC2::Instance'
          ? r.Properties.UserData
          : r.Type === 'AWS::EC2::LaunchTemplate'
            ? (r.Properties.LaunchTemplateData as { UserData?: Json } | undefined)?.UserData
            : undefined;
      if (ud) out.push({ id: `${stack.stackName}/${id}`, script: scriptWithTokens(ud) });
    }
  }
  return out;
}

const SECRET = 'S3cr3t-ApiKey-0123456789-abcdefghijklmn';
const scripts = userDataScripts();
const withSecret = scripts.filter((s) => s.script.includes('secretsmanager'));

describe('user data: no secret in the boot log', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-userdata-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the controller host and the routers read the API key from Secrets Manager at boot (so there is a step to check)', () => {
    expect(scripts.length).toBeGreaterThan(0);
    expect(withSecret.map((s) => s.id)).toEqual([expect.stringMatching(/Controller/), expect.stringMatching(/Routers/)]);
  });

  it.each(withSecret)('$id: the secret step under bash -x (aws CLI stand-in) writes the key and traces none of it', ({ script }) => {
    const lines = script.split('\n');
    const first = lines.findIndex((l) => l.includes('secretsmanager'));
    const last = lines.findIndex((l, i) => i >= first && l.includes('SPILLWAY_API_KEY'));
    expect(first).toBeGreaterThan(-1);
    expect(last).toBeGreaterThanOrEqual(first);
    // The step as synthesized, with every `set` before it (how the script traces at that point).
    const envFile = join(dir, 'controller.env');
    const step = [
      ...lines.slice(0, first).filter((l) => /^\s*set\s/.test(l)),
      ...lines.slice(first, last + 1),
    ]
      .join('\n')
      .replace(/\/etc\/spillway-(controller|router)\.env/g, envFile);
    const bin = join(dir, 'bin');
    spawnSync('mkdir', ['-p', bin]);
    writeFileSync(join(bin, 'aws'), `#!/bin/sh\nprintf '%s\\n' '${SECRET}'\n`);
    chmodSync(join(bin, 'aws'), 0o755);
    writeFileSync(join(dir, 'step.sh'), step);
    const r = spawnSync('bash', ['-x', join(dir, 'step.sh')], {
      encoding: 'utf8',
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(envFile, 'utf8')).toBe(`SPILLWAY_API_KEY=${SECRET}\n`);
    expect(r.stderr).toContain('secretsmanager'); // the trace is on, and shows the step
    expect(r.stderr).not.toContain(SECRET);
    expect(r.stdout).not.toContain(SECRET);
  });
});
