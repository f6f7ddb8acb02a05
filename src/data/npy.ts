/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0), read and written
 * strictly: little-endian, C order, dtypes float32 `<f4`, int32 `<i4`, int16
 * `<i2`, uint8 `|u1` (also `<u1`) and int64 `<i8` (BigInt64Array).
 *
 * Why our own parser rather than an npm package: the candidates (npyjs 1.2,
 * numpy-parser 1.2) read the header with regexes or with string replacement
 * plus JSON.parse, ignore the version and byte order, accept negative or
 * fractional dimensions through Number(), never compare the shape with the
 * data length, and npyjs pulls in a fetch polyfill. A wrong header there gives
 * a silently wrong tensor; here it is a TensorFileError. The header is a
 * Python dict literal; it is parsed by a tiny recursive-descent parser that
 * knows exactly the keys 'descr', 'fortran_order' and 'shape' (never eval).
 *
 * Every check runs before any tensor memory is allocated, so a hostile header
 * (a huge shape on a tiny file) costs nothing. This module has no Node
 * imports; file I/O lives in npy-node.ts so the browser bundle can use it.
 *
 * The writer reproduces numpy's own bytes (np.save, numpy 2.x): a v1.0
 * header `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`, the
 * spare spaces numpy reserves for growing the first axis, then spaces and a
 * newline so that the data starts at a multiple of 64 bytes.
 */
import { InputError, PeirError, TensorFileError } from '../errors.js';
import { numElements, shapeToString, type DType, type Tensor, type TypedArrayOf } from '../tensor.js';

/** Most elements a .npy tensor may hold: flat indices stay within i32 (and GPU buffers within reach). */
export const MAX_NPY_ELEMENTS = 2 ** 31 - 1;
/** Most dimensions a shape may have: numpy's own limit (NPY_MAXDIMS in numpy 2). */
export const MAX_NPY_RANK = 64;
/** Longest header accepted, in bytes: numpy's default `max_header_size` for safe loading. */
export const MAX_NPY_HEADER_BYTES = 10_000;

/** Any tensor, discriminated on `dtype` (narrowing on dtype narrows `data`). */
export type AnyTensor = { [D in DType]: Tensor<D> }[DType];

/** What a .npy header says, after validation against the file's byte length. */
export interface NpyHeader {
  readonly version: '1.0' | '2.0' | '3.0';
  /** The descr string exactly as written in the file (e.g. '<f4', '|u1'). */
  readonly descr: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly numElements: number;
  /** Byte offset of the first data byte (= magic + version + length field + header). */
  readonly dataOffset: number;
  readonly dataByteLength: number;
}

interface DTypeInfo {
  /** The descr numpy writes for this dtype. */
  readonly descr: string;
  readonly itemBytes: number;
  readonly create: (length: number) => TypedArrayOf<DType>;
}

const DTYPES: { readonly [D in DType]: DTypeInfo } = {
  float32: { descr: '<f4', itemBytes: 4, create: (n) => new Float32Array(n) },
  int32: { descr: '<i4', itemBytes: 4, create: (n) => new Int32Array(n) },
  int16: { descr: '<i2', itemBytes: 2, create: (n) => new Int16Array(n) },
  uint8: { descr: '|u1', itemBytes: 1, create: (n) => new Uint8Array(n) },
  int64: { descr: '<i8', itemBytes: 8, create: (n) => new BigInt64Array(n) },
};

const DESCR_TO_DTYPE: ReadonlyMap<string, DType> = new Map<string, DType>([
  ['<f4', 'float32'],
  ['<i4', 'int32'],
  ['<i2', 'int16'],
  ['|u1', 'uint8'],
  ['<u1', 'uint8'],
  ['<i8', 'int64'],
]);

const SUPPORTED_DESCRS = "'<f4' (float32), '<i4' (int32), '<i2' (int16), '|u1' (uint8), '<i8' (int64)";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const MAGIC_BYTES = MAGIC.length;
/** numpy aligns the start of the data to this many bytes. */
const NPY_ALIGN_BYTES = 64;
/** numpy reserves room for the first dimension to grow to this many digits. */
const GROWTH_AXIS_MAX_DIGITS = 21;

