/**
 * Builds architecture-faithful ResNets with seeded random weights as ONNX (opset 17, IR 8), so
 * latency and memory are real while predictions are not. Batch norm is folded into conv biases,
 * as an exported inference graph would have it: Conv(+bias) -> Relu, residual Add, then
 * GlobalAveragePool -> Flatten -> Gemm to 1000 logits. Input 'input' float32 [N,3,S,S] (N symbolic),
 * output 'logits' [N,1000].
 *
 * Weights: He-uniform (bound sqrt(6/fan_in)) keeps each conv's output variance near its input's.
 * A plain residual sum would still double the variance per block (2^16 = 65,536x over ResNet-50's 16
 * blocks), so the last conv of each residual branch is scaled by 0.2 (Fixup-style): growth is then
 * (1 + 0.04)^16 = 1.9x and activations stay finite and far from float32 denormals.
 */
import { createRequire } from 'node:module';
import type { onnx as OnnxNs } from 'onnx-proto';
import { fillUniform, mulberry32 } from './prng.js';
import { parseRecipe, type ResnetRecipe, scaledChannels } from './recipe.js';

const require = createRequire(import.meta.url);
// onnx-proto is CommonJS; load it through require so both tsx and bundlers see one module instance.
const { onnx } = require('onnx-proto') as { onnx: typeof OnnxNs };

export interface SyntheticModel {
  bytes: Uint8Array;
  /** GFLOPs per input (multiply-adds x 2, convs + Gemm). */
  gflops: number;
  params: number;
  recipe: ResnetRecipe;
}

const BRANCH_OUT_SCALE = 0.2;

class GraphBuilder {
  readonly nodes: OnnxNs.INodeProto[] = [];
  readonly initializers: OnnxNs.ITensorProto[] = [];
  flops = 0;
  params = 0;
  private n = 0;
  constructor(private readonly rand: () => number) {}

  private name(prefix: string): string {
    this.n += 1;
    return `${prefix}_${this.n}`;
  }

  private weight(name: string, dims: number[], bound: number): string {
    const count = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(count);
    fillUniform(data, bound, this.rand);
    this.params += count;
    this.initializers.push({
      name,
      dims,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  /** Conv with bias; returns [output name, output side]. */
  conv(
    x: string,
    side: number,
    cin: number,
    cout: number,
    k: number,
    stride: number,
    scale = 1,
  ): [string, number] {
    const pad = Math.floor(k / 2);
    const out = Math.floor((side + 2 * pad - k) / stride) + 1;
    const fanIn = cin * k * k;
    const base = this.name('conv');
    const w = this.weight(`${base}.weight`, [cout, cin, k, k], Math.sqrt(6 / fanIn) * scale);
    const b = this.weight(`${base}.bias`, [cout], 0.01);
    const y = `${base}.out`;
    this.nodes.push({
      name: base,
      opType: 'Conv',
      input: [x, w, b],
      output: [y],
      attribute: [
        ints('kernel_shape', [k, k]),
        ints('strides', [stride, stride]),
        ints('pads', [pad, pad, pad, pad]),
        ints('dilations', [1, 1]),
        { name: 'group', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
      ],
    });
    this.flops += 2 * cout * cin * k * k * out * out;
    return [y, out];
  }

  op(opType: string, inputs: string[], attribute: OnnxNs.IAttributeProto[] = []): string {
    const base = this.name(opType.toLowerCase());
    const y = `${base}.out`;
    this.nodes.push({ name: base, opType, input: inputs, output: [y], attribute });
    return y;
  }

  gemm(x: string, fin: number, fout: number, outName: string): string {
    const base = this.name('fc');
    // torch.nn.Linear's default init bound, 1/sqrt(fan_in).
    const w = this.weight(`${base}.weight`, [fout, fin], 1 / Math.sqrt(fin));
    const b = this.weight(`${base}.bias`, [fout], 1 / Math.sqrt(fin));
    this.nodes.push({
      name: base,
      opType: 'Gemm',
      input: [x, w, b],
      output: [outName],
      attribute: [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
    });
    this.flops += 2 * fin * fout;
    return outName;
  }
}

function ints(name: string, v: number[]): OnnxNs.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v };
}

function valueInfo(name: string, dims: (number | string)[]): OnnxNs.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/** One residual block; returns [output, side, channels]. */
function block(
  g: GraphBuilder,
  r: ResnetRecipe,
  x: string,
  side: number,
  cin: number,
  width: number,
  stride: number,
) {
  let y: string;
  let s: number;
  let cout: number;
  if (r.block === 'basic') {
    cout = width;
    [y, s] = g.conv(x, side, cin, width, 3, stride);
    y = g.op('Relu', [y]);
    [y, s] = g.conv(y, s, width, width, 3, 1, BRANCH_OUT_SCALE);
  } else {
    // torchvision v1.5 bottleneck: stride on the 3x3 conv.
    cout = width * 4;
    [y, s] = g.conv(x, side, cin, width, 1, 1);
    y = g.op('Relu', [y]);
    [y, s] = g.conv(y, s, width, width, 3, stride);
    y = g.op('Relu', [y]);
    [y, s] = g.conv(y, s, width, cout, 1, 1, BRANCH_OUT_SCALE);
  }
  let shortcut = x;
  if (stride !== 1 || cin !== cout) [shortcut] = g.conv(x, side, cin, cout, 1, stride);
  const sum = g.op('Add', [y, shortcut]);
  return [g.op('Relu', [sum]), s, cout] as const;
}

export function buildResnet(r: ResnetRecipe, seed: number): SyntheticModel {
  const g = new GraphBuilder(mulberry32(seed));
  const stem = scaledChannels(64, r.widthMultiplier);
  let [x, side] = g.conv('input', r.size, 3, stem, 7, 2);
  x = g.op('Relu', [x]);
  x = g.op(
    'MaxPool',
    [x],
    [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), ints('pads', [1, 1, 1, 1])],
  );
  side = Math.floor((side + 2 - 3) / 2) + 1;
  let c = stem;
  r.stages.forEach((blocks, stage) => {
    const width = scaledChannels(64 * 2 ** stage, r.widthMultiplier);
    for (let i = 0; i < blocks; i++) {
      const stride = stage > 0 && i === 0 ? 2 : 1;
      const [y, s, cout] = block(g, r, x, side, c, width, stride);
      x = y;
      side = s;
      c = cout;
    }
  });
  x = g.op('GlobalAveragePool', [x]);
  x = g.op('Flatten', [x], [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]);
  g.gemm(x, c, r.numClasses, 'logits');

  const model: OnnxNs.IModelProto = {
    irVersion: 8,
    producerName: 'spillway-synthetic',
    producerVersion: '1',
    docString: `Synthetic ${r.family}${r.depth} (width x${r.widthMultiplier}, ${r.size}x${r.size}) with seeded random weights: real latency and memory, meaningless predictions.`,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: `resnet${r.depth}_synthetic`,
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo('input', ['N', 3, r.size, r.size])],
      output: [valueInfo('logits', ['N', r.numClasses])],
    },
  };
  const bytes = onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  return { bytes, gflops: g.flops / 1e9, params: g.params, recipe: r };
}

export function buildSyntheticModel(recipe: string, seed: number): SyntheticModel {
  return buildResnet(parseRecipe(recipe), seed);
}
