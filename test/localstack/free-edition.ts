/**
 * What LocalStack's free edition (4.14.0, host mode, no Docker) cannot deploy, and a pruner that
 * takes those resources out of a synthesized cloud assembly so that `cdklocal deploy` deploys
 * everything else. Nothing is dropped silently: every removed resource and output is returned
 * with its reason (the suite prints them and infra/README.md lists them), a resource type not in
 * NOT_DEPLOYABLE is kept (LocalStack runs with CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES=0, so a new
 * unsupported type fails the deploy instead of being ignored), and a reference to a removed
 * resource that cannot be rewritten exactly is an error.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Resource types not deployed on LocalStack here, with the reason. */
export const NOT_DEPLOYABLE: Readonly<Record<string, string>> = {
  'AWS::Lambda::Function':
    "LocalStack runs Lambda code only in Docker containers (no Docker here): CreateFunction is accepted but the function ends State=Failed and UpdateFunctionConfiguration is refused; the functions' handler runs on the local Lambda runtime instead",
  'AWS::Lambda::LayerVersion': 'only used by the BucketDeployment custom resource, whose function needs Docker',
  'Custom::CDKBucketDeployment':
    'a Lambda-backed custom resource (needs Docker): the model files and registry.json are not uploaded to the model bucket',
  'AWS::ElasticLoadBalancingV2::LoadBalancer': "ELBv2 is not in LocalStack's free edition",
  'AWS::ElasticLoadBalancingV2::Listener': "ELBv2 is not in LocalStack's free edition",
  'AWS::ElasticLoadBalancingV2::TargetGroup': "ELBv2 is not in LocalStack's free edition",
  'Custom::SpillwayFleetReaper':
    'the fleet reaper is a Lambda-backed custom resource (custom-resources Provider; its handlers need Docker): its delete-time termination runs against moto instead (test/aws/fleet-reaper.test.ts)',
  'AWS::StepFunctions::StateMachine':
    "the custom-resources Provider's waiter: it only invokes the fleet reaper's isComplete/onTimeout functions, which need Docker",
};

export interface Skipped {
  stack: string;
  logicalId: string;
  type: string;
  reason: string;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Template = { Resources: Record<string, { Type: string; Properties?: Json; DependsOn?: string | string[] }>; Outputs?: Record<string, Json> };

function refsIn(value: Json, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) refsIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref' && typeof v === 'string') out.add(v);
      else if (k === 'Fn::GetAtt') out.add(Array.isArray(v) ? String(v[0]) : (String(v).split('.')[0] ?? ''));
      else if (k === 'Fn::Sub') {
        const s = Array.isArray(v) ? String(v[0]) : String(v);
        for (const m of s.matchAll(/\$\{([^}!][^}]*)\}/g)) out.add((m[1] ?? '').split('.')[0] ?? '');
        if (Array.isArray(v) && v[1]) refsIn(v[1], out);
      } else refsIn(v, out);
    }
  }
  return out;
}

/**
 * Rewrites references to a removed Lambda function into the values they stand for (its name and
 * ARN are fixed by FunctionName), so e.g. the controller's IAM policy still names the functions.
 */
function rewrite(value: Json, removed: Template['Resources'], where: string): Json {
  if (Array.isArray(value)) return value.map((v) => rewrite(v, removed, where));
  if (!value || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const ref = value.Ref;
    const att = value['Fn::GetAtt'];
    const target = typeof ref === 'string' ? ref : Array.isArray(att) ? String(att[0]) : undefined;
    const r = target ? removed[target] : undefined;
    if (target && r) {
      const name = (r.Properties as { FunctionName?: Json } | undefined)?.FunctionName;
      if (r.Type !== 'AWS::Lambda::Function' || typeof name !== 'string') {
        throw new Error(`${where} references removed ${target} (${r.Type}); no exact rewrite is known`);
      }
      if (typeof ref === 'string') return name;
      if (Array.isArray(att) && att[1] === 'Arn') {
        return { 'Fn::Sub': `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${name}` };
      }
      throw new Error(`${where} reads ${JSON.stringify(att)} of removed function ${target}`);
    }
  }
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'Fn::Sub') {
      const s = Array.isArray(v) ? String(v[0]) : String(v);
      for (const m of s.matchAll(/\$\{([^}!][^}]*)\}/g)) {
        const id = (m[1] ?? '').split('.')[0] ?? '';
        if (removed[id]) throw new Error(`${where} uses \${${m[1]}} of removed ${id} in Fn::Sub`);
      }
    }
    out[k] = rewrite(v, removed, where);
  }
  return out;
}

/**
 * Kept types that only observe another resource: when what they watch is removed, they are
 * removed too (with the reason), instead of failing the pruning.
 */
