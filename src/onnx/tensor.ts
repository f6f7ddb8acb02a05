/**
 * ONNX TensorProto -> values. A tensor's data lives in one of three places:
 * `raw_data` (little-endian bytes), a typed repeated field (`float_data`,
 * `int64_data`, ...), or an external file (`data_location = EXTERNAL`, read
 * through a caller-supplied reader, so this module stays free of `fs`).
 *
 * Sizes are checked before anything is allocated: every dimension must be a
 * non-negative safe integer, their product at most MAX_TENSOR_ELEMENTS, and
 * the product times the element size must equal the bytes the tensor holds;
 * a model that declares a huge tensor over a few bytes is refused with a
 * ModelFileError naming the file and the tensor, not met with an allocation.
 */
import { ModelFileError } from '../errors.js';
import { f32, type Tensor } from '../tensor.js';
import { OnnxDataLocation, OnnxDataType, type OnnxTensor } from './types.js';

/** 2^30 elements (4 GiB of float32): above any layer peir can run, below typed-array limits. */
export const MAX_TENSOR_ELEMENTS = 2 ** 30;
/** Constant tensors up to this many elements are folded by the shape inference (shapes, axes, pads). */
export const MAX_FOLDED_ELEMENTS = 4096;

/** Bytes per element of the fixed-size types; undefined for strings and unknown codes. */
const ELEMENT_BYTES: Record<number, number> = {
  [OnnxDataType.FLOAT]: 4,
  [OnnxDataType.UINT8]: 1,
  [OnnxDataType.INT8]: 1,
  [OnnxDataType.UINT16]: 2,
  [OnnxDataType.INT16]: 2,
  [OnnxDataType.INT32]: 4,
  [OnnxDataType.INT64]: 8,
  [OnnxDataType.BOOL]: 1,
  [OnnxDataType.FLOAT16]: 2,
  [OnnxDataType.DOUBLE]: 8,
  [OnnxDataType.UINT32]: 4,
  [OnnxDataType.UINT64]: 8,
  [OnnxDataType.COMPLEX64]: 8,
  [OnnxDataType.COMPLEX128]: 16,
  [OnnxDataType.BFLOAT16]: 2,
};

const NAMES = Object.fromEntries(Object.entries(OnnxDataType).map(([k, v]) => [v, k.toLowerCase()])) as Record<number, string>;

export function dataTypeName(code: number | undefined): string {
  return code === undefined ? 'undefined' : (NAMES[code] ?? `unknown type ${code}`);
}

/** Where an external tensor's bytes are: a file relative to the model's folder. */
export interface ExternalRef {
  location: string;
  offset: number;
  /** As declared; undefined: to the end of the file. */
  length: number | undefined;
}

/**
 * Reads `byteLength` bytes of an external tensor. It must refuse locations
 * outside the model's folder (src/onnx/load-node.ts does, for Node).
 */
export type ExternalReader = (ref: ExternalRef, byteLength: number, what: string) => Uint8Array;

/** What tensor decoding needs besides the tensor: the file name for messages, and external data. */
export interface TensorSourceContext {
  file: string;
  readExternal?: ExternalReader;
}

/** A checked int64 (given as a decimal string or number): a safe integer, or a ModelFileError. */
export function safeInt(v: string | number | undefined, what: string, file: string, dflt?: number): number {
  if (v === undefined) {
    if (dflt === undefined) throw new ModelFileError(`${file}: ${what} is missing`);
    return dflt;
  }
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n)) throw new ModelFileError(`${file}: ${what} = ${v} is not an integer peir can represent exactly (|v| < 2^53)`);
  return n;
}

function describe(t: OnnxTensor, what: string): string {
  return `tensor '${t.name ?? ''}' (${what})`;
}

/**
 * The tensor's dims, checked: non-negative safe integers whose product is at
 * most MAX_TENSOR_ELEMENTS.
 */
