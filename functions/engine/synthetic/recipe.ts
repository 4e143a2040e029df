/**
 * Synthetic model recipes: 'resnet<depth>[-w<width>][-s<size>]', e.g. 'resnet50' (torchvision
 * ResNet-50 layer structure at 224x224) or 'resnet18-w0.25-s112' (ResNet-18 with a quarter of the
 * channels at 112x112: about 1/64 of ResNet-18's compute).
 */
export type BlockKind = 'basic' | 'bottleneck';

export interface ResnetRecipe {
  family: 'resnet';
  depth: number;
  block: BlockKind;
  /** Blocks per stage (torchvision): 18 -> [2,2,2,2], 50 -> [3,4,6,3]. */
  stages: readonly number[];
  widthMultiplier: number;
  /** Input side S: the model takes [N,3,S,S]. */
  size: number;
  numClasses: number;
}

const DEPTHS: Record<number, { block: BlockKind; stages: number[] }> = {
  18: { block: 'basic', stages: [2, 2, 2, 2] },
  34: { block: 'basic', stages: [3, 4, 6, 3] },
  50: { block: 'bottleneck', stages: [3, 4, 6, 3] },
  101: { block: 'bottleneck', stages: [3, 4, 23, 3] },
  152: { block: 'bottleneck', stages: [3, 8, 36, 3] },
};

export function parseRecipe(recipe: string): ResnetRecipe {
  const m = /^resnet(\d+)(?:-w(\d+(?:\.\d+)?))?(?:-s(\d+))?$/.exec(recipe);
  const spec = m ? DEPTHS[Number(m[1])] : undefined;
  if (!m || !spec) {
    throw new Error(
      `unknown synthetic recipe '${recipe}'; expected resnet<18|34|50|101|152>[-w<width>][-s<size>], e.g. 'resnet18-w0.25-s112'`,
    );
  }
  const widthMultiplier = m[2] ? Number(m[2]) : 1;
  const size = m[3] ? Number(m[3]) : 224;
  if (!(widthMultiplier > 0 && widthMultiplier <= 4))
    throw new Error(`recipe '${recipe}': width must be in (0, 4]`);
  // The stem divides by 4 and the stages by 8 more: 32 keeps every feature map >= 1x1.
  if (size < 32 || size > 1024) throw new Error(`recipe '${recipe}': size must be 32..1024`);
  return { family: 'resnet', depth: Number(m[1]), ...spec, widthMultiplier, size, numClasses: 1000 };
}

/** Channels after the width multiplier, at least 8 (ResNet stage widths 64,128,256,512). */
export function scaledChannels(c: number, w: number): number {
  return Math.max(8, Math.round(c * w));
}