/**
 * The typed arrays are copied byte for byte, which equals little-endian only
 * on a little-endian host; every WebGPU host we target is one.
 */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function requireLittleEndianHost(): void {
  if (!HOST_IS_LITTLE_ENDIAN) {
    throw new PeirError('.npy reading and writing needs a little-endian host; this one is big-endian');
  }
}

function fail(name: string, problem: string): never {
  throw new TensorFileError(`${name}: ${problem}`);
}

/** Quote untrusted text for an error message: escaped, and cut to a readable length. */
function quote(text: string, maxChars = 120): string {
  const cut = text.length > maxChars ? `${text.slice(0, maxChars)}...` : text;
  return JSON.stringify(cut);
}

/**
 * Read the fixed-size preamble (magic, version, header length) from the first
 * bytes of a file of `fileByteLength` bytes and return where the data starts.
 * `prefix` needs the first 12 bytes (fewer only if the file is shorter).
 */
export function npyDataOffset(
  prefix: Uint8Array,
  fileByteLength: number,
  name = 'tensor',
): { version: NpyHeader['version']; headerOffset: number; dataOffset: number } {
  const available = Math.min(prefix.length, fileByteLength);
  if (available < MAGIC_BYTES || MAGIC.some((b, i) => prefix[i] !== b)) {
    const seen = Array.from(prefix.subarray(0, Math.min(available, MAGIC_BYTES)), (b) =>
      b.toString(16).padStart(2, '0'),
    ).join(' ');
    fail(name, `not a .npy file: it must start with the magic bytes 93 4e 55 4d 50 59 ("\\x93NUMPY"), found [${seen}]`);
  }
  if (available < MAGIC_BYTES + 2) fail(name, `truncated .npy file: ${fileByteLength} bytes end inside the version field`);
  const major = prefix[6];
  const minor = prefix[7];
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) {
    fail(name, `unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  const lengthFieldBytes = major === 1 ? 2 : 4;
  const headerOffset = MAGIC_BYTES + 2 + lengthFieldBytes;
  if (available < headerOffset) {
    fail(name, `truncated .npy file: ${fileByteLength} bytes end inside the header length field`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, headerOffset);
  const headerBytes = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerBytes > MAX_NPY_HEADER_BYTES) {
    fail(name, `.npy header length ${headerBytes} bytes exceeds the limit of ${MAX_NPY_HEADER_BYTES} (MAX_NPY_HEADER_BYTES)`);
  }
  const dataOffset = headerOffset + headerBytes;
  if (dataOffset > fileByteLength) {
    fail(name, `.npy header length ${headerBytes} bytes runs past the end of the file (${fileByteLength} bytes)`);
  }
  return { version: `${major}.0` as NpyHeader['version'], headerOffset, dataOffset };
}

interface HeaderDict {
  descr: string;
  fortranOrder: boolean;
  shape: bigint[];
}

/**
 * Strict parser for the subset of Python literal syntax numpy writes:
 * `{'descr': <str>, 'fortran_order': <bool>, 'shape': <tuple of int>}` with
 * keys in any order, each exactly once, an optional trailing comma, spaces or
 * tabs between tokens. Strings may use ' or " but no escapes.
 */
class HeaderParser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly name: string,
  ) {}

  parse(): HeaderDict {
    let descr: string | undefined;
    let fortranOrder: boolean | undefined;
    let shape: bigint[] | undefined;
    this.skipSpace();
    this.expect('{');
    for (;;) {
      this.skipSpace();
      if (this.peek() === '}') break;
      const keyAt = this.pos;
      const key = this.parseString('a key');
      this.skipSpace();
      this.expect(':');
      this.skipSpace();
      if (key === 'descr') {
        if (descr !== undefined) this.fail(`duplicate key 'descr'`, keyAt);
        if (this.peek() === '[' || this.peek() === '(') {
          this.fail('structured dtypes are not supported (descr must be a plain type string)');
        }
        descr = this.parseString("the 'descr' string");
      } else if (key === 'fortran_order') {
        if (fortranOrder !== undefined) this.fail(`duplicate key 'fortran_order'`, keyAt);
        fortranOrder = this.parseBool();
      } else if (key === 'shape') {
        if (shape !== undefined) this.fail(`duplicate key 'shape'`, keyAt);
        shape = this.parseShape();
      } else {
        this.fail(`unexpected key ${quote(key)} (a .npy header has exactly 'descr', 'fortran_order', 'shape')`, keyAt);
      }
      this.skipSpace();
      if (this.peek() === ',') {
        this.pos++;
        continue;
      }
      if (this.peek() === '}') break;
      this.fail(`expected ',' or '}'`);
    }
    this.pos++; // the '}'
    this.skipSpace();
    if (this.pos !== this.text.length) this.fail('unexpected text after the closing brace');
    const missing = [
      descr === undefined ? "'descr'" : '',
      fortranOrder === undefined ? "'fortran_order'" : '',
      shape === undefined ? "'shape'" : '',
    ].filter(Boolean);
    if (missing.length > 0) this.fail(`missing key${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, 0);
    return { descr: descr!, fortranOrder: fortranOrder!, shape: shape! };
  }

  private peek(): string {
    return this.text[this.pos] ?? '';
  }

  private skipSpace(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  private expect(ch: string): void {
    if (this.peek() !== ch) this.fail(`expected '${ch}'`);
    this.pos++;
  }

  private parseString(what: string): string {
    const q = this.peek();
    if (q !== "'" && q !== '"') this.fail(`expected ${what} as a quoted string`);
    const start = this.pos + 1;
    const end = this.text.indexOf(q, start);
    if (end < 0) this.fail('unterminated string');
    const s = this.text.slice(start, end);
    if (s.includes('\\')) this.fail('escape sequences in header strings are not supported', start);
    this.pos = end + 1;
    return s;
  }

  private parseBool(): boolean {
    const rest = this.text.slice(this.pos);
    const word = /^[A-Za-z_0-9]+/.exec(rest)?.[0] ?? '';
    if (word === 'True' || word === 'False') {
      this.pos += word.length;
      return word === 'True';
    }
    this.fail(`'fortran_order' must be True or False`);
  }

  private parseShape(): bigint[] {
    if (this.peek() === '[') this.fail("'shape' must be a tuple such as (2, 3), not a list");
    this.expect('(');
    const dims: bigint[] = [];
    this.skipSpace();
    if (this.peek() === ')') {
      this.pos++;
      return dims;
    }
    for (;;) {
      dims.push(this.parseDim(dims.length));
      this.skipSpace();
      if (this.peek() === ',') {
        this.pos++;
        this.skipSpace();
        if (this.peek() === ')') break;
        continue;
      }
      if (this.peek() === ')') {
        if (dims.length === 1) this.fail(`'shape' (n) is a number, not a tuple; numpy writes (n,)`);
        break;
      }
      this.fail(`expected ',' or ')' in 'shape'`);
    }
    this.pos++; // the ')'
    return dims;
  }

  private parseDim(axis: number): bigint {
    const start = this.pos;
    const token = /^[-+0-9A-Za-z_.]*/.exec(this.text.slice(start))![0];
    if (token === '') this.fail(`expected a dimension in 'shape'`);
    this.pos += token.length;
    if (/^-?(0|[1-9][0-9]*)$/.test(token)) {
      const value = BigInt(token);
      if (value < 0n) this.fail(`negative dimension ${token} at axis ${axis} of 'shape'`, start);
      return value;
    }
    if (/^[-+]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+)$/.test(token)) {
      this.fail(`non-integer dimension ${token} at axis ${axis} of 'shape'`, start);
    }
    this.fail(`malformed dimension ${quote(token)} at axis ${axis} of 'shape'`, start);
  }

  private fail(problem: string, at = this.pos): never {
    fail(this.name, `malformed .npy header: ${problem} at column ${at} of ${quote(this.text, 200)}`);
  }
}