export function tensorDims(t: OnnxTensor, what: string, file: string): number[] {
  const dims = t.dims.map((d, i) => safeInt(d, `${describe(t, what)} dims[${i}]`, file));
  let n = 1n;
  for (const d of dims) {
    if (d < 0) throw new ModelFileError(`${file}: ${describe(t, what)} has a negative dimension: dims [${t.dims.join(', ')}]`);
    n *= BigInt(d);
  }
  if (n > BigInt(MAX_TENSOR_ELEMENTS)) {
    throw new ModelFileError(
      `${file}: ${describe(t, what)} declares dims [${t.dims.join(', ')}] = ${n} elements, above peir's limit of ` +
        `${MAX_TENSOR_ELEMENTS}; refused before allocating`,
    );
  }
  return dims;
}

function numElementsOf(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function isExternal(t: OnnxTensor): boolean {
  return t.data_location === OnnxDataLocation.EXTERNAL;
}

function externalRef(t: OnnxTensor, what: string, file: string): ExternalRef {
  const entry = (k: string) => t.external_data.find((e) => e.key === k)?.value;
  const location = entry('location');
  if (!location) throw new ModelFileError(`${file}: ${describe(t, what)} is stored externally but names no location`);
  const offset = safeInt(entry('offset'), `${describe(t, what)} external offset`, file, 0);
  const lengthText = entry('length');
  const length = lengthText === undefined ? undefined : safeInt(lengthText, `${describe(t, what)} external length`, file);
  if (offset < 0 || (length !== undefined && length < 0)) {
    throw new ModelFileError(`${file}: ${describe(t, what)} has a negative external offset or length`);
  }
  return { location, offset, length };
}

/** The tensor's bytes when they are raw (raw_data or external), checked against the declared size. */
function rawBytes(t: OnnxTensor, dims: readonly number[], bytesPerElement: number, what: string, ctx: TensorSourceContext): Uint8Array | undefined {
  const byteLength = numElementsOf(dims) * bytesPerElement;
  const declared = `dims [${dims.join(', ')}] (${numElementsOf(dims)} elements of ${dataTypeName(t.data_type)} = ${byteLength} bytes)`;
  if (isExternal(t)) {
    const ref = externalRef(t, what, ctx.file);
    if (ref.length !== undefined && ref.length !== byteLength) {
      throw new ModelFileError(`${ctx.file}: ${describe(t, what)} declares ${declared} but its external data length is ${ref.length} bytes`);
    }
    if (!ctx.readExternal) {
      throw new ModelFileError(`${ctx.file}: ${describe(t, what)} is stored in an external file ('${ref.location}'), which this host cannot read`);
    }
    const bytes = ctx.readExternal(ref, byteLength, `${describe(t, what)}`);
    if (bytes.length !== byteLength) {
      throw new ModelFileError(`${ctx.file}: ${describe(t, what)}: read ${bytes.length} external bytes, expected ${byteLength}`);
    }
    return bytes;
  }
  if (t.raw_data !== undefined && t.raw_data.length > 0) {
    if (t.raw_data.length !== byteLength) {
      throw new ModelFileError(`${ctx.file}: ${describe(t, what)} declares ${declared} but its raw_data holds ${t.raw_data.length} bytes`);
    }
    return t.raw_data;
  }
  return undefined;
}

function typedFieldMismatch(t: OnnxTensor, dims: readonly number[], field: string, got: number, what: string, file: string): ModelFileError {
  return new ModelFileError(
    `${file}: ${describe(t, what)} declares dims [${dims.join(', ')}] (${numElementsOf(dims)} elements) but its ${field} holds ${got} values`,
  );
}

/**
 * A float32 tensor's values (raw_data, float_data or external data). The
 * caller has checked that `data_type` is FLOAT.
 */
export function floatTensor(t: OnnxTensor, what: string, ctx: TensorSourceContext): Tensor {
  if (t.data_type !== OnnxDataType.FLOAT) {
    throw new ModelFileError(`${ctx.file}: ${describe(t, what)} is ${dataTypeName(t.data_type)}, not float32`);
  }
  const dims = tensorDims(t, what, ctx.file);
  const n = numElementsOf(dims);
  const raw = rawBytes(t, dims, 4, what, ctx);
  if (raw) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
    return f32(dims, out);
  }
  if (t.float_data.length !== n) throw typedFieldMismatch(t, dims, 'float_data', t.float_data.length, what, ctx.file);
  return f32(dims, Float32Array.from(t.float_data));
}

