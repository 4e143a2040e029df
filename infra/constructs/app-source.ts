/**
 * AppSource: the Spillway source tree (controller/, functions/, profiles/, bin/, package files)
 * as one S3 asset. The VMs and the controller host download it, run `npm ci --omit=dev` (with
 * ONNXRUNTIME_NODE_INSTALL=skip) and start with tsx, exactly as the runtime contract runs the
 * server locally (`node --import tsx functions/server/main.ts`). An allow-list keeps tests,
 * node_modules, scratch directories and cdk.out out of the asset.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { IgnoreMode } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';

export interface AppSourceProps {
  /** Repository root. */
  readonly repoRoot: string;
  /** Top-level entries shipped. @default controller, functions, profiles, bin, package.json, package-lock.json, tsconfig.json, .npmrc */
  readonly include?: readonly string[];
}

export const DEFAULT_APP_SOURCE_INCLUDE = [
  'controller',
  'functions',
  'profiles',
  'bin',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  '.npmrc',
] as const;

export class AppSource extends Construct {
  readonly asset: s3assets.Asset;

  constructor(scope: Construct, id: string, props: AppSourceProps) {
    super(scope, id);
    if (!existsSync(join(props.repoRoot, 'package.json'))) {
      throw new Error(`AppSource repoRoot has no package.json: ${props.repoRoot}`);
    }
    const include = props.include ?? DEFAULT_APP_SOURCE_INCLUDE;
    if (include.length === 0) throw new Error('AppSource include must list at least one entry, got []');
    this.asset = new s3assets.Asset(this, 'Asset', {
      path: props.repoRoot,
      ignoreMode: IgnoreMode.GLOB,
      // Allow-list: ignore everything at the top level, then re-include the shipped entries.
      exclude: ['*', '.*', ...include.flatMap((e) => [`!${e}`, `!${e}/**`]), '**/node_modules', '**/*.test.ts'],
    });
  }

  grantRead(grantee: iam.IGrantable): void {
    this.asset.grantRead(grantee);
  }
}
