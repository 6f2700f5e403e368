/**
 * safetensors: an 8-byte little-endian header length N, N bytes of JSON
 * (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`), then the
 * data section that the offsets index. Opening reads only the header, and validates it whole (every
 * offset inside the data section, sized by dtype and shape, the tensors tiling the section exactly) so
 * a bad file fails at open with a message naming the tensor; tensors are then read one at a time.
 */
import { toHalf } from '../gpu/half.ts';
import { checkedFile } from './model-file-error.ts';
import type { ByteSource } from './source.ts';
import { DTYPE_SIZE, isFileDType, notFound, numel, readConverted, type TensorData, type TensorFile, type TensorInfo } from './tensor-file.ts';

/** The format's limit on the header (its reference implementation refuses larger ones). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

const describe = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + '...' : s;
};

/** A safetensors file whose header has been read and validated; tensors are read on demand. */
export class SafetensorsFile implements TensorFile {
  private constructor(
    private readonly source: ByteSource,
    readonly tensors: Map<string, TensorInfo>,
    readonly metadata: Record<string, string>,
  ) {}

  get name(): string {
    return this.source.name;
  }

  /** Reads and validates the header. */
  static async open(src: ByteSource): Promise<SafetensorsFile> {
    if (src.size < 8) throw new Error(`${src.name}: file is ${src.size} bytes, too short for a safetensors header (expected at least 8)`);
    const headerLength = Number(new DataView((await src.read(0, 8)).slice().buffer).getBigUint64(0, true));
    if (headerLength > src.size - 8) {
      throw new Error(`${src.name}: header length is ${headerLength} bytes but only ${src.size - 8} bytes follow the 8-byte length (truncated, or not a safetensors file?)`);
    }
    if (headerLength > MAX_HEADER_BYTES) throw new Error(`${src.name}: header length is ${headerLength} bytes, expected at most ${MAX_HEADER_BYTES}`);
    const bytes = await src.read(8, headerLength);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (e) {
      const start = new TextDecoder().decode(bytes.subarray(0, 40));
      throw new Error(`${src.name}: header is not valid JSON (${(e as Error).message}); it starts with ${JSON.stringify(start)}`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) {
      throw new Error(`${src.name}: header must be a JSON object, found ${describe(header)}`);
    }
    const dataStart = 8 + headerLength;
    const { tensors, metadata } = parseHeader(header as Record<string, unknown>, src.name, dataStart, src.size - dataStart);
    return new SafetensorsFile(src, tensors, metadata);
  }

  /** The tensor's entry, or the not-found error listing what the file has. */
  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw notFound(this.name, name, this.tensors.keys());
    return info;
  }

  readRaw(name: string): Promise<Uint8Array> {
    return checkedFile(this.name, async () => {
      const info = this.info(name);
      return this.source.read(info.offset, info.byteLength);
    }, `tensor '${name}'`);
  }

  read(name: string): Promise<TensorData> {
    return readConverted(this, name);
  }
}

/** Reads a safetensors file's header (see SafetensorsFile); a bad file is a ModelFileError. */
export function openSafetensors(src: ByteSource): Promise<SafetensorsFile> {
  return checkedFile(src.name, () => SafetensorsFile.open(src));
}

