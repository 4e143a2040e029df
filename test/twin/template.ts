/**
 * Reads what the deploy twin runs out of the synthesized templates: the systemd unit a user-data
 * script writes (its Environment=, EnvironmentFile=, WorkingDirectory= and ExecStart= lines, as
 * systemd would see them after the script's unquoted heredoc expanded its variables), the secret
 * step's secret id and the models step's bucket. Nothing here is hand-written configuration: a
 * line the template does not have is an error naming what is missing.
 */
import type { Json, Template } from '../localstack/free-edition.js';

export interface SystemdUnit {
  /** Unit name, e.g. spillway-server (from /etc/systemd/system/<name>.service). */
  name: string;
  workingDirectory: string;
  environmentFile?: string;
  /** Environment= lines in order, variables of the boot script expanded. */
  environment: Record<string, string>;
  /** ExecStart= split on spaces (the units Spillway writes quote nothing). */
  execStart: string[];
}

/**
 * The unit a boot script writes with `cat > /etc/systemd/system/<name>.service <<UNIT ... UNIT`.
 * The heredoc is unquoted, so `$NAME` in it is the boot script's variable at that point: `vars`
 * gives their values (e.g. VARIANT, read from IMDS on EC2); an unknown one is an error.
 */
export function unitFromScript(script: string, vars: Readonly<Record<string, string>> = {}): SystemdUnit {
  const lines = script.split('\n');
  const start = lines.findIndex((l) => /^cat > \/etc\/systemd\/system\/[\w.-]+\.service <<UNIT$/.test(l));
  if (start < 0) throw new Error('user data writes no systemd unit (no `cat > /etc/systemd/system/<name>.service <<UNIT`)');
  const end = lines.indexOf('UNIT', start + 1);
  if (end < 0) throw new Error('user data: the systemd unit heredoc is not closed (no UNIT line)');
  const name = /system\/([\w.-]+)\.service/.exec(lines[start]!)![1]!;
  const expand = (v: string): string =>
    v.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, n: string) => {
      const got = vars[n];
      if (got === undefined) throw new Error(`unit ${name}: boot-script variable $${n} has no value in the twin`);
      return got;
    });
  const unit: SystemdUnit = { name, workingDirectory: '', environment: {}, execStart: [] };
  for (const raw of lines.slice(start + 1, end)) {
    const line = expand(raw);
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!kv) continue;
    const [, key, value] = kv as unknown as [string, string, string];
    if (key === 'Environment') {
      const eq = value.indexOf('=');
      if (eq < 1) throw new Error(`unit ${name}: malformed Environment=${value}`);
      unit.environment[value.slice(0, eq)] = value.slice(eq + 1);
    } else if (key === 'EnvironmentFile') unit.environmentFile = value;
    else if (key === 'WorkingDirectory') unit.workingDirectory = value;
    else if (key === 'ExecStart') unit.execStart = value.split(' ').filter(Boolean);
  }
  if (!unit.workingDirectory) throw new Error(`unit ${name}: no WorkingDirectory=`);
  if (unit.execStart.length === 0) throw new Error(`unit ${name}: no ExecStart=`);
  return unit;
}

/** The `--secret-id` of the script's `aws secretsmanager get-secret-value` step, if any. */
export function secretIdOf(script: string): string | undefined {
  return /aws secretsmanager get-secret-value --secret-id (\S+)/.exec(script)?.[1];
}

/** Source and destination of the script's `aws s3 sync` models step. */
export function modelSyncOf(script: string): { bucket: string; prefix: string; dest: string } {
  const m = /aws s3 sync (?:--\S+ )*s3:\/\/([^/\s]+)\/(\S*) (\S+)/.exec(script);
  if (!m) throw new Error('user data has no `aws s3 sync s3://<bucket>/<prefix> <dir>` models step');
  return { bucket: m[1]!, prefix: m[2]!, dest: m[3]!.replace(/\/$/, '') };
}

/**
 * The user-data script of a synthesized (unresolved) `{ Fn::Base64: { Fn::Join: ... } }` value with
 * every CloudFormation token (Ref, GetAtt, ...) written as TOKEN: for assertions on the script
 * and its unit without a deployed stack.
 */
export function scriptWithTokens(userData: Json): string {
  const join = (userData as { 'Fn::Base64'?: Json })['Fn::Base64'];
  if (typeof join === 'string') return join;
  const parts = ((join as { 'Fn::Join'?: [string, Json[]] })?.['Fn::Join'] ?? ['', []])[1];
  return parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
}

/** The decoded user-data script of an already-resolved `{ Fn::Base64: ... }` value or a base64 string. */
export function decodeUserData(b64: string): string {
  return Buffer.from(b64, 'base64').toString('utf8');
}

/** Resources of one type, [logicalId, properties]. */
export function resourcesOfType(template: Template, type: string): Array<[string, Record<string, Json>]> {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, (r.Properties ?? {}) as Record<string, Json>]);
}
