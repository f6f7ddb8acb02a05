/**
 * Tensors: a flat typed array in C (row-major) order plus a shape. Public
 * conventions are PyTorch's (NCHW activations, OIHW weights).
 */
import { InputError } from './errors.js';

/** 'int64' (BigInt64Array) holds exact 64-bit integers, e.g. wide accumulators. */
export type DType = 'float32' | 'int32' | 'int16' | 'uint8' | 'int64';

export type TypedArrayOf<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'int32'
    ? Int32Array
    : D extends 'int16'
      ? Int16Array
      : D extends 'uint8'
        ? Uint8Array
        : BigInt64Array;

export interface Tensor<D extends DType = 'float32'> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: TypedArrayOf<D>;
}

export function numElements(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeToString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

const CONSTRUCTORS = {
  float32: Float32Array,
  int32: Int32Array,
  int16: Int16Array,
  uint8: Uint8Array,
  int64: BigInt64Array,
} as const;

/** Build a tensor, checking that the shape is valid and matches the data length. */
export function tensor<D extends DType>(dtype: D, shape: readonly number[], data?: TypedArrayOf<D>): Tensor<D> {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new InputError(`invalid shape ${shapeToString(shape)}: dimensions must be non-negative integers`);
    }
  }
  const n = numElements(shape);
  const arr = data ?? (new CONSTRUCTORS[dtype](n) as TypedArrayOf<D>);
  if (arr.length !== n) {
    throw new InputError(`data length ${arr.length} does not match shape ${shapeToString(shape)} (${n} elements)`);
  }
  return { dtype, shape: [...shape], data: arr };
}

/** Float32 tensor shorthand. */
export function f32(shape: readonly number[], data?: Float32Array | readonly number[]): Tensor<'float32'> {
  const arr = data === undefined ? undefined : data instanceof Float32Array ? data : Float32Array.from(data);
  return tensor('float32', shape, arr);
}

/** Throw an InputError naming `what` unless the tensor has the expected rank and is non-empty. */
export function checkRank(t: Tensor<DType>, rank: number, what: string, layout: string): void {
  if (t.shape.length !== rank) {
    throw new InputError(`${what} must have rank ${rank} (${layout}), got shape ${shapeToString(t.shape)}`);
  }
  if (numElements(t.shape) === 0) {
    throw new InputError(`${what} is empty (shape ${shapeToString(t.shape)}); every dimension must be at least 1`);
  }
}

/** Throw an InputError naming `what` and the first offending index if any value is NaN or infinite. */
export function checkFinite(t: Tensor<DType>, what: string): void {
  if (t.dtype !== 'float32') return; // integers are always finite (and Number.isFinite(bigint) is false)
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      throw new InputError(`${what} holds a non-finite value (${d[i]}) at flat index ${i}; peir only quantizes finite numbers`);
    }
  }
}
