/**
 * Builds the Spillway CDK app for tests. Bundling is skipped through CDK's own
 * `aws:cdk:bundling-stacks` context (an empty list = bundle no stack), so assertion tests stay
 * fast; real esbuild bundling is exercised once by lambda-bundle-size.test.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { type BuiltApp, buildApp } from '../../infra/app.js';

export function synthApp(context: Record<string, unknown> = {}): BuiltApp {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'spillway-cdk-')),
    context: { 'aws:cdk:bundling-stacks': [], ...context },
    // CDK's built-in CloudFormation-schema validation costs ~11 s per synth on 2 cores; cdk-nag
    // (registered by buildApp) still runs. `npx cdk synth` in CI keeps the built-in check.
    builtinCloudFormationValidation: false,
  });
  return buildApp(app);
}
