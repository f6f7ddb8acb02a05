/**
 * ONNX model files on disk (Node only; src/onnx/schema.ts decodes bytes and
 * stays free of `node:fs` for the browser). External tensor data is read from
 * files next to the model: a location must be relative, without `..`, and
 * must resolve (symlinks followed) inside the model's folder, so a model can
 * never make peir read elsewhere on the machine.
 */
import { closeSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep, win32 } from 'node:path';
import { ModelFileError } from '../errors.js';
import { decodeOnnxModel } from './schema.js';
import type { ExternalReader, ExternalRef } from './tensor.js';
import type { OnnxModel } from './types.js';

export interface LoadedOnnx {
  model: OnnxModel;
  /** The path as given, for messages and reports. */
  file: string;
  byteLength: number;
  readExternal: ExternalReader;
}

/** Why `location` may not be read, or undefined when it is a plain relative path. */
function badLocation(location: string): string | undefined {
  if (location.includes('\0')) return 'it contains a NUL character';
  if (isAbsolute(location) || win32.isAbsolute(location)) return 'it is an absolute path';
  if (location.split(/[\\/]+/).includes('..')) return "it contains '..'";
  return undefined;
}

/** An ExternalReader confined to `modelDir`. */
export function externalReader(modelFile: string): ExternalReader {
  const dir = dirname(resolve(modelFile));
  return (ref: ExternalRef, byteLength: number, what: string): Uint8Array => {
    const refuse = (why: string) =>
      new ModelFileError(`${modelFile}: ${what}: external data location '${ref.location}' refused: ${why}; external data must lie in the model's folder`);
    const bad = badLocation(ref.location);
    if (bad) throw refuse(bad);
    const path = join(dir, ref.location);
    let real: string;
    let realDir: string;
    try {
      real = realpathSync(path);
      realDir = realpathSync(dir);
    } catch (e) {
      throw new ModelFileError(`${modelFile}: ${what}: external data file '${ref.location}' cannot be opened (${(e as Error).message})`, { cause: e });
    }
    const rel = relative(realDir, real);
    if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) throw refuse('it resolves (through a symlink) outside the folder');
    const st = statSync(real);
    if (!st.isFile()) throw refuse('it is not a regular file');
    if (ref.offset + byteLength > st.size) {
      throw new ModelFileError(
        `${modelFile}: ${what}: external data file '${ref.location}' has ${st.size} bytes, the tensor needs ${byteLength} from offset ${ref.offset}`,
      );
    }
    const out = new Uint8Array(byteLength);
    const fd = openSync(real, 'r');
    try {
      let done = 0;
      while (done < byteLength) {
        const n = readSync(fd, out, done, Math.min(byteLength - done, 1 << 30), ref.offset + done);
        if (n === 0) throw new ModelFileError(`${modelFile}: ${what}: external data file '${ref.location}' ended early`);
        done += n;
      }
    } finally {
      closeSync(fd);
    }
    return out;
  };
}

/**
 * Read and decode an ONNX model file.
 *
 * @example
 *   const { model, readExternal } = loadOnnxFile('model.onnx');
 */
export function loadOnnxFile(path: string): LoadedOnnx {
  let bytes: Uint8Array;
  try {
    if (!statSync(path).isFile()) throw new Error('not a regular file');
    bytes = readFileSync(path);
  } catch (e) {
    throw new ModelFileError(`${path}: cannot read the model file (${(e as Error).message})`, { cause: e });
  }
  return { model: decodeOnnxModel(bytes, path), file: path, byteLength: bytes.length, readExternal: externalReader(path) };
}
