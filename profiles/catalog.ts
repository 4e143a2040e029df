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
  /**
   * The Spot market for this type, when the catalog has a snapshot of it: the price and how often
   * AWS takes an instance back. Planned as its own type `${name}:spot` (withSpotTypes).
   */
  spot: z
    .strictObject({
      pricePerHourUsd: z.number().positive(),
      /** Expected reclaims per instance-hour (Spot Advisor's monthly band / 730 h, or configured). */
      interruptionsPerHour: z.number().nonnegative(),
      /** Where the figure comes from, e.g. "Spot Advisor band <5 %/month, upper end". */
      source: z.string().min(1),
    })
    .optional(),
  /** Set on the derived Spot types only: the on-demand type it is a market of. */
  spotOf: z.string().optional(),
});
export type InstanceType = z.infer<typeof InstanceTypeSchema>;

/** `c5.large:spot` is c5.large bought on the Spot market. */
export const SPOT_SUFFIX = ':spot';

/** The EC2 instance type behind a planned type name (`c5.large:spot` -> `c5.large`). */
export function ec2TypeOf(name: string): string {
  return name.endsWith(SPOT_SUFFIX) ? name.slice(0, -SPOT_SUFFIX.length) : name;
}

export function isSpotType(name: string): boolean {
  return name.endsWith(SPOT_SUFFIX);
}

/**
 * The catalog with one more instance type per Spot snapshot: `${name}:spot` at the Spot price,
 * with `spotOf` set. Everything that plans, routes and bills by type name then handles Spot VMs
 * unchanged; the worlds (simulator, EC2 adapter) read `spotOf` to buy and reclaim them.
 */
export function withSpotTypes(catalog: Catalog): Catalog {
  const extra: InstanceType[] = [];
  for (const t of catalog.ec2.instanceTypes) {
    if (!t.spot || t.spotOf || catalog.ec2.instanceTypes.some((x) => x.name === `${t.name}${SPOT_SUFFIX}`)) continue;
    const { spot, ...base } = t;
    extra.push({ ...base, name: `${t.name}${SPOT_SUFFIX}`, pricePerHourUsd: spot.pricePerHourUsd, spotOf: t.name, spot });
  }
  return extra.length === 0 ? catalog : { ...catalog, ec2: { ...catalog.ec2, instanceTypes: [...catalog.ec2.instanceTypes, ...extra] } };
}

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
    /** Date and source of the Spot snapshot in the types' `spot` fields. */
    spotPriceDate: z.string().optional(),
    spotSource: z.string().optional(),
    /** Notice EC2 gives before it reclaims a Spot instance (two minutes). */
    spotNoticeMs: z.number().int().positive().default(120_000),
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
