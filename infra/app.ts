/**
 * CDK app (cdk.json: `npx tsx infra/app.ts`). Synth needs no account: no context lookups, AMIs
 * resolved from SSM at deploy time, Lambda and app bundles built locally by esbuild without npm
 * install (the app bundle's pinned Node runtime is fetched once from the npm registry and cached,
 * so synth is offline after the first; infra/bundling/vm-bundle.mjs).
 * Configuration: `-c spillway:<key>=<value>` (see infra/config.ts and infra/README.md).
 */
import { fileURLToPath } from 'node:url';
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadCatalog } from '../profiles/catalog.js';
import { loadProfiles } from '../profiles/lib/load.js';
import { readInfraConfig } from './config.js';
import { ServingStack } from './stacks/serving-stack.js';
import { StatefulStack } from './stacks/stateful-stack.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

export interface BuiltApp {
  app: App;
  stateful: StatefulStack;
  serving: ServingStack;
}

/** Builds the app (used by `cdk synth` below and by the tests with their own context). */
export function buildApp(app: App = new App()): BuiltApp {
  const config = readInfraConfig((k) => app.node.tryGetContext(k), { repoRoot: REPO_ROOT });
  const catalog = loadCatalog();
  const profiles = loadProfiles();
  const env = { region: config.region, ...(config.account ? { account: config.account } : {}) };
  const stateful = new StatefulStack(app, `${pascal(config.fleetName)}Stateful`, {
    env,
    fleetName: config.fleetName,
    repoRoot: REPO_ROOT,
    ...(config.modelDir ? { modelDir: config.modelDir } : {}),
    coordinationTable: config.routers !== undefined,
    description: 'Spillway: model bucket and API key (retained)',
  });
  const serving = new ServingStack(app, `${pascal(config.fleetName)}Serving`, {
    env,
    config,
    catalog,
    profiles,
    stateful,
    repoRoot: REPO_ROOT,
    description: 'Spillway: Lambda per variant, EC2 launch templates, controller, endpoint, dashboard',
  });
  serving.addStackDependency(stateful);
  // Not spillway:fleet: that tag marks the VMs the controller may terminate and adopt.
  Tags.of(app).add('spillway:app', config.fleetName);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stateful, serving };
}

function pascal(s: string): string {
  return s
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildApp().app.synth();
}
