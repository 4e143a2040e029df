/**
 * Which models a policy served, as one short table cell: comparing dollars means little unless
 * the rows answered with the same models, so the table shows the mix beside the accuracy.
 */
import type { ClairvoyantResult } from './clairvoyant.js';

/** Variants shown by name; the rest are summed into "+N more". */
const MAX_NAMED = 3;

/** "a 71 %, b 29 %" (largest share first); "-" when nothing was served. */
export function describeModelMix(servedByVariant: Readonly<Record<string, number>>): string {
  const entries = Object.entries(servedByVariant).filter(([, n]) => n > 0);
  const total = entries.reduce((a, [, n]) => a + n, 0);
  if (total === 0) return '-';
  entries.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const pct = (n: number) => {
    const p = (100 * n) / total;
    return p >= 99.95 ? '100 %' : p < 1 ? '<1 %' : `${p.toFixed(0)} %`;
  };
  const named = entries.slice(0, MAX_NAMED).map(([name, n]) => `${name} ${pct(n)}`);
  const rest = entries.slice(MAX_NAMED);
  if (rest.length > 0) named.push(`+${rest.length} more ${pct(rest.reduce((a, [, n]) => a + n, 0))}`);
  return named.join(', ');
}

/** The bound's models: the VM variant(s) it sized with and its Lambda variant. */
export function clairvoyantMix(c: ClairvoyantResult | null): string {
  if (!c) return '-';
  const where = new Map<string, string[]>();
  for (const v of new Set(c.vmOptions.map((o) => o.variant))) where.set(v, ['VM']);
  if (c.lambda) where.set(c.lambda.variant, [...(where.get(c.lambda.variant) ?? []), 'Lambda']);
  return where.size > 0 ? [...where].map(([v, w]) => `${v} (${w.join(' + ')})`).join(', ') : '-';
}