/** Element types whose values shape inference folds (as JS numbers). */
const INTEGER_TYPES = new Set<number>([
  OnnxDataType.INT64, OnnxDataType.INT32, OnnxDataType.INT16, OnnxDataType.INT8,
  OnnxDataType.UINT8, OnnxDataType.UINT16, OnnxDataType.UINT32, OnnxDataType.UINT64, OnnxDataType.BOOL,
]);
const FLOAT_TYPES = new Set<number>([OnnxDataType.FLOAT, OnnxDataType.DOUBLE]);

export function isIntegerType(code: number | undefined): boolean {
  return code !== undefined && INTEGER_TYPES.has(code);
}

const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * An int64 as a JS number, clamped to +-(2^53 - 1). Values that large only
 * appear as "to the end" sentinels (Slice's INT64_MAX ends), whose meaning
 * clamping keeps.
 */
function clampInt64(b: bigint): number {
  return Number(b > SAFE_MAX ? SAFE_MAX : b < -SAFE_MAX ? -SAFE_MAX : b);
}

/**
 * The values of a small integer, bool or float constant as numbers, for
 * shape inference: undefined when the tensor is larger than
 * MAX_FOLDED_ELEMENTS, stored externally, or of another type (none of
 * which a shape computation needs); int64 values are clamped (clampInt64).
 * Inconsistent sizes are still a ModelFileError.
 */
export function smallConstantValues(t: OnnxTensor, what: string, file: string): number[] | undefined {
  const code = t.data_type ?? OnnxDataType.UNDEFINED;
  if (!INTEGER_TYPES.has(code) && !FLOAT_TYPES.has(code)) return undefined;
  const dims = tensorDims(t, what, file);
  const n = numElementsOf(dims);
  if (n > MAX_FOLDED_ELEMENTS || isExternal(t)) return undefined;
  const size = ELEMENT_BYTES[code];
  const raw = rawBytes(t, dims, size, what, { file });
  if (raw) {
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      switch (code) {
        case OnnxDataType.INT64:
        case OnnxDataType.UINT64: {
          const b = code === OnnxDataType.INT64 ? v.getBigInt64(8 * i, true) : v.getBigUint64(8 * i, true);
          out.push(clampInt64(b));
          break;
        }
        case OnnxDataType.INT32: out.push(v.getInt32(4 * i, true)); break;
        case OnnxDataType.UINT32: out.push(v.getUint32(4 * i, true)); break;
        case OnnxDataType.INT16: out.push(v.getInt16(2 * i, true)); break;
        case OnnxDataType.UINT16: out.push(v.getUint16(2 * i, true)); break;
        case OnnxDataType.INT8: out.push(v.getInt8(i)); break;
        case OnnxDataType.UINT8: out.push(v.getUint8(i)); break;
        case OnnxDataType.BOOL: out.push(v.getUint8(i) ? 1 : 0); break;
        case OnnxDataType.FLOAT: out.push(v.getFloat32(4 * i, true)); break;
        case OnnxDataType.DOUBLE: out.push(v.getFloat64(8 * i, true)); break;
      }
    }
    return out;
  }
  // Typed fields: int64 in int64_data, uint64/uint32 in uint64_data, the narrower integers and bool in int32_data.
  const field: [string, readonly (string | number)[]] =
    code === OnnxDataType.INT64 ? ['int64_data', t.int64_data]
      : code === OnnxDataType.UINT64 || code === OnnxDataType.UINT32 ? ['uint64_data', t.uint64_data]
        : code === OnnxDataType.FLOAT ? ['float_data', t.float_data]
          : code === OnnxDataType.DOUBLE ? ['double_data', t.double_data]
            : ['int32_data', t.int32_data];
  if (field[1].length !== n) throw typedFieldMismatch(t, dims, field[0], field[1].length, what, file);
  const out = field[1].map((x) => (typeof x === 'string' ? clampInt64(BigInt(x)) : x));
  return code === OnnxDataType.BOOL ? out.map((x) => (x ? 1 : 0)) : out;
}
