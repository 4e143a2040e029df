/**
 * Tiny ONNX graphs written with onnx-proto, for testing what `spillway models add` refuses
 * (two inputs, int64 input, symbolic non-batch dims). Each is a single Identity/Add node.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { onnx as OnnxNs } from 'onnx-proto';

const require = createRequire(import.meta.url);
const { onnx } = require('onnx-proto') as { onnx: typeof OnnxNs };

export interface TensorSpec {
  name: string;
  type: 'float32' | 'int64';
  /** number = fixed, string = symbolic */
  dims: Array<number | string>;
}

function valueInfo(t: TensorSpec): OnnxNs.IValueInfoProto {
  return {
    name: t.name,
    type: {
      tensorType: {
        elemType: t.type === 'float32' ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
        shape: { dim: t.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** One Add node when there are two inputs, else Identity; output named 'y'. */
export function writeTinyModel(path: string, inputs: TensorSpec[], output: TensorSpec): void {
  const node: OnnxNs.INodeProto =
    inputs.length === 2
      ? { opType: 'Add', input: [inputs[0]!.name, inputs[1]!.name], output: [output.name], name: 'add' }
      : { opType: 'Identity', input: [inputs[0]!.name], output: [output.name], name: 'id' };
  const model: OnnxNs.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'spillway-test',
    graph: { name: 'tiny', node: [node], input: inputs.map(valueInfo), output: [valueInfo(output)] },
  };
  writeFileSync(path, onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish());
}
