/**
 * PyTorch checkpoints written by torch.save (1.6+): a zip archive `<prefix>/data.pkl` +
 * `<prefix>/data/<key>`, where the pickle is the state dict and each tensor is
 * `_rebuild_tensor_v2(storage, storage_offset, size, stride, ...)` over a storage that a persistent
 * id `('storage', torch.FloatStorage, key, location, numel)` names. Opening runs the pickle (tensors
 * become descriptions, no data is read) and checks every view against its storage; reading a tensor
 * fetches its bytes from the archive, gathering a non-contiguous view into row-major order.
 * Top-level entries that are not tensors (rare in a state dict) are left out of `tensors`.
 */
import { checkedFile } from './model-file-error.ts';
import { Callable, show, unpickle } from './pickle.ts';
import type { ByteSource } from './source.ts';
import { DTYPE_SIZE, notFound, numel, readConverted, type FileDType, type TensorData, type TensorFile, type TensorInfo } from './tensor-file.ts';
import { ZipArchive } from './zip.ts';

/** Largest data.pkl read: a state dict's pickle names its tensors (a few hundred KB for the largest VAR). */
const MAX_PICKLE_BYTES = 64 * 1024 * 1024;

/** A .pth tensor: a strided view of a storage entry. */
export interface PthTensorInfo extends TensorInfo {
  /** The zip entry holding the storage (`<prefix>/data/<key>`); `offset` is relative to it. */
  entry: string;
  /** In elements, as torch gives them. */
  storageOffset: number;
  strides: number[];
  /** Row-major and dense: read with one range, no gather. */
  contiguous: boolean;
}

const STORAGE_DTYPES: Record<string, FileDType> = {
  FloatStorage: 'F32', DoubleStorage: 'F64', HalfStorage: 'F16', BFloat16Storage: 'BF16', LongStorage: 'I64',
  IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL',
};

class StorageType {
  constructor(readonly dtype: FileDType) {}
}

class Storage {
  constructor(
    readonly key: string,
    readonly dtype: FileDType,
    readonly numel: number,
  ) {}
}

class Rebuilt {
  constructor(
    readonly storage: Storage,
    readonly storageOffset: number,
    readonly shape: number[],
    readonly strides: number[],
  ) {}
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** The globals a state dict's pickle may name; anything else is refused. */
function allowedGlobal(module: string, name: string, file: string): unknown {
  const rebuild = (args: unknown[]) => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof Storage) || !isCount(offset) || !Array.isArray(size) || !Array.isArray(stride) || size.length !== stride.length || ![...size, ...stride].every(isCount)) {
      throw new Error(`${file}: ${name} expects (storage, offset, size, stride) of matching ranks, found ${show(args.slice(0, 4))}`);
    }
    return new Rebuilt(storage, offset, size as number[], stride as number[]);
  };
  if (module === 'torch' && Object.hasOwn(STORAGE_DTYPES, name)) return new StorageType(STORAGE_DTYPES[name]);
  if (module === 'torch._utils' && (name === '_rebuild_tensor_v2' || name === '_rebuild_tensor')) return new Callable(name, rebuild);
  if (module === 'torch._utils' && name === '_rebuild_parameter') return new Callable(name, (args) => args[0]);
  if (module === 'collections' && name === 'OrderedDict') {
    return new Callable(name, (args) => new Map(Array.isArray(args[0]) ? (args[0] as [unknown, unknown][]) : []));
  }
  return undefined;
}

/** A torch.save checkpoint of a state dict; tensors are read on demand. */
export class PthFile implements TensorFile {
  readonly metadata: Record<string, string> = {};

  private constructor(
    private readonly zip: ZipArchive,
    readonly tensors: Map<string, PthTensorInfo>,
  ) {}

  get name(): string {
    return this.zip.source.name;
  }

