/**
 * What safetensors and .pth files have in common: a table of named tensors read lazily, one at a
 * time, as Float32Array (floats) or Int32Array (integers), or as raw little-endian bytes in the
 * file's dtype (to upload f16 weights without a round trip through f32).
 */
import { fromBFloat16, fromHalf } from '../gpu/half.ts';
import { checkedFile } from './model-file-error.ts';

/** Element types, with safetensors' names (a .pth storage type maps onto one of these). */
export type FileDType = 'BOOL' | 'U8' | 'I8' | 'I16' | 'U16' | 'F16' | 'BF16' | 'I32' | 'U32' | 'F32' | 'F64' | 'I64' | 'U64' | 'F8_E4M3' | 'F8_E5M2';

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<FileDType, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

export function isFileDType(s: unknown): s is FileDType {
  return typeof s === 'string' && Object.hasOwn(DTYPE_SIZE, s);
}

/** One tensor of a file. */
export interface TensorInfo {
  name: string;
  dtype: FileDType;
  shape: number[];
  /**
   * Byte offset of the first element: in the file for safetensors, in the storage entry
   * (`PthTensorInfo.entry`) for .pth.
   */
  offset: number;
  /** Bytes of the tensor's elements (numel · element size). */
  byteLength: number;
}

/** A tensor read into memory, row-major. */
export interface TensorData {
  /** Floats (F32, F16, BF16, F64) as Float32Array; integers and booleans as Int32Array. */
  data: Float32Array | Int32Array;
  shape: number[];
  /** The dtype in the file. */
  dtype: FileDType;
}

/** A file of named tensors (safetensors or PyTorch .pth). */
export interface TensorFile {
  /** The source's path or URL, for messages. */
  readonly name: string;
  readonly tensors: Map<string, TensorInfo>;
  /** String metadata (safetensors' `__metadata__`; empty for .pth). */
  readonly metadata: Record<string, string>;
  /** The tensor converted to f32 or i32; throws when missing, or when an integer does not fit in i32. */
  read(name: string): Promise<TensorData>;
  /** The tensor's elements as little-endian bytes in the file's dtype, row-major. */
  readRaw(name: string): Promise<Uint8Array>;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The "tensor 'x' not found in FILE (has N tensors, e.g. ...)" error, listing the closest names first. */
export function notFound(file: string, name: string, names: Iterable<string>): Error {
  const all = [...names];
  const common = (a: string): number => {
    let i = 0;
    while (i < a.length && i < name.length && a[i] === name[i]) i++;
    return i;
  };
  const near = all
    .map((n, i) => ({ n, i, score: name.endsWith('.' + n) || n.endsWith('.' + name) ? Infinity : common(n) }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .slice(0, 3)
    .map((e) => `'${e.n}'`);
  return new Error(`tensor '${name}' not found in ${file} (has ${all.length} tensors${near.length ? `, e.g. ${near.join(', ')}` : ''})`);
}

/** Copies bytes into a fresh, aligned buffer and views it as `T` (sources may return unaligned views). */
function aligned<T>(bytes: Uint8Array, make: (buffer: ArrayBuffer) => T): T {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return make(copy.buffer);
}

/**
 * Converts raw little-endian elements to f32 (floats) or i32 (integers, booleans). `where` names
 * the tensor and file for the error thrown when a 64-bit or unsigned integer does not fit in i32.
 */
export function convert(bytes: Uint8Array, dtype: FileDType, where: string): Float32Array | Int32Array {
  const n = bytes.length / DTYPE_SIZE[dtype];
  const tooBig = (i: number, value: bigint | number): Error =>
    new Error(`${where}: ${dtype} value ${value} at index ${i} does not fit in int32 (expected -2147483648..2147483647)`);
  switch (dtype) {
    case 'F32':
      return aligned(bytes, (b) => new Float32Array(b));
    case 'F64':
      return Float32Array.from(aligned(bytes, (b) => new Float64Array(b)));
    case 'F16':
    case 'BF16': {
      const half = aligned(bytes, (b) => new Uint16Array(b));
      const out = new Float32Array(n);
      const conv = dtype === 'F16' ? fromHalf : fromBFloat16;
      for (let i = 0; i < n; i++) out[i] = conv(half[i]);
      return out;
    }
    case 'I32':
      return aligned(bytes, (b) => new Int32Array(b));
    case 'U32': {
      const out = aligned(bytes, (b) => new Int32Array(b));
      for (let i = 0; i < n; i++) if (out[i] < 0) throw tooBig(i, out[i] >>> 0);
      return out;
    }
    case 'I64':
    case 'U64': {
      const words = aligned(bytes, (b) => new Int32Array(b));
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = words[2 * i];
        const hi = words[2 * i + 1];
        if (hi !== lo >> 31 || (dtype === 'U64' && hi !== 0)) {
          const big = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
          throw tooBig(i, dtype === 'I64' ? BigInt.asIntN(64, big) : big);
        }
        out[i] = lo;
      }
      return out;
    }
    case 'I16':
      return Int32Array.from(aligned(bytes, (b) => new Int16Array(b)));
    case 'U16':
      return Int32Array.from(aligned(bytes, (b) => new Uint16Array(b)));
    case 'I8':
      return Int32Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length));
    case 'U8':
    case 'BOOL':
      return Int32Array.from(bytes);
    default:
      throw new Error(`${where}: cannot convert ${dtype} to f32 or i32 (read its raw bytes with readRaw)`);
  }
}

/** What `readConverted` needs of a file: its name, a tensor's entry, and its raw bytes. */
interface RawTensors {
  readonly name: string;
  info(name: string): TensorInfo;
  readRaw(name: string): Promise<Uint8Array>;
}

/** A tensor of `file` read as TensorData (floats as Float32Array, integers as Int32Array), errors as ModelFileError. */
export function readConverted(file: RawTensors, name: string): Promise<TensorData> {
  return checkedFile(file.name, async () => {
    const info = file.info(name);
    const data = convert(await file.readRaw(name), info.dtype, `tensor '${name}' in ${file.name}`);
    return { data, shape: [...info.shape], dtype: info.dtype };
  }, `tensor '${name}'`);
}
