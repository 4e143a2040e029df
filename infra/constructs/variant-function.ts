/**
 * VariantFunction: one Lambda function serving one model variant (functions/lambda/handler.ts),
 * named `${functionPrefix}${variant}` as LambdaPool expects. Bundled locally by esbuild (ESM,
 * node22, top-level await for the model session). onnxruntime-node and sharp are native: they are
 * external to esbuild and copied from the local node_modules by infra/bundling/copy-native.mjs,
 * pruned to linux/<arch>, so bundling never runs `npm install` and works offline. The variant's
 * model file and labels are packaged under /var/task/models when the local model dir has them;
 * otherwise the handler resolves the model at init (synthetic variants are built into /tmp).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULT_FUNCTION_PREFIX, lambdaFunctionName, variantNameProblem } from '../../functions/engine/variant-name.js';
import { loadCatalog } from '../../profiles/catalog.js';
import { lambdaThreadsForMemory } from '../../profiles/pricing.js';

export interface VariantFunctionProps {
  /** Registry variant name; becomes part of the function name. */
  readonly variant: string;
  /** Repository root (entry, lock file, node_modules, registry). */
  readonly repoRoot: string;
  /** Memory in MB (128-10,240): from the profile's right-size for the SLO. */
  readonly memoryMb: number;
  /** @default 'spillway-' */
  readonly functionPrefix?: string;
  /** @default lambda.Architecture.X86_64 */
  readonly architecture?: lambda.Architecture;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** Handler source. @default <repoRoot>/functions/lambda/handler.ts */
  readonly entry?: string;
  /** Local model directory; the variant's file + labels are packaged when present. @default undefined */
  readonly modelDir?: string;
  /** Reserved concurrency (cap). @default none (account pool) */
  readonly reservedConcurrency?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

interface RegistryEntry {
  name: string;
  file?: string;
  labels?: string;
}

/** Files (model + labels) of a variant that exist in the model dir, from the committed registry. */
export function variantModelFiles(repoRoot: string, variant: string, modelDir?: string): string[] {
  if (!modelDir || !existsSync(modelDir)) return [];
  const registryPath = join(repoRoot, 'functions', 'models', 'registry.json');
  if (!existsSync(registryPath)) return [];
  const reg = JSON.parse(readFileSync(registryPath, 'utf8')) as { variants?: RegistryEntry[] };
  const entry = reg.variants?.find((v) => v.name === variant);
  const names = [entry?.file, typeof entry?.labels === 'string' ? entry.labels : undefined, 'imagenet_synset.txt'];
  const unique = [...new Set(names.filter((n): n is string => !!n && existsSync(join(modelDir, n))))];
  return unique.map((n) => join(modelDir, n));
}

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

export class VariantFunction extends Construct {
  readonly fn: nodejs.NodejsFunction;
  readonly functionName: string;
  readonly packagedModelFiles: readonly string[];

  constructor(scope: Construct, id: string, props: VariantFunctionProps) {
    super(scope, id);
    const prefix = props.functionPrefix ?? DEFAULT_FUNCTION_PREFIX;
    const nameProblem = variantNameProblem(props.variant, prefix);
    if (nameProblem) throw new Error(`VariantFunction variant: ${nameProblem}`);
    if (!Number.isInteger(props.memoryMb) || props.memoryMb < 128 || props.memoryMb > 10_240) {
      throw new Error(`VariantFunction memoryMb must be an integer in 128..10240, got ${props.memoryMb}`);
    }
    if (props.reservedConcurrency !== undefined && !(Number.isInteger(props.reservedConcurrency) && props.reservedConcurrency >= 0)) {
      throw new Error(`VariantFunction reservedConcurrency must be a non-negative integer, got ${props.reservedConcurrency}`);
    }
    this.functionName = lambdaFunctionName(props.variant, prefix);
    const entry = props.entry ?? join(props.repoRoot, 'functions', 'lambda', 'handler.ts');
    if (!existsSync(entry)) throw new Error(`VariantFunction entry does not exist: ${entry}`);
    const architecture = props.architecture ?? lambda.Architecture.X86_64;
    const arch = architecture === lambda.Architecture.ARM_64 ? 'arm64' : 'x64';
    this.packagedModelFiles = variantModelFiles(props.repoRoot, props.variant, props.modelDir);
    const copyNative = join(props.repoRoot, 'infra', 'bundling', 'copy-native.mjs');
    const packaged = this.packagedModelFiles;

    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${this.functionName}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Own role with only its log group: avoids the broad AWSLambdaBasicExecutionRole managed policy.
    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);

    this.fn = new nodejs.NodejsFunction(this, 'Fn', {
      functionName: this.functionName,
      entry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture,
      memorySize: props.memoryMb,
      timeout: props.timeout ?? Duration.seconds(30),
      role,
      logGroup,
      projectRoot: props.repoRoot,
      depsLockFilePath: join(props.repoRoot, 'package-lock.json'),
      ...(props.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
      environment: {
        SPILLWAY_VARIANT: props.variant,
        // The memory's vCPU share as threads (1,769 MB = 1 vCPU, max 6; ceil, e.g. 3,008 MB -> 2):
        // the rule the profile estimates that chose memoryMb assume, and the local runtime uses.
        SPILLWAY_INTRA_OP_THREADS: String(lambdaThreadsForMemory(loadCatalog(), props.memoryMb)),
        SPILLWAY_HOME: '/tmp/spillway',
        ...(packaged.length > 0 ? { SPILLWAY_MODEL_DIR: '/var/task/models' } : {}),
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        // CJS dependencies inside an ESM bundle still call require() for Node built-ins.
        banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
        externalModules: ['onnxruntime-node', 'sharp', '@aws-sdk/*'],
        forceDockerBundling: false,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir: string, outputDir: string) => [
            `node ${shellQuote(copyNative)} ${shellQuote(props.repoRoot)} ${shellQuote(outputDir)} ${arch}`,
            ...(packaged.length > 0
              ? [
                  `mkdir -p ${shellQuote(join(outputDir, 'models'))}`,
                  ...packaged.map((f) => `cp ${shellQuote(f)} ${shellQuote(join(outputDir, 'models'))}/`),
                ]
              : []),
          ],
        },
      },
    });

    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Pinned to nodejs22.x on purpose: the project runs on Node 20 and 22 APIs only (COMMON.md).',
    });
  }
}