  /** Reads the archive's directory and pickle, and validates every tensor against its storage. */
  static async open(src: ByteSource): Promise<PthFile> {
    const magic = await src.read(0, Math.min(src.size, 2));
    if (magic[0] === 0x80 && magic[1] === 0x02) {
      throw new Error(`${src.name}: a legacy (PyTorch < 1.6) torch.save file, expected the zip format; re-save it with a recent torch or convert it to safetensors`);
    }
    const zip = await ZipArchive.open(src);
    const pkl = [...zip.entries.keys()].find((n) => /^([^/]+\/)?data\.pkl$/.test(n));
    if (!pkl) throw new Error(`${src.name}: no data.pkl in the archive (entries: ${[...zip.entries.keys()].slice(0, 5).join(', ')}); is it a torch.save checkpoint?`);
    const prefix = pkl.slice(0, -'data.pkl'.length);
    const order = zip.entries.get(`${prefix}byteorder`);
    if (order && new TextDecoder().decode(await zip.read(order)).trim() !== 'little') {
      throw new Error(`${src.name}: tensors are stored big-endian, expected little-endian`);
    }

    const where = `${src.name}/${pkl}`;
    const pklEntry = zip.entry(pkl);
    if (pklEntry.size > MAX_PICKLE_BYTES) throw new Error(`${where}: the pickle declares ${pklEntry.size} bytes, expected a state dict's (at most ${MAX_PICKLE_BYTES})`);
    const storages = new Map<string, Storage>();
    const root = unpickle(await zip.read(pklEntry), {
      global: (module, name) => allowedGlobal(module, name, where),
      persistentLoad: (pid) => {
        const [kind, type, key, , count] = Array.isArray(pid) ? pid : [];
        if (kind !== 'storage' || !(type instanceof StorageType) || typeof key !== 'string' || !isCount(count)) {
          throw new Error(`${where}: persistent id ${show(pid)} is not ('storage', type, key, location, numel)`);
        }
        const known = storages.get(key) ?? new Storage(key, type.dtype, count);
        storages.set(key, known);
        return known;
      },
      // An OrderedDict's state (a state dict's `_metadata`) is not needed to read its tensors.
      build: (obj) => obj instanceof Map,
    }, where);
    if (!(root instanceof Map)) throw new Error(`${where}: expected a state dict (a dict of tensors) at the top level, found ${Array.isArray(root) ? 'a list' : typeof root}`);

    const tensors = new Map<string, PthTensorInfo>();
    for (const [name, value] of root) {
      if (typeof name !== 'string' || !(value instanceof Rebuilt)) continue;
      tensors.set(name, describeTensor(zip, prefix, name, value));
    }
    if (tensors.size === 0) {
      const keys = [...root.keys()].slice(0, 5).map(String);
      throw new Error(`${where}: no tensors at the top level, expected a state dict (keys: ${keys.join(', ') || 'none'}); a checkpoint wrapping its state dict must be unwrapped first`);
    }
    return new PthFile(zip, tensors);
  }

  /** The tensor's entry, or the not-found error listing what the file has. */
  info(name: string): PthTensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw notFound(this.name, name, this.tensors.keys());
    return info;
  }

  readRaw(name: string): Promise<Uint8Array> {
    return checkedFile(this.name, async () => {
      const info = this.info(name);
      const entry = this.zip.entry(info.entry);
      if (info.contiguous) return this.zip.read(entry, info.offset, info.byteLength);
      const item = DTYPE_SIZE[info.dtype];
      const last = info.shape.reduce((sum, d, i) => sum + (d - 1) * info.strides[i], 0);
      const span = await this.zip.read(entry, info.offset, (last + 1) * item);
      return gather(span, info.shape, info.strides, item);
    }, `tensor '${name}'`);
  }

  read(name: string): Promise<TensorData> {
    return readConverted(this, name);
  }
}

/** Opens a torch.save checkpoint (see PthFile); a bad file is a ModelFileError. */
export function openPth(src: ByteSource): Promise<PthFile> {
  return checkedFile(src.name, () => PthFile.open(src));
}

function describeTensor(zip: ZipArchive, prefix: string, name: string, t: Rebuilt): PthTensorInfo {
  const { storage, storageOffset, shape, strides } = t;
  const where = `${zip.source.name}: tensor '${name}'`;
  const entryName = `${prefix}data/${storage.key}`;
  const entry = zip.entries.get(entryName);
  if (!entry) throw new Error(`${where}: its storage '${entryName}' is missing from the archive`);
  const item = DTYPE_SIZE[storage.dtype];
  if (entry.size < storage.numel * item) {
    throw new Error(`${where}: storage '${entryName}' has ${entry.size} bytes, expected ${storage.numel * item} (${storage.numel} × ${storage.dtype})`);
  }
  const n = numel(shape);
  if (n > 0) {
    const last = storageOffset + shape.reduce((sum, d, i) => sum + (d - 1) * strides[i], 0);
    if (last >= storage.numel) {
      throw new Error(`${where}: view [${shape.join(', ')}] with strides [${strides.join(', ')}] at offset ${storageOffset} reaches element ${last}, expected < ${storage.numel} (the storage's size)`);
    }
  }
  let expected = 1;
  let contiguous = true;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) contiguous = false;
    expected *= shape[i];
  }
  return {
    name, dtype: storage.dtype, shape, offset: storageOffset * item, byteLength: n * item,
    entry: entryName, storageOffset, strides, contiguous: contiguous || n === 0,
  };
}

/** Copies a strided view (element strides, from the start of `span`) into row-major order. */
function gather(span: Uint8Array, shape: number[], strides: number[], item: number): Uint8Array {
  const n = numel(shape);
  const out = new Uint8Array(n * item);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let src = 0;
  for (let i = 0; i < n; i++) {
    for (let b = 0, from = src * item, to = i * item; b < item; b++) out[to + b] = span[from + b];
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      src += strides[d];
      if (index[d] < shape[d]) break;
      src -= index[d] * strides[d];
      index[d] = 0;
    }
  }
  return out;
}
