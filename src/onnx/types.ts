/**
 * The part of ONNX's protobuf messages that peir reads, as the plain objects
 * src/onnx/schema.ts produces (protobufjs `toObject` with `longs: String`,
 * `arrays: true`, `defaults: false`): field names as in onnx.proto, absent
 * optional fields undefined, repeated fields always arrays, int64 values as
 * decimal strings (exact; src/onnx/tensor.ts turns them into checked numbers),
 * bytes as Uint8Array.
 */

/** TensorProto.DataType. */
export const OnnxDataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
} as const;

/** AttributeProto.AttributeType. */
export const OnnxAttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

/** TensorProto.DataLocation. */
export const OnnxDataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;

export interface OnnxStringEntry {
  key?: string;
  value?: string;
}

export interface OnnxTensor {
  dims: string[];
  data_type?: number;
  name?: string;
  float_data: number[];
  int32_data: number[];
  int64_data: string[];
  double_data: number[];
  uint64_data: string[];
  string_data: Uint8Array[];
  raw_data?: Uint8Array;
  data_location?: number;
  external_data: OnnxStringEntry[];
}

export interface OnnxSparseTensor {
  values?: OnnxTensor;
  indices?: OnnxTensor;
  dims: string[];
}

export interface OnnxDim {
  dim_value?: string;
  dim_param?: string;
}

export interface OnnxTypeProto {
  tensor_type?: { elem_type?: number; shape?: { dim: OnnxDim[] } };
}

export interface OnnxValueInfo {
  name?: string;
  type?: OnnxTypeProto;
}

export interface OnnxAttribute {
  name?: string;
  type?: number;
  ref_attr_name?: string;
  f?: number;
  i?: string;
  s?: Uint8Array;
  t?: OnnxTensor;
  g?: OnnxGraph;
  floats: number[];
  ints: string[];
  strings: Uint8Array[];
  tensors: OnnxTensor[];
  graphs: OnnxGraph[];
}

export interface OnnxNode {
  input: string[];
  output: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute: OnnxAttribute[];
}

export interface OnnxGraph {
  name?: string;
  node: OnnxNode[];
  initializer: OnnxTensor[];
  sparse_initializer: OnnxSparseTensor[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
  value_info: OnnxValueInfo[];
}

export interface OnnxOpsetId {
  domain?: string;
  version?: string;
}

export interface OnnxFunction {
  name?: string;
  domain?: string;
  node: OnnxNode[];
}

export interface OnnxModel {
  ir_version?: string;
  opset_import: OnnxOpsetId[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: string;
  doc_string?: string;
  graph?: OnnxGraph;
  functions: OnnxFunction[];
}