function parseHeader(header: Record<string, unknown>, file: string, dataStart: number, dataSize: number) {
  const tensors = new Map<string, TensorInfo>();
  const metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new Error(`${file}: __metadata__ must be an object of strings, found ${describe(entry)}`);
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw new Error(`${file}: __metadata__ '${k}' must be a string, found ${describe(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `${file}: tensor '${name}'`;
    if (typeof entry !== 'object' || entry === null) throw new Error(`${where}: expected {dtype, shape, data_offsets}, found ${describe(entry)}`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (!isFileDType(dtype)) throw new Error(`${where} has unknown dtype ${describe(dtype)} (expected one of ${Object.keys(DTYPE_SIZE).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(`${where} has shape ${describe(shape)}, expected an array of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw new Error(`${where} has data_offsets ${describe(offsets)}, expected [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataSize) {
      throw new Error(`${where} has data_offsets [${begin}, ${end}] outside the data section, expected end <= ${dataSize} (file truncated?)`);
    }
    const byteLength = numel(shape) * DTYPE_SIZE[dtype];
    if (end - begin !== byteLength) {
      throw new Error(`${where} has data_offsets [${begin}, ${end}] spanning ${end - begin} bytes, expected ${byteLength} (${dtype} [${shape.join(', ')}])`);
    }
    tensors.set(name, { name, dtype, shape: [...shape], offset: dataStart + begin, byteLength });
    spans.push({ name, begin, end });
  }
  // As the format's own reader requires: the tensors tile the data section, back to back from its
  // start to its end. A header length off by a few bytes (into its padding) shifts every tensor, and a
  // same-size edit of an offset moves one; both leave a gap, an overlap or a wrong end.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const [i, b] of spans.entries()) {
    if (b.begin < covered) {
      const a = spans[i - 1];
      throw new Error(`${file}: tensors '${a.name}' [${a.begin}, ${a.end}] and '${b.name}' [${b.begin}, ${b.end}] overlap, expected disjoint data_offsets`);
    }
    if (b.begin > covered) throw new Error(`${file}: tensor '${b.name}' starts at data offset ${b.begin}, expected ${covered} (no gaps between tensors)`);
    covered = b.end;
  }
  if (covered !== dataSize) {
    throw new Error(`${file}: the tensors cover ${covered} bytes of a ${dataSize}-byte data section, expected all of it (a wrong header length, or bytes appended?)`);
  }
  return { tensors, metadata };
}

/** One tensor to write. */
export interface SafetensorsEntry {
  name: string;
  dtype: 'F32' | 'F16' | 'I32';
  shape: readonly number[];
  /** Values; for F16 also a Uint16Array of half bits (stored as is). */
  data: ArrayLike<number>;
}

/**
 * Serialises tensors (in the given order, back to back) and string metadata into one safetensors
 * file; the header is padded with spaces to a multiple of 8 bytes, as the format asks.
 *
 * @example writeSafetensors([{ name: 'x', dtype: 'F32', shape: [2], data: [1, 2] }]).length // 72
 */
export function writeSafetensors(tensors: readonly SafetensorsEntry[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new Error(`writeSafetensors: metadata '${k}' must be a string, found ${typeof v}`);
    header.__metadata__ = metadata;
  }
  const bodies: Uint8Array[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || Object.hasOwn(header, t.name)) throw new Error(`writeSafetensors: tensor name '${t.name}' is reserved or repeated`);
    if (!['F32', 'F16', 'I32'].includes(t.dtype)) throw new Error(`writeSafetensors: tensor '${t.name}' has dtype ${t.dtype}, expected F32, F16 or I32`);
    const n = numel(t.shape);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || t.data.length !== n) {
      throw new Error(`writeSafetensors: tensor '${t.name}' has ${t.data.length} values, expected ${n} for shape [${t.shape.join(', ')}]`);
    }
    const body = encode(t);
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + body.length] };
    bodies.push(body);
    offset += body.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const b of bodies) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

function encode(t: SafetensorsEntry): Uint8Array {
  if (t.dtype === 'F32') return new Uint8Array(Float32Array.from(t.data).buffer);
  if (t.dtype === 'F16') {
    const half = t.data instanceof Uint16Array ? t.data.slice() : Uint16Array.from(t.data as ArrayLike<number>, toHalf);
    return new Uint8Array(half.buffer);
  }
  const ints = new Int32Array(t.data.length);
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i];
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw new Error(`writeSafetensors: tensor '${t.name}' value ${v} at index ${i} is not an int32`);
    ints[i] = v;
  }
  return new Uint8Array(ints.buffer);
}
