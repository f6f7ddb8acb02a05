/**
 * .npy reading and writing: byte-exact goldens built from the format spec,
 * round trips of every dtype, a cross-check against numpy where python3 has
 * it, and every malformed file the reader must refuse before allocating.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, TensorFileError } from '../src/errors.js';
import { Prng } from '../src/data/prng.js';
import {
  MAX_NPY_ELEMENTS,
  MAX_NPY_HEADER_BYTES,
  MAX_NPY_RANK,
  parseNpy,
  serializeNpy,
  type AnyTensor,
} from '../src/data/npy.js';
import { readNpy, writeNpy } from '../src/data/npy-node.js';
import { tensor, type DType, type Tensor, type TypedArrayOf } from '../src/tensor.js';

const workDir = mkdtempSync(join(tmpdir(), 'peir-npy-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/**
 * A .npy file assembled from the format spec: magic, version, little-endian
 * header length, the dict text, space padding and '\n' up to `headerBytes`,
 * then the data. Used both for goldens and for deliberately broken files.
 */
function npyFile(opts: {
  dict: string;
  data?: Uint8Array;
  headerBytes?: number;
  version?: [number, number];
  terminator?: string;
}): Uint8Array {
  const [major, minor] = opts.version ?? [1, 0];
  const lengthField = major === 1 ? 2 : 4;
  const terminator = opts.terminator ?? '\n';
  const headerBytes = opts.headerBytes ?? opts.dict.length + terminator.length;
  const padding = headerBytes - opts.dict.length - terminator.length;
  if (padding < 0) throw new Error('test bug: header does not fit');
  const text = opts.dict + ' '.repeat(padding) + terminator;
  const data = opts.data ?? new Uint8Array(0);
  const out = new Uint8Array(8 + lengthField + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, minor]);
  const view = new DataView(out.buffer);
  if (lengthField === 2) view.setUint16(8, headerBytes, true);
  else view.setUint32(8, headerBytes, true);
  for (let i = 0; i < text.length; i++) out[8 + lengthField + i] = text.charCodeAt(i);
  out.set(data, 8 + lengthField + text.length);
  return out;
}

/** Little-endian bytes written element by element through DataView, independent of the typed-array copy. */
function leBytes(itemBytes: number, values: readonly (number | bigint)[]): Uint8Array {
  const out = new Uint8Array(values.length * itemBytes);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => {
    const at = i * itemBytes;
    if (typeof x === 'bigint') v.setBigInt64(at, x, true);
    else if (itemBytes === 4 && !Number.isInteger(x)) v.setFloat32(at, x, true);
    else if (itemBytes === 4) v.setInt32(at, x, true);
    else if (itemBytes === 2) v.setInt16(at, x, true);
    else v.setUint8(at, x);
  });
  return out;
}

function f32Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => v.setFloat32(i * 4, x, true));
  return out;
}

/** First differing byte, for a failure message that says where. */
function firstDiff(a: Uint8Array, b: Uint8Array): string {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return `byte ${i}: got 0x${a[i].toString(16)}, want 0x${b[i].toString(16)}`;
  }
  return a.length === b.length ? 'identical' : `lengths differ: got ${a.length}, want ${b.length}`;
}

function expectSameBytes(got: Uint8Array, want: Uint8Array, what: string): void {
  const diff = firstDiff(got, want);
  expect(diff, `${what}: ${diff}`).toBe('identical');
}

