/**
 * The price catalog (profiles/catalog.json): EC2 instance types and Lambda prices, with the
 * date and source of every price. One file, so a price refresh is one diff.
 *
 * CONTRACT: other modules code against this schema; change it only compatibly.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const InstanceTypeSchema = z.strictObject({
  name: z.string(),
  vcpu: z.number().int().positive(),
  memoryGib: z.number().positive(),
  arch: z.enum(['x86_64', 'arm64']),
  pricePerHourUsd: z.number().positive(),
  /** Prior for request -> server ready; the controller replaces it with what it observes. */
  typicalBootDelayMs: z.number().int().positive(),
});
export type InstanceType = z.infer<typeof InstanceTypeSchema>;

export const CatalogSchema = z.strictObject({
  schemaVersion: z.literal(1),
  region: z.string(),
  priceDate: z.string(),
  source: z.string(),
  lambda: z.strictObject({
    x86PricePerGbSecondUsd: z.number().positive(),
    arm64PricePerGbSecondUsd: z.number().positive(),
    pricePerMillionRequestsUsd: z.number().nonnegative(),
    billingGranularityMs: z.number().int().positive(),
    memoryMbPerVcpu: z.number().positive(),
    maxVcpu: z.number().positive(),
    minMemoryMb: z.number().int().positive(),
    maxMemoryMb: z.number().int().positive(),
    memoryOptionsMb: z.array(z.number().int().positive()).min(1),
    accountConcurrencyLimit: z.number().int().positive(),
    keepAliveMs: z.number().int().positive(),
    runtimeInitMs: z.number().nonnegative(),
  }),
  ec2: z.strictObject({
    billingMinimumSeconds: z.number().int().nonnegative(),
    instanceTypes: z.array(InstanceTypeSchema).min(1),
  }),
});
export type Catalog = z.infer<typeof CatalogSchema>;

export const DEFAULT_CATALOG_PATH = fileURLToPath(new URL('./catalog.json', import.meta.url));

/** Reads and validates a catalog file; throws with the zod issue list on a bad file. */
export function loadCatalog(path: string = DEFAULT_CATALOG_PATH): Catalog {
  return CatalogSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

// Prices and sizes are turned into dollars and vCPUs in one place: profiles/pricing.ts.
