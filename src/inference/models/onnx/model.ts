import protobuf from 'protobufjs';
import { RadiolensError } from '../../../foundation/core/index.js';
import { FIELD, ModelProtoType, TensorProtoType } from './proto.js';

/** TensorProto.DataType values we handle (onnx.proto). */
export const OnnxDataType = { FLOAT: 1, INT32: 6, INT64: 7, DOUBLE: 11 } as const;

/** AttributeProto.AttributeType values (onnx.proto). */
export const OnnxAttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  FLOATS: 6,
  INTS: 7,
} as const;

/**
 * Plain-object views of the ONNX messages (camelCase field names as protobufjs gives them).
 * int64 fields are JavaScript numbers: every int64 in a model we handle (dims, attributes,
 * opset versions) is far below 2^53.
 */
export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  rawData?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  doubleData?: number[];
  dataLocation?: number;
}

export interface OnnxAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensor;
  floats?: number[];
  ints?: number[];
}

export interface OnnxNode {
  name?: string;
  opType: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute?: OnnxAttribute[];
}

export interface OnnxDimension {
  dimValue?: number;
  dimParam?: string;
}

export interface OnnxValueInfo {
  name: string;
  type?: { tensorType?: { elemType: number; shape?: { dim?: OnnxDimension[] } } };
}

export interface OnnxGraph {
  name?: string;
  node: OnnxNode[];
  initializer: OnnxTensor[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
  valueInfo?: OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  opsetImport: { domain?: string; version: number }[];
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  graph: OnnxGraph;
}

const toObjectOptions: protobuf.IConversionOptions = { longs: Number, arrays: true };

/** Decode ONNX ModelProto bytes. Fields outside the modelled subset are dropped. */
export function readOnnxModel(bytes: Uint8Array, source = 'model.onnx'): OnnxModel {
  let decoded: protobuf.Message;
  try {
    decoded = ModelProtoType.decode(bytes);
  } catch (error) {
    throw new RadiolensError(
      'E_MODEL_RUNTIME',
      `${source} is not a readable ONNX ModelProto (${(error as Error).message}) — re-export the model as ONNX`,
      { subject: source, cause: error },
    );
  }
  const model = ModelProtoType.toObject(decoded, toObjectOptions) as Partial<OnnxModel>;
  if (model.graph === undefined) {
    throw new RadiolensError(
      'E_MODEL_RUNTIME',
      `${source} has no graph — it is not an ONNX model`,
      { subject: source },
    );
  }
  const graph = model.graph as Partial<OnnxGraph>;
  return {
    ...model,
    irVersion: model.irVersion ?? 0,
    opsetImport: model.opsetImport ?? [],
    graph: {
      ...graph,
      node: graph.node ?? [],
      initializer: graph.initializer ?? [],
      input: graph.input ?? [],
      output: graph.output ?? [],
    },
  } as OnnxModel;
}

/** Encode a model as ONNX ModelProto bytes. */
export function writeOnnxModel(model: OnnxModel): Uint8Array {
  const message = ModelProtoType.fromObject(model as unknown as Record<string, unknown>);
  return ModelProtoType.encode(message).finish();
}

/** A FLOAT tensor stored as little-endian raw_data, the compact form exporters write. */
export function floatTensor(name: string, dims: readonly number[], data: Float32Array): OnnxTensor {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== data.length) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `tensor ${name}: dims [${dims.join(',')}] need ${expected} values, got ${data.length}`,
    );
  }
  return {
    name,
    dims: [...dims],
    dataType: OnnxDataType.FLOAT,
    rawData: float32ToLittleEndian(data),
  };
}

/** An INT64 tensor (shapes, axes), stored as int64_data. */
export function int64Tensor(name: string, dims: readonly number[], data: readonly number[]): OnnxTensor {
  return { name, dims: [...dims], dataType: OnnxDataType.INT64, int64Data: [...data] };
}

export interface FloatInitializer {
  name: string;
  dims: number[];
  data: Float32Array;
}

/** The values of one FLOAT initializer, from model bytes or a decoded model. */
export function readInitializer(model: Uint8Array | OnnxModel, name: string): FloatInitializer {
  const decoded = model instanceof Uint8Array ? readOnnxModel(model) : model;
  const tensor = decoded.graph.initializer.find((t) => t.name === name);
  if (tensor === undefined) {
    const names = decoded.graph.initializer.map((t) => t.name);
    throw new RadiolensError(
      'E_MODEL_RUNTIME',
      `the ONNX graph has no initializer named "${name}" (it has ${names.length}: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''}) — fix the manifest's explanation.headWeight/headBias`,
      { subject: name },
    );
  }
  return { name, dims: [...tensor.dims], data: tensorToFloat32(tensor) };
}