function bytesOf(data: TypedArrayOf<DType>): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function expectRejected(bytes: Uint8Array, message: RegExp, name = 'bad.npy', expectDtype?: DType): void {
  let caught: unknown;
  try {
    if (expectDtype === undefined) parseNpy(bytes, name);
    else parseNpy(bytes, name, expectDtype);
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ${name} to be rejected with ${message}`).toBeInstanceOf(TensorFileError);
  const msg = (caught as Error).message;
  expect(msg.startsWith(`${name}: `), `message should name the file: ${msg}`).toBe(true);
  expect(msg).toMatch(message);
}

const HEADER = (descr: string, shape: string) => `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;

// Header lengths numpy 2.4.6 writes (np.save) for these shapes; each makes the
// data start at a multiple of 64. The spare spaces numpy adds for growing the
// first axis are part of the padding.
const GOLDENS: { what: string; t: AnyTensor; dict: string; headerBytes: number; data: Uint8Array }[] = [
  {
    what: 'float32 (2, 3) with -0, inf and nan',
    t: tensor('float32', [2, 3], new Float32Array([0, 1.5, -2, 3.25, -0, Infinity])),
    dict: HEADER('<f4', '(2, 3)'),
    headerBytes: 118,
    data: f32Bytes([0, 1.5, -2, 3.25, -0, Infinity]),
  },
  {
    what: 'float32 scalar ()',
    t: tensor('float32', [], new Float32Array([-7.75])),
    dict: HEADER('<f4', '()'),
    headerBytes: 118,
    data: f32Bytes([-7.75]),
  },
  {
    what: 'int32 zero-size (0,)',
    t: tensor('int32', [0], new Int32Array(0)),
    dict: HEADER('<i4', '(0,)'),
    headerBytes: 118,
    data: new Uint8Array(0),
  },
  {
    what: 'int32 (4,) extremes',
    t: tensor('int32', [4], new Int32Array([-2147483648, -1, 0, 2147483647])),
    dict: HEADER('<i4', '(4,)'),
    headerBytes: 118,
    data: leBytes(4, [-2147483648, -1, 0, 2147483647]),
  },
  {
    what: 'int16 (1, 2, 3, 4)',
    t: tensor('int16', [1, 2, 3, 4], Int16Array.from({ length: 24 }, (_, i) => (i - 12) * 1365)),
    dict: HEADER('<i2', '(1, 2, 3, 4)'),
    headerBytes: 118,
    data: leBytes(2, Array.from({ length: 24 }, (_, i) => (i - 12) * 1365)),
  },
  {
    what: 'uint8 (7,)',
    t: tensor('uint8', [7], new Uint8Array([0, 1, 127, 128, 200, 254, 255])),
    dict: HEADER('|u1', '(7,)'),
    headerBytes: 118,
    data: new Uint8Array([0, 1, 127, 128, 200, 254, 255]),
  },
  {
    what: 'uint8 rank 20 (header past 128 bytes)',
    t: tensor('uint8', new Array(20).fill(1), new Uint8Array([42])),
    dict: HEADER('|u1', `(${new Array(20).fill(1).join(', ')})`),
    headerBytes: 182,
    data: new Uint8Array([42]),
  },
  {
    what: 'int64 (3,) extremes',
    t: tensor('int64', [3], new BigInt64Array([-(2n ** 63n), 1n, 2n ** 63n - 1n])),
    dict: HEADER('<i8', '(3,)'),
    headerBytes: 118,
    data: leBytes(8, [-(2n ** 63n), 1n, 2n ** 63n - 1n]),
  },
];

describe('npy goldens (format spec, header lengths as numpy 2.4.6 writes them)', () => {
  for (const g of GOLDENS) {
    it(`serializes ${g.what} byte for byte`, () => {
      const want = npyFile({ dict: g.dict, headerBytes: g.headerBytes, data: g.data });
      const got = serializeNpy(g.t);
      expectSameBytes(got, want, g.what);
      expect((10 + g.headerBytes) % 64).toBe(0);
    });
    it(`parses ${g.what}`, () => {
      const parsed = parseNpy(npyFile({ dict: g.dict, headerBytes: g.headerBytes, data: g.data }), g.what);
      expect(parsed.dtype).toBe(g.t.dtype);
      expect(parsed.shape).toEqual(g.t.shape);
      expectSameBytes(bytesOf(parsed.data), g.data, g.what);
    });
  }

  it('keeps NaN payloads bit for bit', () => {
    const bits = new Uint32Array([0x7fc00000, 0xffc00001, 0x7f800001]);
    const t = tensor('float32', [3], new Float32Array(bits.buffer));
    const back = parseNpy(serializeNpy(t), 'nan.npy', 'float32');
    expect(Array.from(new Uint32Array(back.data.buffer))).toEqual(Array.from(bits));
  });
});

/** Random bits for any dtype: every bit pattern, so floats include NaNs, infinities and subnormals. */
function randomTensor<D extends DType>(p: Prng, dtype: D, shape: number[]): Tensor<D> {
  const t = tensor(dtype, shape);
  const bytes = bytesOf(t.data);
  for (let i = 0; i < bytes.length; i++) bytes[i] = p.nextU32() & 0xff;
  return t;
}

const ALL_DTYPES: DType[] = ['float32', 'int32', 'int16', 'uint8', 'int64'];
const SHAPES: number[][] = [[], [0], [3, 0, 2], [1], [5], [2, 3], [3, 1, 4, 1], [2, 3, 5, 7]];

describe('npy round trips (seed 20240611)', () => {
  const prng = new Prng(20240611);
  for (const dtype of ALL_DTYPES) {
    for (const shape of SHAPES) {
      it(`${dtype} shape [${shape.join(', ')}] through bytes and through a file`, async () => {
        const t = randomTensor(prng.fork(`${dtype}/${shape.join('x')}`), dtype, shape);
        const bytes = serializeNpy(t);
        expect(bytes.length % 64, 'data offset stays 64-aligned').toBe(t.data.byteLength % 64);
        const back = parseNpy(bytes, 'round-trip', dtype);
        expect(back.dtype).toBe(dtype);
        expect(back.shape).toEqual(shape);
        expect(back.data.length).toBe(t.data.length);
        expectSameBytes(bytesOf(back.data), bytesOf(t.data), `${dtype} [${shape}]`);
        expect(back.data.buffer, 'parsed data must not alias the input bytes').not.toBe(bytes.buffer);

        const path = join(workDir, `${dtype}-${shape.join('x') || 'scalar'}.npy`);
        await writeNpy(path, t);
        expectSameBytes(readFileSync(path), bytes, `${path} on disk`);
        const fromDisk = await readNpy(path, dtype);
        expect(fromDisk.shape).toEqual(shape);
        expectSameBytes(bytesOf(fromDisk.data), bytesOf(t.data), `${path} read back`);
      });
    }
  }

  it('serializes a typed array that is a view into a larger buffer', () => {
    const big = new Int16Array([9, 9, 1, 2, 3, 9]);
    const t = tensor('int16', [3], big.subarray(2, 5));
    expectSameBytes(serializeNpy(t), npyFile({ dict: HEADER('<i2', '(3,)'), headerBytes: 118, data: leBytes(2, [1, 2, 3]) }), 'subarray');
  });
});

describe('npy reader accepts what numpy and other writers produce', () => {
  it('reads format 2.0 and 3.0 files (4-byte header length)', () => {
    for (const version of [[2, 0], [3, 0]] as [number, number][]) {
      const bytes = npyFile({ dict: HEADER('<f4', '(2,)'), headerBytes: 116, version, data: f32Bytes([1, -1]) });
      const t = parseNpy(bytes, `v${version[0]}`, 'float32');
      expect(Array.from(t.data)).toEqual([1, -1]);
    }
  });

  it("accepts '<u1' for uint8, double quotes, any key order, no spaces and no trailing comma", () => {
    const t = parseNpy(npyFile({ dict: `{"shape":(2,),"descr":"<u1","fortran_order":False}`, data: new Uint8Array([3, 250]) }), 'alt.npy');
    expect(t.dtype).toBe('uint8');
    expect(Array.from(t.data as Uint8Array)).toEqual([3, 250]);
  });

  it('reads data at an odd offset inside a Uint8Array view with a nonzero byteOffset', () => {
    const file = npyFile({ dict: HEADER('<f4', '(2,)'), headerBytes: 71, data: f32Bytes([0.5, 2.5]) }); // data at byte 81
    const host = new Uint8Array(file.length + 3);
    host.set(file, 3);
    const t = parseNpy(host.subarray(3), 'view.npy', 'float32');
    expect(Array.from(t.data)).toEqual([0.5, 2.5]);
  });
});

describe('npy reader rejects malformed files before allocating', () => {
  const good = (dict: string, data: Uint8Array = new Uint8Array(0), extra: Partial<Parameters<typeof npyFile>[0]> = {}) =>
    npyFile({ dict, data, headerBytes: 118, ...extra });

  it('bad magic, short files, unsupported versions', () => {
    expectRejected(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0]), /not a \.npy file.*magic.*\[50 4b 03 04 00 00\]/);
    expectRejected(new Uint8Array([0x93, 0x4e, 0x55]), /not a \.npy file/);
    expectRejected(new Uint8Array(0), /not a \.npy file.*found \[\]/);
    expectRejected(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1]), /truncated .*version field/);
    expectRejected(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 5, 0]), /truncated .*header length field/);
    expectRejected(good(HEADER('<f4', '(0,)'), undefined, { version: [4, 0] }), /unsupported \.npy format version 4\.0/);
    expectRejected(good(HEADER('<f4', '(0,)'), undefined, { version: [1, 1] }), /unsupported \.npy format version 1\.1/);
    expectRejected(good(HEADER('<f4', '(0,)'), undefined, { version: [0, 0] }), /unsupported \.npy format version 0\.0/);
  });

  it('header length beyond the file or beyond MAX_NPY_HEADER_BYTES', () => {
    const file = good(HEADER('<f4', '(1,)'), f32Bytes([1]));
    new DataView(file.buffer).setUint16(8, 500, true);
    expectRejected(file, /header length 500 bytes runs past the end of the file \(132 bytes\)/);
    const v2 = npyFile({ dict: HEADER('<f4', '(0,)'), version: [2, 0], headerBytes: 116 });
    new DataView(v2.buffer).setUint32(8, 0xfffffff0, true);
    expectRejected(v2, new RegExp(`header length 4294967280 bytes exceeds the limit of ${MAX_NPY_HEADER_BYTES} \\(MAX_NPY_HEADER_BYTES\\)`));
  });

  it('header not terminated by a newline', () => {
    expectRejected(good(HEADER('<f4', '(0,)'), undefined, { terminator: ' ' }), /must end with a newline/);
    expectRejected(good(HEADER('<f4', '(0,)'), undefined, { terminator: '\r' }), /must end with a newline/);
  });

  const MALFORMED: [string, string, RegExp][] = [
    ['no opening brace', `'descr': '<f4', 'fortran_order': False, 'shape': (0,), }`, /expected '\{' at column 0/],
    ['no closing brace', `{'descr': '<f4', 'fortran_order': False, 'shape': (0,), `, /expected a key as a quoted string/],
    ['missing separator', `{'descr': '<f4' 'fortran_order': False, 'shape': (0,)}`, /expected ',' or '\}' at column 16/],
    ['missing key', `{'descr': '<f4', 'shape': (0,), }`, /missing key 'fortran_order'/],
    ['missing keys', `{}`, /missing keys 'descr', 'fortran_order', 'shape'/],
    ['extra key', `{'descr': '<f4', 'fortran_order': False, 'shape': (0,), 'extra': 1}`, /unexpected key "extra"/],
    ['duplicate key', `{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (0,)}`, /duplicate key 'descr'/],
    ['unquoted key', `{descr: '<f4', 'fortran_order': False, 'shape': (0,)}`, /expected a key as a quoted string at column 1/],
    ['unterminated string', `{'descr': '<f4`, /unterminated string at column 10/],
    ['string run-on', `{'descr': '<f4, 'fortran_order': False, 'shape': (0,)}`, /expected ',' or '\}' at column 17/],
    ['escape in string', `{'descr': '<f\\x34', 'fortran_order': False, 'shape': (0,)}`, /escape sequences/],
    ['text after the dict', `{'descr': '<f4', 'fortran_order': False, 'shape': (0,)} x`, /unexpected text after the closing brace/],
    ['two dicts', `{'descr': '<f4', 'fortran_order': False, 'shape': (0,)}{}`, /unexpected text after the closing brace/],
    ['fortran_order not a bool', `{'descr': '<f4', 'fortran_order': 0, 'shape': (0,)}`, /'fortran_order' must be True or False/],
    ['fortran_order lowercase', `{'descr': '<f4', 'fortran_order': false, 'shape': (0,)}`, /'fortran_order' must be True or False/],
    ['shape as a list', `{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}`, /must be a tuple/],
    ['shape (n) without comma', `{'descr': '<f4', 'fortran_order': False, 'shape': (0)}`, /is a number, not a tuple/],
    ['shape unclosed', `{'descr': '<f4', 'fortran_order': False, 'shape': (0, }`, /expected a dimension/],
    ['shape separator', `{'descr': '<f4', 'fortran_order': False, 'shape': (2; 3)}`, /expected ',' or '\)' in 'shape'/],
    ['shape empty element', `{'descr': '<f4', 'fortran_order': False, 'shape': (,)}`, /expected a dimension/],
    ['structured descr', `{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (0,)}`, /structured dtypes are not supported/],
    ['descr not a string', `{'descr': 4, 'fortran_order': False, 'shape': (0,)}`, /expected the 'descr' string as a quoted string/],
  ];
  for (const [what, dict, message] of MALFORMED) {
    it(`malformed header dict: ${what}`, () => {
      expectRejected(good(dict), new RegExp(`malformed \\.npy header: .*${message.source}`), `${what}.npy`);
    });
  }

  it('non-ASCII or control bytes in the header', () => {
    const file = good(HEADER('<f4', '(0,)'));
    file[10 + 3] = 0xe9;
    expectRejected(file, /byte 0xe9 at offset 13 \(only printable ASCII/);
    const nl = good(HEADER('<f4', '(0,)'));
    nl[10 + 60] = 0x0a; // a newline inside the padding, before the last byte
    expectRejected(nl, /byte 0x0a at offset 70/);
  });

  it('unsupported descr: big-endian, float64, bool, object, unsigned 16', () => {
    expectRejected(good(HEADER('>f4', '(0,)')), /unsupported dtype descr ">f4" \(big-endian data: save it little-endian.*supported: '<f4' \(float32\)/);
    expectRejected(good(HEADER('>i4', '(0,)')), /unsupported dtype descr ">i4" \(big-endian/);
    expectRejected(good(HEADER('<f8', '(0,)')), /unsupported dtype descr "<f8"; supported:/);
    expectRejected(good(HEADER('|b1', '(0,)')), /unsupported dtype descr "\|b1"/);
    expectRejected(good(HEADER('|O', '(0,)')), /unsupported dtype descr "\|O"/);
    expectRejected(good(HEADER('<u2', '(0,)')), /unsupported dtype descr "<u2"/);
    expectRejected(good(HEADER('=f4', '(0,)')), /unsupported dtype descr "=f4"/);
    expectRejected(good(HEADER('f4', '(0,)')), /unsupported dtype descr "f4"/);
  });

  it('fortran_order True', () => {
    expectRejected(good(`{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }`, f32Bytes([1, 2, 3, 4])), /fortran_order is True: only C-order/);
  });

  it('negative, non-integer and malformed dimensions', () => {
    expectRejected(good(HEADER('<f4', '(2, -3)')), /negative dimension -3 at axis 1 of 'shape'/);
    expectRejected(good(HEADER('<f4', '(-1,)')), /negative dimension -1 at axis 0/);
    expectRejected(good(HEADER('<f4', '(2.0,)')), /non-integer dimension 2\.0 at axis 0/);
    expectRejected(good(HEADER('<f4', '(1, 1e3)')), /non-integer dimension 1e3 at axis 1/);
    expectRejected(good(HEADER('<f4', '(0x10,)')), /malformed dimension "0x10" at axis 0/);
    expectRejected(good(HEADER('<f4', '(007,)')), /malformed dimension "007"/);
    expectRejected(good(HEADER('<f4', '(1_000,)')), /malformed dimension "1_000"/);
    expectRejected(good(HEADER('<f4', '(True,)')), /malformed dimension "True"/);
    expectRejected(good(HEADER('<f4', '(2L, 3L)')), /malformed dimension "2L"/);
    expectRejected(good(HEADER('<f4', "('2',)")), /expected a dimension/);
  });

  it('data shorter or longer than the shape says', () => {
    expectRejected(good(HEADER('<f4', '(2, 3)'), f32Bytes([1, 2, 3, 4, 5])), /truncated data: shape \(2, 3\) of float32 needs 24 bytes after the header, the file has 20/);
    expectRejected(good(HEADER('<f4', '(2, 3)'), new Uint8Array(25)), /trailing data: shape \(2, 3\) of float32 needs 24 bytes after the header, the file has 25 \(1 extra\)/);
    expectRejected(good(HEADER('<i8', '()')), /truncated data: shape \(\) of int64 needs 8 bytes/);
    expectRejected(good(HEADER('|u1', '(0,)'), new Uint8Array(1)), /trailing data: shape \(0,\) of uint8 needs 0 bytes.*has 1/);
  });

  it('absurd sizes: element count or a dimension beyond MAX_NPY_ELEMENTS, too many dimensions', () => {
    expectRejected(good(HEADER('<f4', '(100000, 100000, 100000)')), /shape \(100000, 100000, 100000\) is too large: 1000000000000000 elements, the limit is 2147483647 \(MAX_NPY_ELEMENTS\)/);
    expectRejected(good(HEADER('|u1', `(${MAX_NPY_ELEMENTS + 1},)`)), /is too large: 2147483648 elements/);
    expectRejected(good(HEADER('<f4', '(99999999999999999999999, 99999999999999999999999)')), /is too large: 9999999999999999999999800000000000000000000001 elements/);
    expectRejected(good(HEADER('<f4', '(0, 99999999999999999999)')), /shape \(0, 99999999999999999999\) is too large: 0 elements \(dimension 99999999999999999999\)/);
    const rank = MAX_NPY_RANK + 1;
    const dict = HEADER('|u1', `(${new Array(rank).fill(1).join(', ')})`);
    expectRejected(npyFile({ dict, data: new Uint8Array(1) }), new RegExp(`shape has ${rank} dimensions, more than the limit of ${MAX_NPY_RANK}`));
  });

  it('a wrong dtype when one is expected', () => {
    expectRejected(good(HEADER('<i4', '(1,)'), leBytes(4, [7])), /dtype is int32 \(descr "<i4"\), expected float32/, 'w.npy', 'float32');
    expect(parseNpy(good(HEADER('<i4', '(1,)'), leBytes(4, [7])), 'w.npy', 'int32').data[0]).toBe(7);
  });

  it('a huge shape on a tiny file fails on the size check, allocating nothing (1000 x 1000 x 1000 float32 = 4 GB)', () => {
    const file = good(HEADER('<f4', '(1000, 1000, 1000)'), f32Bytes([1, 2]));
    const before = process.memoryUsage().arrayBuffers;
    expectRejected(file, /truncated data: shape \(1000, 1000, 1000\) of float32 needs 4000000000 bytes after the header, the file has 8/, 'huge.npy');
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown, `ArrayBuffer memory grew by ${grown} bytes`).toBeLessThan(64 * 1024 * 1024);
  });
});

