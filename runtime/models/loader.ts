/**
 * Moves a checkpoint's tensors onto the GPU by name, checking each one's shape, so a model file reads
 * as a list of `await w.tensor('blocks.0.attn.proj.weight', [C, C])` lines.
 */
import { Tensor, type Gpu } from '../gpu/index.ts';
import { checkedFile } from '../io/model-file-error.ts';
import { packConv2dWeight, packedConv2dShape } from '../kernels/conv2d.ts';

/** What the loader needs of a tensor file (safetensors or .pth). */
export interface TensorSource {
  readonly tensors: ReadonlyMap<string, { shape: readonly number[]; dtype: string }>;
  /** `expectedShape` is a hint that only synthetic sources use (files know their shapes). */
  read(name: string, expectedShape?: readonly number[]): Promise<{ data: Float32Array | Int32Array; shape: readonly number[] }>;
}

/**
 * Random weights of whatever shape the model asks for: full-size configurations for timing runs
 * without downloading a checkpoint. Values ~ U(-1, 1)·√(3 / fan_in) (unit-variance activations), norms ~1.
 */
export class RandomWeights implements TensorSource {
  readonly tensors: ReadonlyMap<string, { shape: readonly number[]; dtype: string }>;

  constructor(private readonly seed = 1) {
    const any = { shape: [] as number[], dtype: 'F32' };
    this.tensors = { has: () => true, get: () => any, size: 0, keys: () => [][Symbol.iterator]() } as unknown as ReadonlyMap<string, { shape: readonly number[]; dtype: string }>;
  }

  async read(name: string, shape: readonly number[] = []): Promise<{ data: Float32Array; shape: readonly number[] }> {
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length >= 2 ? n / shape[0] : 1;
    const amp = shape.length >= 2 ? Math.sqrt(3 / fanIn) : 0.05;
    const base = /norm|scale_mul/.test(name) ? (name.endsWith('bias') ? 0 : 1) : 0;
    let s = (this.seed * 0x9e3779b1) ^ hash(name);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      data[i] = base + amp * ((s >>> 0) / 2147483648 - 1);
    }
    return { data, shape };
  }
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h | 1;
}

export type WeightDType = 'f32' | 'f16';

/** The dtypes weights may be stored in (integers are never read as floats). */
const FLOAT_DTYPES: readonly string[] = ['F32', 'F16', 'BF16', 'F64'];

export class WeightLoader {
  /** Bytes uploaded so far (what the model's weights occupy on the GPU). */
  bytes = 0;
  /** Every tensor uploaded, so a load that fails halfway can give them all back. */
  readonly uploaded: Tensor[] = [];

  constructor(
    private readonly gpu: Gpu,
    private readonly file: TensorSource,
    /** Prefix of every name in the file ('var.' in a model folder, '' in a bare checkpoint). */
    private readonly prefix: string,
    /** dtype of matrices: large weights are stored in half precision when 'f16'. */
    readonly dtype: WeightDType = 'f32',
    private readonly source = 'weights',
  ) {}

  /**
   * Host copy of a tensor, checked against the expected shape and a float dtype before any of its bytes
   * are read (a file that declares a huge tensor fails before it costs memory), and again after.
   */
  host(name: string, shape: readonly number[]): Promise<Float32Array> {
    return checkedFile(this.source, () => this.checkedHost(name, shape), `tensor '${this.prefix + name}'`);
  }

  private async checkedHost(name: string, shape: readonly number[]): Promise<Float32Array> {
    const full = this.prefix + name;
    const declared = this.file.tensors.get(full);
    if (!declared) throw this.missing(name);
    if (!(this.file instanceof RandomWeights)) {
      if (declared.shape.length !== shape.length || declared.shape.some((d, i) => d !== shape[i])) {
        throw new Error(`${this.source}: tensor '${full}' has shape [${declared.shape.join(', ')}], expected [${shape.join(', ')}]`);
      }
      if (!FLOAT_DTYPES.includes(declared.dtype)) {
        throw new Error(`${this.source}: tensor '${full}' is ${declared.dtype}, expected weights of a float dtype (${FLOAT_DTYPES.join(', ')})`);
      }
    }
    const t = await this.file.read(full, shape);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${this.source}: tensor '${full}' has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
  }

  /**
   * Uploads a tensor. `matrix` marks the large weights (linear and conv kernels) that are stored in
   * half precision when the loader's dtype is 'f16'; vectors (biases, norms) always stay f32.
   */
  async tensor(name: string, shape: readonly number[], opts: { matrix?: boolean } = {}): Promise<Tensor> {
    return this.upload(name, await this.host(name, shape), shape, opts.matrix);
  }

  /**
   * Uploads a conv kernel [Cout, Cin, k, k] (stored like `matrix` weights) in the layout the Gpu's kernel
   * style reads best: packed in channel groups for the 'direct' kernels (`packConv2dWeight`), as stored
   * for the 'workgroup' ones. `conv2d` takes either.
   */
  async convWeight(name: string, shape: readonly [number, number, number, number]): Promise<Tensor> {
    const data = await this.host(name, shape);
    if (this.gpu.kernelStyle !== 'direct') return this.upload(name, data, shape, true);
    return this.upload(name, packConv2dWeight(data, shape), packedConv2dShape(shape), true);
  }

  /** Uploads host data computed at load time (e.g. a fused bias) under a tensor's name. */
  upload(name: string, data: Float32Array, shape: readonly number[], matrix = false): Tensor {
    const dtype = matrix && this.dtype === 'f16' ? 'f16' : 'f32';
    const t = this.gpu.upload(data, shape, dtype, this.prefix + name);
    this.bytes += t.byteLength;
    this.gpu.weights.add(t.buffer);
    this.uploaded.push(t);
    return t;
  }

  /** Returns every uploaded tensor to the pool (after a failed load). */
  disposeAll(): void {
    for (const t of this.uploaded.splice(0)) {
      this.gpu.weights.delete(t.buffer);
      t.dispose();
    }
    this.bytes = 0;
  }

  private missing(name: string): Error {
    const names = [...this.file.tensors.keys()];
    const near = names.filter((n) => n.startsWith(this.prefix)).slice(0, 3);
    return new Error(
      `${this.source}: tensor '${this.prefix + name}' not found (the file has ${names.length} tensors` +
        (near.length ? `, e.g. ${near.map((n) => `'${n}'`).join(', ')})` : ')'),
    );
  }
}

/** Returns every weight tensor found in `roots` (objects and arrays of tensors, nested) to the pool. */
export function disposeWeights(gpu: Gpu, roots: unknown[]): void {
  const visit = (x: unknown): void => {
    if (x instanceof Tensor) {
      gpu.weights.delete(x.buffer);
      x.dispose();
    } else if (Array.isArray(x)) x.forEach(visit);
    else if (x && typeof x === 'object') Object.values(x).forEach(visit);
  };
  roots.forEach(visit);
}
