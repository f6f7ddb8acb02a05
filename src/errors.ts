/**
 * Typed errors. Every failure the engine can predict becomes one of these,
 * with a message that names the offending tensor, option or resource and says
 * what would fix it. Nothing returns a wrong number instead of throwing.
 */

/** Base class of all errors raised by peir. */
export class PeirError extends Error {
  override name = 'PeirError';
}

/** Bad user input: mismatched shapes, empty tensors, non-finite values, bad options. */
export class InputError extends PeirError {
  override name = 'InputError';
}

/** A tensor file (.npy) that cannot be read: malformed header, wrong dtype, truncated data. */
export class TensorFileError extends PeirError {
  override name = 'TensorFileError';
}

/**
 * A model file (ONNX) that cannot be used: not a protobuf ModelProto, truncated,
 * a tensor whose declared size disagrees with its data, an invalid attribute,
 * external data outside the model's folder. The message names the file and,
 * where there is one, the node or tensor.
 */
export class ModelFileError extends PeirError {
  override name = 'ModelFileError';
}

/** No WebGPU implementation or no adapter could be found on this host. */
export class GpuUnavailableError extends PeirError {
  override name = 'GpuUnavailableError';
}

/** The device was lost (driver reset, destroy, out of resources). Stays in force: every later call throws it. */
export class GpuDeviceLostError extends PeirError {
  override name = 'GpuDeviceLostError';
}

/** WebGPU reported a validation error (a bug in peir, or a shader the adapter rejects). */
export class GpuValidationError extends PeirError {
  override name = 'GpuValidationError';
}

/** WebGPU could not allocate memory for a buffer or pipeline. */
export class GpuOutOfMemoryError extends PeirError {
  override name = 'GpuOutOfMemoryError';
}

/** A shape or dispatch the device cannot run even after splitting the work. */
export class GpuLimitError extends PeirError {
  override name = 'GpuLimitError';
}

/** The GPU did not answer within the allotted time (a hung queue, or work far larger than expected). */
export class GpuTimeoutError extends PeirError {
  override name = 'GpuTimeoutError';
}