/**
 * Parse and validate a .npy header without touching the data. `head` holds at
 * least the first `dataOffset` bytes of a file of `fileByteLength` bytes.
 * Throws TensorFileError naming `name` for anything but a well-formed header
 * whose shape accounts for exactly the bytes after it.
 */
export function parseNpyHeader(
  head: Uint8Array,
  fileByteLength: number,
  name = 'tensor',
  expectDtype?: DType,
): NpyHeader {
  const { version, headerOffset, dataOffset } = npyDataOffset(head, fileByteLength, name);
  if (head.length < dataOffset) {
    throw new RangeError(`parseNpyHeader(${name}): given ${head.length} bytes, the header needs ${dataOffset}`);
  }
  const raw = head.subarray(headerOffset, dataOffset);
  if (raw.length === 0 || raw[raw.length - 1] !== 0x0a) {
    fail(name, 'malformed .npy header: it must end with a newline (\\n)');
  }
  let text = '';
  for (let i = 0; i < raw.length - 1; i++) {
    const b = raw[i];
    // Only what numpy writes for a plain dtype: printable ASCII and tabs.
    if ((b < 0x20 && b !== 0x09) || b > 0x7e) {
      fail(name, `malformed .npy header: byte 0x${b.toString(16).padStart(2, '0')} at offset ${headerOffset + i} (only printable ASCII is allowed)`);
    }
    text += String.fromCharCode(b);
  }
  const dict = new HeaderParser(text, name).parse();

  const dtype = DESCR_TO_DTYPE.get(dict.descr);
  if (dtype === undefined) {
    const hint = /^>/.test(dict.descr)
      ? ' (big-endian data: save it little-endian, e.g. arr.astype(arr.dtype.newbyteorder("<")))'
      : '';
    fail(name, `unsupported dtype descr ${quote(dict.descr)}${hint}; supported: ${SUPPORTED_DESCRS}`);
  }
  if (dict.fortranOrder) {
    fail(name, 'fortran_order is True: only C-order arrays are supported (save np.ascontiguousarray(arr))');
  }
  if (dict.shape.length > MAX_NPY_RANK) {
    fail(name, `shape has ${dict.shape.length} dimensions, more than the limit of ${MAX_NPY_RANK} (MAX_NPY_RANK)`);
  }
  const shapeText = pythonTuple(dict.shape);
  let count = 1n;
  for (const d of dict.shape) count *= d;
  const tooBigDim = dict.shape.find((d) => d > BigInt(MAX_NPY_ELEMENTS));
  if (count > BigInt(MAX_NPY_ELEMENTS) || tooBigDim !== undefined) {
    fail(name, `shape ${shapeText} is too large: ${count} elements${tooBigDim !== undefined ? ` (dimension ${tooBigDim})` : ''}, the limit is ${MAX_NPY_ELEMENTS} (MAX_NPY_ELEMENTS)`);
  }
  if (expectDtype !== undefined && dtype !== expectDtype) {
    fail(name, `dtype is ${dtype} (descr ${quote(dict.descr)}), expected ${expectDtype}`);
  }
  const info = DTYPES[dtype];
  const elements = Number(count);
  const dataByteLength = elements * info.itemBytes;
  const remaining = fileByteLength - dataOffset;
  if (remaining < dataByteLength) {
    fail(name, `truncated data: shape ${shapeText} of ${dtype} needs ${dataByteLength} bytes after the header, the file has ${remaining}`);
  }
  if (remaining > dataByteLength) {
    fail(name, `trailing data: shape ${shapeText} of ${dtype} needs ${dataByteLength} bytes after the header, the file has ${remaining} (${remaining - dataByteLength} extra)`);
  }
  return { version, descr: dict.descr, dtype, shape: dict.shape.map(Number), numElements: elements, dataOffset, dataByteLength };
}