const OBSERVERS: Readonly<Record<string, string>> = {
  'AWS::CloudWatch::Alarm': 'an alarm on a metric of a resource that is not deployed',
};

function pruneObservers(stack: string, kept: Template['Resources'], removed: Template['Resources'], skipped: Skipped[]): void {
  for (const [id, res] of Object.entries(kept)) {
    const why = OBSERVERS[res.Type];
    if (!why || res.Properties === undefined) continue;
    const gone = [...refsIn(res.Properties)].filter((r) => removed[r]);
    if (gone.length === 0) continue;
    removed[id] = res;
    delete kept[id];
    skipped.push({ stack, logicalId: id, type: res.Type, reason: `${why} (${gone.join(', ')})` });
  }
}

/** True when a reference to the removed resource can be rewritten exactly (see rewrite()). */
function rewritable(r: Template['Resources'][string]): boolean {
  return r.Type === 'AWS::Lambda::Function' && typeof (r.Properties as { FunctionName?: Json } | undefined)?.FunctionName === 'string';
}

/**
 * IAM policies of what is kept may grant access to removed resources that have no fixed name
 * (the Provider framework's roles invoke the reaper's functions). Such a statement grants nothing
 * once its resource is gone: it is dropped, and reported; a policy left with no statement is
 * removed (and reported) as well. Statements naming only rewritable resources stay.
 */
function pruneStatements(stack: string, kept: Template['Resources'], removed: Template['Resources'], skipped: Skipped[]): void {
  for (const [id, res] of Object.entries(kept)) {
    if (res.Type !== 'AWS::IAM::Policy') continue;
    const doc = (res.Properties as { PolicyDocument?: { Statement?: Json[] } } | undefined)?.PolicyDocument;
    const statements = doc?.Statement ?? [];
    const keep: Json[] = [];
    for (const st of statements) {
      const gone = [...refsIn(st)].filter((r) => removed[r] && !rewritable(removed[r]!));
      if (gone.length === 0) keep.push(st);
      else {
        skipped.push({
          stack,
          logicalId: id,
          type: 'AWS::IAM::Policy statement',
          reason: `${JSON.stringify((st as { Action?: Json }).Action)} on ${gone.join(', ')}, which is not deployed`,
        });
      }
    }
    if (keep.length === statements.length) continue;
    if (keep.length === 0) {
      removed[id] = res;
      delete kept[id];
      skipped.push({ stack, logicalId: id, type: res.Type, reason: 'every statement names a resource that is not deployed' });
    } else {
      kept[id] = { ...res, Properties: { ...(res.Properties as Record<string, Json>), PolicyDocument: { ...doc, Statement: keep } } };
    }
  }
}

/** Removes the NOT_DEPLOYABLE resources from one template; returns what was removed and why. */
export function pruneTemplate(stack: string, template: Template): { template: Template; skipped: Skipped[] } {
  const skipped: Skipped[] = [];
  const removed: Template['Resources'] = {};
  const kept: Template['Resources'] = {};
  for (const [id, res] of Object.entries(template.Resources)) {
    const reason = NOT_DEPLOYABLE[res.Type];
    if (reason) {
      removed[id] = res;
      skipped.push({ stack, logicalId: id, type: res.Type, reason });
    } else kept[id] = res;
  }
  pruneObservers(stack, kept, removed, skipped);
  pruneStatements(stack, kept, removed, skipped);
  for (const [id, res] of Object.entries(kept)) {
    const next = { ...res };
    if (res.Properties !== undefined) next.Properties = rewrite(res.Properties, removed, `${stack}/${id}`);
    if (res.DependsOn !== undefined) {
      const deps = (Array.isArray(res.DependsOn) ? res.DependsOn : [res.DependsOn]).filter((d) => !removed[d]);
      if (deps.length > 0) next.DependsOn = deps;
      else delete next.DependsOn;
    }
    kept[id] = next;
  }
  const outputs: Record<string, Json> = {};
  for (const [id, out] of Object.entries(template.Outputs ?? {})) {
    const hit = [...refsIn(out)].filter((r) => removed[r]);
    if (hit.length > 0) {
      skipped.push({ stack, logicalId: id, type: 'Output', reason: `reads ${hit.join(', ')}, which is not deployed` });
    } else outputs[id] = out;
  }
  return { template: { ...template, Resources: kept, Outputs: outputs }, skipped };
}

/**
 * Copies a synthesized cloud assembly to `outDir` with every stack template pruned, and drops the
 * file assets no kept resource uses (the removed functions' bundles are not uploaded).
 */
