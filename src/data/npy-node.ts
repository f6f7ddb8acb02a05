/**
 * .npy files on disk (Node only; npy.ts holds the format and stays free of
 * `node:fs` for the browser bundle). readNpy validates the header against the
 * file size before it reads or allocates the data, then reads the data
 * straight into the tensor's typed array.
 */
import { open, writeFile, type FileHandle } from 'node:fs/promises';
import { PeirError, TensorFileError } from '../errors.js';
import type { DType, Tensor } from '../tensor.js';
import { allocateNpyData, npyDataOffset, parseNpyHeader, serializeNpy, type AnyTensor } from './npy.js';

/** Bytes of the preamble that hold magic, version and header length (v2.0/3.0; v1.0 uses 10). */
const NPY_PREAMBLE_BYTES = 12;
/** Largest single read: fs reads are capped at 2 GiB - 1, so big tensors are read in pieces. */
const READ_CHUNK_BYTES = 1 << 30;

async function readExactly(fh: FileHandle, into: Uint8Array, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const want = Math.min(into.length - done, READ_CHUNK_BYTES);
    const { bytesRead } = await fh.read(into, done, want, position + done);
    if (bytesRead === 0) {
      throw new TensorFileError(`${path}: file ended after ${position + done} bytes while reading; was it truncated while being read?`);
    }
    done += bytesRead;
  }
}

/**
 * Read a .npy file. Errors (missing file, malformed header, size mismatch,
 * wrong dtype when `expectDtype` is given) are TensorFileErrors naming `path`.
 *
 * @example
 *   const x = await readNpy('input.npy', 'float32'); // Tensor<'float32'>
 */
export async function readNpy<D extends DType>(path: string, expectDtype: D): Promise<Tensor<D>>;
export async function readNpy(path: string): Promise<AnyTensor>;
export async function readNpy(path: string, expectDtype?: DType): Promise<AnyTensor> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new TensorFileError(`${path}: cannot open .npy file (${(err as Error).message})`, { cause: err });
  }
  try {
    const stat = await fh.stat();
    if (!stat.isFile()) throw new TensorFileError(`${path}: not a regular file`);
    const fileByteLength = stat.size;

    const prefix = new Uint8Array(Math.min(fileByteLength, NPY_PREAMBLE_BYTES));
    await readExactly(fh, prefix, 0, path);
    const { dataOffset } = npyDataOffset(prefix, fileByteLength, path);

    const head = new Uint8Array(dataOffset);
    await readExactly(fh, head, 0, path);
    const header = parseNpyHeader(head, fileByteLength, path, expectDtype);

    const data = allocateNpyData(header);
    await readExactly(fh, new Uint8Array(data.buffer, 0, header.dataByteLength), header.dataOffset, path);
    return { dtype: header.dtype, shape: header.shape, data } as AnyTensor;
  } catch (err) {
    if (err instanceof PeirError) throw err;
    throw new TensorFileError(`${path}: cannot read .npy file (${(err as Error).message})`, { cause: err });
  } finally {
    await fh.close();
  }
}

/**
 * Write a tensor as a .npy file, byte-identical to numpy's `np.save`.
 *
 * @example
 *   await writeNpy('out.npy', f32([2, 2], [1, 2, 3, 4]));
 */
export async function writeNpy(path: string, t: Tensor<DType>): Promise<void> {
  await writeFile(path, serializeNpy(t, path));
}
