/**
 * The price catalog (profiles/catalog.json): EC2 instance types and Lambda prices, with the
 * date and source of every price. One file, so a price refresh is one diff.
 *
 * CONTRACT: other modules code against this schema; change it only compatibly.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Spot Instance Advisor's bands of "frequency of interruption" (share reclaimed in a month). */
export const SPOT_INTERRUPTION_BANDS = ['<5%', '5-10%', '10-15%', '15-20%', '>20%'] as const;
export type SpotInterruptionBand = (typeof SPOT_INTERRUPTION_BANDS)[number];
/** Upper end of each band, per month (">20%" is open: read as 30 %, an assumption). */
const BAND_UPPER_PER_MONTH: Record<SpotInterruptionBand, number> = { '<5%': 0.05, '5-10%': 0.1, '10-15%': 0.15, '15-20%': 0.2, '>20%': 0.3 };
/** Hours in the Advisor's month (365 x 24 / 12). */
const HOURS_PER_MONTH = 730;

export const InstanceTypeSchema = z.strictObject({
  name: z.string(),
  vcpu: z.number().int().positive(),
  memoryGib: z.number().positive(),
  arch: z.enum(['x86_64', 'arm64']),
  pricePerHourUsd: z.number().positive(),
  /** Prior for request -> server ready; the controller replaces it with what it observes. */
  typicalBootDelayMs: z.number().int().positive(),
  /**
   * The Spot market for this type, when the catalog has a snapshot of it (date and source in
   * ec2.spot). Planned as its own type `${name}:spot` (withSpotTypes).
   */
  spot: z
    .strictObject({
      /** Spot price per AZ (a pool is one type in one AZ; a reclaim hits one pool). */
      pricePerHourUsdByAz: z.record(z.string().min(1), z.number().positive()).refine((r) => Object.keys(r).length > 0, 'at least one AZ'),
      /** Spot Instance Advisor's frequency-of-interruption band (reclaimed share per month). */
      interruptionBand: z.enum(SPOT_INTERRUPTION_BANDS),
      /** Configured reclaims per instance-hour; replaces the band's figure when set. */
      interruptionsPerHour: z.number().nonnegative().optional(),
    })
    .optional(),
  /** Set on the derived Spot types only (withSpotTypes): the on-demand type it is a market of. */
  spotOf: z.string().optional(),
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
    /** Date and source of the Spot snapshot in the types' `spot` fields. */
    spot: z
      .strictObject({
        priceDate: z.string().min(1),
        source: z.string().min(1),
        interruptionSource: z.string().min(1),
        /** Notice EC2 gives before it reclaims a Spot instance (two minutes). */
        noticeMs: z.number().int().positive(),
      })
      .optional(),
    instanceTypes: z.array(InstanceTypeSchema).min(1),
  }),
});
export type Catalog = z.infer<typeof CatalogSchema>;

/** `c5.large:spot` is c5.large bought on the Spot market. */
export const SPOT_SUFFIX = ':spot';

/** The EC2 instance type behind a planned type name (`c5.large:spot` -> `c5.large`). */
export function ec2TypeOf(name: string): string {
  return name.endsWith(SPOT_SUFFIX) ? name.slice(0, -SPOT_SUFFIX.length) : name;
}

export function isSpotType(name: string): boolean {
  return name.endsWith(SPOT_SUFFIX);
}

/** Spot notice (ms): the catalog's, else EC2's documented two minutes. */
export function spotNoticeMs(catalog: Catalog): number {
  return catalog.ec2.spot?.noticeMs ?? 120_000;
}

/**
 * Expected reclaims per instance-hour of a type's Spot market: the configured figure, else the
 * upper end of its Advisor band over a 730 h month. "5-10%" -> 0.10 / 730 = 0.000137/h, i.e. one
 * reclaim in ~7,300 instance-hours (a 10-VM fleet: one a month).
 */
export function spotInterruptionsPerHour(t: InstanceType): number {
  if (!t.spot) return 0;
  return t.spot.interruptionsPerHour ?? BAND_UPPER_PER_MONTH[t.spot.interruptionBand] / HOURS_PER_MONTH;
}

/** The AZs a type's Spot market is priced in (its pools), sorted. */
export function spotAzs(t: InstanceType): string[] {
  return t.spot ? Object.keys(t.spot.pricePerHourUsdByAz).sort() : [];
}

/**
 * The catalog with one more instance type per Spot snapshot: `${name}:spot` at the MEAN of its
 * per-AZ Spot prices (the world bills each VM at its own AZ's price), with `spotOf` set. Everything
 * that plans, routes and bills by type name then handles Spot VMs unchanged; the worlds (simulator,
 * EC2 adapter) read `spotOf` to buy and reclaim them. Idempotent.
 */
export function withSpotTypes(catalog: Catalog): Catalog {
  const extra: InstanceType[] = [];
  for (const t of catalog.ec2.instanceTypes) {
    if (!t.spot || t.spotOf || catalog.ec2.instanceTypes.some((x) => x.name === `${t.name}${SPOT_SUFFIX}`)) continue;
    const prices = Object.values(t.spot.pricePerHourUsdByAz);
    const mean = prices.reduce((a, b) => a + b, 0) / prices.length;
    extra.push({ ...t, name: `${t.name}${SPOT_SUFFIX}`, pricePerHourUsd: Number(mean.toPrecision(4)), spotOf: t.name });
  }
  return extra.length === 0 ? catalog : { ...catalog, ec2: { ...catalog.ec2, instanceTypes: [...catalog.ec2.instanceTypes, ...extra] } };
}

export const DEFAULT_CATALOG_PATH = fileURLToPath(new URL('./catalog.json', import.meta.url));

/** Reads and validates a catalog file; throws with the zod issue list on a bad file. */
export function loadCatalog(path: string = DEFAULT_CATALOG_PATH): Catalog {
  return CatalogSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

// Prices and sizes are turned into dollars and vCPUs in one place: profiles/pricing.ts.