/** Allocate the typed array for a validated header (no data filled in yet; its bytes are then copied in as they are, little-endian). */
export function allocateNpyData(header: NpyHeader): TypedArrayOf<DType> {
  requireLittleEndianHost();
  return DTYPES[header.dtype].create(header.numElements);
}

/**
 * Parse a whole .npy file held in memory. The data is copied, so the result
 * never aliases `bytes`. `name` (usually the file name) appears in every error.
 *
 * @example
 *   const w = parseNpy(bytes, 'conv1.weight.npy', 'float32'); // Tensor<'float32'>
 *   const any = parseNpy(bytes);                              // AnyTensor: narrow on any.dtype
 */
export function parseNpy<D extends DType>(bytes: Uint8Array, name: string, expectDtype: D): Tensor<D>;
export function parseNpy(bytes: Uint8Array, name?: string): AnyTensor;
export function parseNpy(bytes: Uint8Array, name = 'tensor', expectDtype?: DType): AnyTensor {
  const header = parseNpyHeader(bytes, bytes.length, name, expectDtype);
  const data = allocateNpyData(header);
  new Uint8Array(data.buffer).set(bytes.subarray(header.dataOffset, header.dataOffset + header.dataByteLength));
  return { dtype: header.dtype, shape: header.shape, data } as AnyTensor;
}