export function pruneAssembly(assemblyDir: string, outDir: string): Skipped[] {
  cpSync(assemblyDir, outDir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
  };
  const skipped: Skipped[] = [];
  const templates: string[] = [];
  for (const [name, art] of Object.entries(manifest.artifacts)) {
    if (art.type !== 'aws:cloudformation:stack' || !art.properties?.templateFile) continue;
    const file = join(outDir, art.properties.templateFile);
    const pruned = pruneTemplate(name, JSON.parse(readFileSync(file, 'utf8')) as Template);
    skipped.push(...pruned.skipped);
    const text = JSON.stringify(pruned.template, null, 1);
    writeFileSync(file, text);
    templates.push(text);
  }
  for (const [, art] of Object.entries(manifest.artifacts)) {
    if (art.type !== 'cdk:asset-manifest') continue;
    const file = join(outDir, (art.properties as { file: string }).file);
    const assets = JSON.parse(readFileSync(file, 'utf8')) as { files?: Record<string, unknown> };
    for (const hash of Object.keys(assets.files ?? {})) {
      // Templates are assets too (their own hash); keep those and any asset a template names.
      const isTemplate = JSON.stringify(assets.files?.[hash]).includes('.template.json');
      if (!isTemplate && !templates.some((t) => t.includes(hash))) delete assets.files?.[hash];
    }
    writeFileSync(file, JSON.stringify(assets, null, 1));
  }
  return skipped;
}

export interface DeployedStack {
  /** Logical id -> physical id, from DescribeStackResources. */
  physical: ReadonlyMap<string, string>;
  /** Template parameter -> resolved value (e.g. the SSM AMI parameters). */
  parameters: ReadonlyMap<string, string>;
  accountId: string;
  region: string;
  /** Export name -> value, for Fn::ImportValue (the other stacks' exports). */
  imports?: ReadonlyMap<string, string>;
}

/**
 * Resolves the intrinsic functions of a template fragment against a deployed stack, as
 * CloudFormation would, for the few forms the launch templates use (Ref, Fn::GetAtt Arn/GroupId,
 * Fn::Sub, Fn::Join, Fn::Base64, Fn::ImportValue when `imports` is given). Anything else is an
 * error, never a guess.
 */
export function resolveIntrinsics(value: Json, stack: DeployedStack, resourceTypes: ReadonlyMap<string, string>): Json {
  const ref = (name: string): string => {
    const pseudo: Record<string, string> = {
      'AWS::AccountId': stack.accountId,
      'AWS::Region': stack.region,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
    };
    const v = pseudo[name] ?? stack.parameters.get(name) ?? stack.physical.get(name);
    if (v === undefined) throw new Error(`cannot resolve Ref ${name}`);
    return v;
  };
  const getAtt = (id: string, attr: string): string => {
    const phys = stack.physical.get(id);
    const type = resourceTypes.get(id);
    if (!phys) throw new Error(`cannot resolve GetAtt ${id}.${attr}: not deployed`);
    if (type === 'AWS::EC2::SecurityGroup' && attr === 'GroupId') return phys;
    if (type === 'AWS::IAM::InstanceProfile' && attr === 'Arn') return `arn:aws:iam::${stack.accountId}:instance-profile/${phys}`;
    throw new Error(`no resolution known for GetAtt ${id}.${attr} (${type})`);
  };
  const sub = (s: string): string =>
    s.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
      const [id, attr] = name.split('.');
      return attr ? getAtt(id ?? '', attr) : ref(id ?? '');
    });
  const go = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(go);
    if (!v || typeof v !== 'object') return v;
    const keys = Object.keys(v);
    const only = keys.length === 1 ? keys[0] : undefined;
    if (only === 'Ref') return ref(String(v.Ref));
    if (only === 'Fn::GetAtt') {
      const a = v['Fn::GetAtt'];
      const [id, attr] = Array.isArray(a) ? a.map(String) : String(a).split('.');
      return getAtt(id ?? '', attr ?? '');
    }
    if (only === 'Fn::Sub') {
      if (typeof v['Fn::Sub'] !== 'string') throw new Error('Fn::Sub with a variable map is not supported');
      return sub(v['Fn::Sub']);
    }
    if (only === 'Fn::Join') {
      const [sep, parts] = v['Fn::Join'] as [string, Json[]];
      return parts.map((p) => String(go(p))).join(sep);
    }
    if (only === 'Fn::ImportValue' && stack.imports) {
      const name = String(go(v['Fn::ImportValue'] ?? ''));
      const got = stack.imports.get(name);
      if (got === undefined) throw new Error(`cannot resolve Fn::ImportValue ${name}: no stack exports it`);
      return got;
    }
    if (only === 'Fn::Base64') return Buffer.from(String(go(v['Fn::Base64'] ?? '')), 'utf8').toString('base64');
    if (only?.startsWith('Fn::')) throw new Error(`intrinsic ${only} is not supported`);
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) out[k] = go(x);
    return out;
  };
  return go(value);
}
