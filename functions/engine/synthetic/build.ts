/** Synthetic ONNX builder (in progress). */
export function buildSyntheticModel(recipe: string, _seed: number): { bytes: Uint8Array; gflops: number } {
  throw new Error(`synthetic builder not available yet for recipe ${recipe}`);
}