/** Python's repr of a tuple of ints: (), (n,), (a, b). */
function pythonTuple(shape: readonly (number | bigint)[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/**
 * Serialize a tensor as .npy bytes, identical to numpy 2.x `np.save` for the
 * same array (format 1.0, data aligned to 64 bytes). Throws InputError naming
 * `name` if the tensor is inconsistent or beyond the limits the reader enforces.
 *
 * @example
 *   const bytes = serializeNpy(f32([2, 3], [1, 2, 3, 4, 5, 6]));
 */
export function serializeNpy(t: Tensor<DType>, name = 'tensor'): Uint8Array {
  requireLittleEndianHost();
  const info = Object.hasOwn(DTYPES, t.dtype) ? DTYPES[t.dtype] : undefined;
  if (info === undefined) throw new InputError(`${name}: dtype ${quote(String(t.dtype))} cannot be written to .npy`);
  const shape = t.shape;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new InputError(`${name}: invalid shape ${shapeToString(shape)}: dimensions must be non-negative integers`);
    }
  }
  if (shape.length > MAX_NPY_RANK) {
    throw new InputError(`${name}: shape ${shapeToString(shape)} has more than ${MAX_NPY_RANK} dimensions (MAX_NPY_RANK)`);
  }
  const n = numElements(shape);
  if (n > MAX_NPY_ELEMENTS || shape.some((d) => d > MAX_NPY_ELEMENTS)) {
    throw new InputError(`${name}: shape ${shapeToString(shape)} exceeds ${MAX_NPY_ELEMENTS} elements (MAX_NPY_ELEMENTS)`);
  }
  // Symbol.toStringTag names a typed array's kind, and also works across realms (workers, vm).
  const expectedArray = info.create(0)[Symbol.toStringTag];
  const actualArray: unknown = ArrayBuffer.isView(t.data) ? (t.data as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] : undefined;
  if (actualArray !== expectedArray) {
    throw new InputError(`${name}: dtype ${t.dtype} needs a ${expectedArray}, got ${String(actualArray ?? typeof t.data)}`);
  }
  if (t.data.length !== n) {
    throw new InputError(`${name}: data length ${t.data.length} does not match shape ${shapeToString(shape)} (${n} elements)`);
  }

  let dict = `{'descr': '${info.descr}', 'fortran_order': False, 'shape': ${pythonTuple(shape)}, }`;
  if (shape.length > 0) dict += ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length);
  const headerOffset = MAGIC_BYTES + 2 + 2;
  const unpadded = headerOffset + dict.length + 1; // + the final '\n'
  const padBytes = NPY_ALIGN_BYTES - (unpadded % NPY_ALIGN_BYTES); // numpy pads 1..64, never 0
  const headerBytes = dict.length + padBytes + 1; // < 65536 given MAX_NPY_RANK, so format 1.0 always fits
  const dataOffset = headerOffset + headerBytes;

  const out = new Uint8Array(dataOffset + t.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, headerBytes, true);
  for (let i = 0; i < dict.length; i++) out[headerOffset + i] = dict.charCodeAt(i);
  out.fill(0x20, headerOffset + dict.length, dataOffset - 1);
  out[dataOffset - 1] = 0x0a;
  out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), dataOffset);
  return out;
}
