/**
 * Model output -> per-item class scores -> top-k predictions. Output kinds: 'logits' (softmax
 * here), 'probabilities' (as is), 'uint8-probabilities' (value/255: 255 -> 1.0). classOffset
 * skips leading non-class outputs: MobileNetV1 has 1001 outputs with 'background' at 0, so
 * ImageNet class i is output i+1.
 */
import { fromHalfBits } from './float16.js';
import type { Prediction } from './protocol.js';
import type { ModelVariant } from './registry-schema.js';

/** Class scores for item `item` of a batched output whose per-item stride is `stride`. */
export function classScores(
  data: ArrayLike<number | bigint>,
  item: number,
  stride: number,
  variant: ModelVariant,
): Float64Array {
  const { kind, classOffset, numClasses } = variant.output;
  const half = variant.output.dtype === 'float16' && data instanceof Uint16Array;
  const base = item * stride;
  const raw = new Float64Array(stride);
  for (let i = 0; i < stride; i++) {
    const v = Number(data[base + i]!);
    raw[i] = half ? fromHalfBits(v) : v;
  }
  if (kind === 'logits') {
    // Softmax over all outputs, max-subtracted so exp never overflows (logit 1000 -> exp(0)).
    let max = Number.NEGATIVE_INFINITY;
    for (const v of raw) if (v > max) max = v;
    let sum = 0;
    for (let i = 0; i < stride; i++) {
      raw[i] = Math.exp(raw[i]! - max);
      sum += raw[i]!;
    }
    for (let i = 0; i < stride; i++) raw[i] = raw[i]! / sum;
  } else if (kind === 'uint8-probabilities') {
    for (let i = 0; i < stride; i++) raw[i] = raw[i]! / 255;
  }
  return raw.subarray(classOffset, classOffset + numClasses);
}

/** Top-k of class scores, best first; ties broken by lower class index. */
export function topK(
  scores: ArrayLike<number>,
  k: number,
  labels: readonly string[] | undefined,
): Prediction[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return idx.slice(0, Math.min(k, scores.length)).map((i) => ({
    index: i,
    label: labels?.[i] ?? `class ${i}`,
    score: scores[i]!,
  }));
}

/** Parse a label file: one class per line, 'wnid name' (n01440764 tench, Tinca tinca) or just 'name'. */
export function parseLabels(text: string): string[] {
  return text
    .replace(/\s+$/, '')
    .split(/\r?\n/)
    .map((l) => {
      const m = /^n\d{8}\s+(.*)$/.exec(l.trim());
      return (m ? m[1]! : l).trim();
    });
}
