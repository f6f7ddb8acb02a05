/**
 * ONNX models from bytes, with protobufjs and the ONNX project's own schema
 * (src/onnx/onnx.proto, vendored from ONNX 1.12.0, imported as text).
 *
 * Why protobufjs: it is the most used protobuf implementation for JavaScript
 * (onnxruntime-web itself depends on it), maintained, with no native code;
 * it parses a .proto schema at run time, so peir carries the official schema
 * unmodified instead of generated code or a hand-written wire parser, and the
 * same module runs in Node and, bundled by esbuild, in the browser. This
 * module never touches the file system: it decodes a Uint8Array (a Node
 * caller reads files, see src/onnx/load-node.ts).
 */
import protobuf from 'protobufjs';
import { ModelFileError } from '../errors.js';
import schemaText from './onnx.proto';
import type { OnnxModel } from './types.js';

let root: protobuf.Root | undefined;

/** The parsed schema (package `onnx`), built once. Tests use it to encode models of their own. */
export function onnxRoot(): protobuf.Root {
  // keepCase: field names exactly as in onnx.proto (raw_data, not rawData).
  root ??= protobuf.parse(schemaText, { keepCase: true }).root;
  return root;
}

/** toObject options: only fields that are present, int64 as exact decimal strings. */
const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: Number, arrays: true, defaults: false };

/**
 * Decode an ONNX ModelProto. `label` (a file name) opens every error
 * message. Anything that is not a model, a truncated one included, is a
 * ModelFileError; nothing here allocates more than the input's own size.
 *
 * @example
 *   const model = decodeOnnxModel(new Uint8Array(await (await fetch(url)).arrayBuffer()), url);
 */
export function decodeOnnxModel(bytes: Uint8Array, label: string): OnnxModel {
  if (bytes.length === 0) throw new ModelFileError(`${label}: empty file, not an ONNX model`);
  const type = onnxRoot().lookupType('onnx.ModelProto');
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (e) {
    throw new ModelFileError(
      `${label}: not a readable ONNX model (protobuf decoding failed: ${(e as Error).message}); ` +
        'the file is truncated, corrupt, or not an ONNX ModelProto',
      { cause: e },
    );
  }
  const model = type.toObject(message, TO_OBJECT) as OnnxModel;
  if (!model.graph) {
    throw new ModelFileError(`${label}: not an ONNX model: the protobuf message has no graph (ModelProto field 7)`);
  }
  const ir = model.ir_version === undefined ? NaN : Number(model.ir_version);
  if (!(ir >= 1 && ir <= 1000)) {
    throw new ModelFileError(`${label}: not an ONNX model: ir_version is ${model.ir_version ?? 'missing'}`);
  }
  return model;
}

/** Encode a ModelProto given as a plain object (field names as in onnx.proto). For tests and tools. */
export function encodeOnnxModel(model: Record<string, unknown>): Uint8Array {
  // fromObject (not verify) accepts int64 fields as decimal strings, the form decodeOnnxModel returns.
  const type = onnxRoot().lookupType('onnx.ModelProto');
  return type.encode(type.fromObject(model)).finish();
}
