/**
 * Shared helpers for the e2e tests: a small in-process stack (real local Lambda runtime, real VM
 * server processes, real policy) and an OpenAPI validator built from the served /openapi.json.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import pino from 'pino';
import { sharedDir } from '../../functions/engine/registry.js';
import { loadCatalog } from '../../profiles/catalog.js';
import { type LocalConfigInput, parseAppConfig } from '../../controller/app-config.js';
import { type Stack, startStack } from '../../controller/server/stack.js';

const shared = sharedDir();
export const HAS_SHARED_MODELS = !!shared && existsSync(join(shared, 'models', 'mobilenet_v1_0.5_128_quant.onnx'));
export const AZURE_CODE_TRACE = shared ? join(shared, 'traces', 'azure_llm_code_2023-11-16_1s.csv') : undefined;
export const HAS_AZURE_TRACE = !!AZURE_CODE_TRACE && existsSync(AZURE_CODE_TRACE);

/** Smallest variant available: the real MobileNetV1 0.5@128 (~1.4 ms) or the tiny synthetic ResNet-18. */
export const SMALL_VARIANT = HAS_SHARED_MODELS ? 'mobilenet-v1-050-128-quant' : 'resnet18-w025-s112-synthetic';

export async function startTestStack(overrides: LocalConfigInput = {}): Promise<Stack> {
  const config = parseAppConfig({
    port: 0,
    host: '127.0.0.1',
    sloMs: 2_000,
    tickIntervalMs: 500,
    vmBootDelayMs: 3_000,
    maxVms: 2,
    lambdaKeepAliveMs: 10_000,
    lambdaConcurrency: 4,
    variants: [SMALL_VARIANT],
    backendTimeoutMs: 20_000,
    logLevel: 'silent',
    ...overrides,
  });
  return startStack(config, { log: pino({ level: process.env['E2E_LOG'] ?? 'silent' }) });
}

export interface JsonAnswer {
  status: number;
  headers: Headers;
  body: unknown;
}

export async function call(
  url: string,
  path: string,
  init: { method?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<JsonAnswer> {
  const res = await fetch(new URL(path, url), {
    method: init.method ?? (init.body !== undefined || init.rawBody !== undefined ? 'POST' : 'GET'),
    headers: { 'content-type': 'application/json', ...init.headers },
    ...(init.rawBody !== undefined ? { body: init.rawBody } : init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // non-JSON (metrics)
  }
  return { status: res.status, headers: res.headers, body };
}

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is walked by path strings here
type OpenApiDoc = Record<string, any>;

/** Validates answers against the response schemas of the served OpenAPI document. */
export class OpenApiChecker {
  private readonly ajv: Ajv2020;
  constructor(private readonly doc: OpenApiDoc) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    // ajv-formats is CommonJS: under NodeNext the plugin is the module itself or its `default`.
    const plugin = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv2020) => void;
    plugin(this.ajv);
    this.ajv.addSchema({ $id: 'spillway', components: doc.components }, 'spillway');
  }

  private schemaFor(ref: string): unknown {
    return { $ref: `spillway#/components/schemas/${ref.split('/').pop()}` };
  }

  /** Throws with ajv's errors if `body` does not match the documented schema of path/method/status. */
  check(pathTemplate: string, method: string, status: number, body: unknown): void {
    const op = this.doc.paths[pathTemplate]?.[method.toLowerCase()];
    if (!op) throw new Error(`no operation ${method} ${pathTemplate} in the document`);
    const resp = op.responses[String(status)];
    if (!resp) throw new Error(`status ${status} is not documented for ${method} ${pathTemplate}`);
    const ref = resp.content?.['application/json']?.schema?.$ref as string | undefined;
    if (!ref) return;
    const validate = this.ajv.compile(this.schemaFor(ref) as object);
    if (!validate(body)) {
      throw new Error(`${method} ${pathTemplate} ${status} does not match ${ref}: ${this.ajv.errorsText(validate.errors)}`);
    }
  }

  /** Validates a request body against the documented request schema. */
  checkRequest(pathTemplate: string, method: string, body: unknown): boolean {
    const op = this.doc.paths[pathTemplate]?.[method.toLowerCase()];
    const ref = op?.requestBody?.content?.['application/json']?.schema?.$ref as string;
    const validate = this.ajv.compile(this.schemaFor(ref) as object);
    return validate(body) as boolean;
  }
}

/**
 * A price catalog in which Lambda costs 20x its list price, so VMs win at the few tens of rps a
 * 2-core test machine can drive. The burst test checks the MECHANISM (Lambda covers the boot gap,
 * VMs get launched, the Lambda share falls); with list prices the planner rightly keeps a tiny
 * model on Lambda at that rate (e.g. resnet18-w025-s112 at 1,769 MB: ~4e-7 $/request, so a
 * $0.085/h c5.large only pays off above ~59 rps). The economics are tested in test/core.
 */
export function writeVmFavouringCatalog(): string {
  const catalog = loadCatalog();
  const expensive = {
    ...catalog,
    source: `${catalog.source} [TEST: Lambda prices x20 so that VMs win at test rates]`,
    lambda: {
      ...catalog.lambda,
      x86PricePerGbSecondUsd: catalog.lambda.x86PricePerGbSecondUsd * 20,
      arm64PricePerGbSecondUsd: catalog.lambda.arm64PricePerGbSecondUsd * 20,
      pricePerMillionRequestsUsd: catalog.lambda.pricePerMillionRequestsUsd * 20,
    },
  };
  const dir = mkdtempSync(join(tmpdir(), 'spillway-catalog-'));
  const path = join(dir, 'catalog.json');
  writeFileSync(path, JSON.stringify(expensive, null, 2));
  return path;
}