/** The numbers of a FLOAT tensor, whichever of raw_data / float_data holds them. */
export function tensorToFloat32(tensor: OnnxTensor): Float32Array {
  if (tensor.dataType !== OnnxDataType.FLOAT) {
    throw new RadiolensError(
      'E_MODEL_RUNTIME',
      `initializer ${tensor.name} has ONNX data type ${tensor.dataType}, expected FLOAT (1)`,
      { subject: tensor.name },
    );
  }
  if (tensor.dataLocation === 1) {
    throw new RadiolensError(
      'E_MODEL_RUNTIME',
      `initializer ${tensor.name} is stored as external data — re-export the model with weights embedded`,
      { subject: tensor.name },
    );
  }
  const count = tensor.dims.reduce((a, b) => a * b, 1);
  let out: Float32Array;
  if (tensor.rawData !== undefined && tensor.rawData.length > 0) {
    out = littleEndianToFloat32(tensor.rawData);
  } else {
    out = Float32Array.from(tensor.floatData ?? []);
  }
  if (out.length !== count) {
    throw new RadiolensError(
      'E_MODEL_RUNTIME',
      `initializer ${tensor.name} holds ${out.length} values but its dims [${tensor.dims.join(',')}] need ${count}`,
      { subject: tensor.name },
    );
  }
  return out;
}

/** A replacement: same-shaped values, or values with new dims (e.g. a head for more labels). */
export type InitializerReplacement = Float32Array | { dims: readonly number[]; data: Float32Array };

/**
 * Replace the values of named FLOAT initializers and return new model bytes. Every other byte
 * of the model — including fields this reader does not model (functions, training info,
 * metadata) — is copied verbatim, so a fine-tuned head never silently drops parts of the graph.
 */
export function replaceInitializers(
  modelBytes: Uint8Array,
  replacements: Readonly<Record<string, InitializerReplacement>>,
): Uint8Array {
  const pending = new Set(Object.keys(replacements));
  const out = spliceField(modelBytes, FIELD.modelGraph, (graphBytes) =>
    spliceField(graphBytes, FIELD.graphInitializer, (tensorBytes) => {
      const tensor = TensorProtoType.toObject(
        TensorProtoType.decode(tensorBytes),
        toObjectOptions,
      ) as OnnxTensor;
      const replacement = replacements[tensor.name];
      if (replacement === undefined) return tensorBytes;
      pending.delete(tensor.name);
      const data = replacement instanceof Float32Array ? replacement : replacement.data;
      const dims = replacement instanceof Float32Array ? (tensor.dims ?? []) : replacement.dims;
      if (tensor.dataType !== OnnxDataType.FLOAT) {
        throw new RadiolensError(
          'E_BAD_INPUT',
          `initializer ${tensor.name} is not FLOAT (data type ${tensor.dataType}); only FLOAT initializers can be replaced`,
          { subject: tensor.name },
        );
      }
      const replaced = { ...floatTensor(tensor.name, dims, data), docString: undefined };
      return TensorProtoType.encode(TensorProtoType.fromObject(replaced)).finish();
    }),
  );
  if (pending.size > 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `no initializer named ${[...pending].join(', ')} in the model — check the names (readOnnxModel lists them)`,
    );
  }
  return out;
}

/**
 * Copy a protobuf message, passing every occurrence of the length-delimited field `field`
 * through `edit` and keeping all other fields byte-for-byte.
 */
function spliceField(
  bytes: Uint8Array,
  field: number,
  edit: (payload: Uint8Array) => Uint8Array,
): Uint8Array {
  const reader = protobuf.Reader.create(bytes);
  const pieces: Uint8Array[] = [];
  let copyFrom = 0;
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    const wireType = tag & 7;
    if (tag >>> 3 === field && wireType === 2) {
      const payload = reader.bytes();
      pieces.push(bytes.subarray(copyFrom, start));
      const edited = edit(payload);
      const header = protobuf.Writer.create().uint32(tag).uint32(edited.length).finish();
      pieces.push(header, edited);
      copyFrom = reader.pos;
    } else {
      reader.skipType(wireType);
    }
  }
  pieces.push(bytes.subarray(copyFrom));
  return Buffer.concat(pieces);
}

function float32ToLittleEndian(data: Float32Array): Uint8Array {
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return bytes;
}

function littleEndianToFloat32(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(Math.floor(bytes.byteLength / 4));
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