describe('npy files on disk', () => {
  it('readNpy rejects a huge declared shape by the file size, without reading the data', async () => {
    const path = join(workDir, 'huge.npy');
    writeFileSync(path, npyFile({ dict: HEADER('<i8', '(100000, 100000, 100000)'), headerBytes: 118, data: new Uint8Array(16) }));
    await expect(readNpy(path)).rejects.toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: shape .* is too large`));
    const path2 = join(workDir, 'big-but-short.npy');
    writeFileSync(path2, npyFile({ dict: HEADER('<f4', '(1000, 1000, 1000)'), headerBytes: 118, data: new Uint8Array(16) }));
    const before = process.memoryUsage().arrayBuffers;
    await expect(readNpy(path2)).rejects.toThrow(/truncated data: shape \(1000, 1000, 1000\) of float32 needs 4000000000 bytes after the header, the file has 16/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('readNpy: missing file, a directory, an empty file, a wrong dtype, all as TensorFileError naming the path', async () => {
    const missing = join(workDir, 'nope.npy');
    await expect(readNpy(missing)).rejects.toBeInstanceOf(TensorFileError);
    await expect(readNpy(missing)).rejects.toThrow(/nope\.npy: cannot open \.npy file \(ENOENT/);
    const dir = join(workDir, 'a-dir.npy');
    mkdirSync(dir, { recursive: true });
    await expect(readNpy(dir)).rejects.toThrow(/a-dir\.npy: not a regular file/);
    const empty = join(workDir, 'empty.npy');
    writeFileSync(empty, new Uint8Array(0));
    await expect(readNpy(empty)).rejects.toThrow(/empty\.npy: not a \.npy file/);
    const ints = join(workDir, 'ints.npy');
    await writeNpy(ints, tensor('int32', [2], new Int32Array([1, 2])));
    await expect(readNpy(ints, 'float32')).rejects.toThrow(/ints\.npy: dtype is int32 .*expected float32/);
    const truncated = join(workDir, 'truncated.npy');
    writeFileSync(truncated, serializeNpy(tensor('int16', [4], new Int16Array([1, 2, 3, 4]))).subarray(0, 128 + 6));
    await expect(readNpy(truncated)).rejects.toThrow(/truncated\.npy: truncated data: shape \(4,\) of int16 needs 8 bytes .* has 6/);
  });
});

describe('npy writer refuses inconsistent tensors', () => {
  it('data length, array type and shape are checked', () => {
    const lying = { dtype: 'float32', shape: [2, 2], data: new Float32Array(3) } as Tensor<'float32'>;
    expect(() => serializeNpy(lying, 'lying')).toThrow(InputError);
    expect(() => serializeNpy(lying, 'lying')).toThrow(/lying: data length 3 does not match shape \[2, 2\] \(4 elements\)/);
    const wrongType = { dtype: 'float32', shape: [2], data: new Int32Array(2) } as unknown as Tensor<'float32'>;
    expect(() => serializeNpy(wrongType, 'w')).toThrow(/w: dtype float32 needs a Float32Array, got Int32Array/);
    const badShape = { dtype: 'uint8', shape: [-1], data: new Uint8Array(0) } as unknown as Tensor<'uint8'>;
    expect(() => serializeNpy(badShape, 'b')).toThrow(/b: invalid shape \[-1\]/);
    const badDtype = { dtype: 'float64', shape: [1], data: new Float64Array(1) } as unknown as Tensor<'float32'>;
    expect(() => serializeNpy(badDtype, 'd')).toThrow(/d: dtype "float64" cannot be written/);
  });
});

/** numpy is optional on this machine; where python3 has it, both sides must read each other's files. */
function hasNumpy(): boolean {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasNumpy())('npy against numpy (python3)', () => {
  // Each array's values are a formula both languages evaluate the same way.
  // `py` is the same formula in Python, evaluated on exact ints and then cast.
  const CASES: { file: string; dtype: DType; shape: number[]; np: string; py: string; values: (i: number) => number | bigint }[] = [
    { file: 'f32.npy', dtype: 'float32', shape: [3, 5], np: 'float32', py: '(i - 7) * 0.375', values: (i) => (i - 7) * 0.375 },
    { file: 'f32-scalar.npy', dtype: 'float32', shape: [], np: 'float32', py: '-2.5', values: () => -2.5 },
    { file: 'f32-empty.npy', dtype: 'float32', shape: [2, 0, 3], np: 'float32', py: '0', values: () => 0 },
    { file: 'i32.npy', dtype: 'int32', shape: [4, 3, 2], np: 'int32', py: '(i - 12) * 123457', values: (i) => (i - 12) * 123457 },
    { file: 'i16.npy', dtype: 'int16', shape: [123456], np: 'int16', py: '(i % 65536) - 32768', values: (i) => (i % 65536) - 32768 },
    { file: 'u8.npy', dtype: 'uint8', shape: [2, 3, 4, 5, 6], np: 'uint8', py: '(i * 7) % 256', values: (i) => (i * 7) % 256 },
    { file: 'i64.npy', dtype: 'int64', shape: [6], np: 'int64', py: '(i - 3) * 3074457345618258602', values: (i) => (BigInt(i) - 3n) * 3074457345618258602n },
  ];
  const numpyDir = join(workDir, 'numpy');
  const oursDir = join(workDir, 'ours');

  const pyCases = CASES.map((c) => {
    const n = c.shape.reduce((a, b) => a * b, 1);
    return `(${JSON.stringify(c.file)}, np.array([${c.py} for i in range(${n})], dtype=object).astype(np.${c.np}).reshape(${JSON.stringify(c.shape)}))`;
  });
  const script = (mode: 'write' | 'check', dir: string) => `
import sys, numpy as np
cases = [${pyCases.join(', ')}]
for name, a in cases:
    path = ${JSON.stringify(dir)} + '/' + name
    if ${JSON.stringify(mode)} == 'write':
        np.save(path, a)
    else:
        b = np.load(path, allow_pickle=False)
        assert b.dtype == a.dtype and b.shape == a.shape, (name, b.dtype, b.shape)
        assert np.array_equal(a, b), name
print('ok')
`;

  function expected(c: (typeof CASES)[number]): AnyTensor {
    const t = tensor(c.dtype, c.shape) as AnyTensor;
    for (let i = 0; i < t.data.length; i++) (t.data as { [k: number]: number | bigint })[i] = c.values(i);
    return t;
  }

  it('parses what numpy saves and re-serializes it byte for byte', () => {
    mkdirSync(numpyDir, { recursive: true });
    expect(execFileSync('python3', ['-c', script('write', numpyDir)], { encoding: 'utf8', timeout: 60_000 }).trim()).toBe('ok');
    for (const c of CASES) {
      const bytes = readFileSync(join(numpyDir, c.file));
      const t = parseNpy(bytes, c.file, c.dtype);
      const want = expected(c);
      expect(t.shape, c.file).toEqual(c.shape);
      expectSameBytes(bytesOf(t.data), bytesOf(want.data), `${c.file} values`);
      expectSameBytes(serializeNpy(t), bytes, `${c.file} re-serialized vs numpy`);
    }
  });

  it('numpy loads what writeNpy writes', async () => {
    mkdirSync(oursDir, { recursive: true });
    for (const c of CASES) await writeNpy(join(oursDir, c.file), expected(c));
    expect(execFileSync('python3', ['-c', script('check', oursDir)], { encoding: 'utf8', timeout: 60_000 }).trim()).toBe('ok');
  });
});
