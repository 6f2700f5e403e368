/**
 * The runtime's GPU context: the device, its buffer pool, its pipeline cache, the shared uniform ring,
 * cached bind groups, and the helpers that move tensors between the CPU and the GPU (tests, file
 * loading and final outputs only: nothing on a per-scale path reads back).
 */
import type { StructuredView } from 'webgpu-utils';
import { BufferPool } from './buffer-pool.ts';
import { requestDevice, type DeviceOptions } from './device.ts';
import { packHalves, unpackHalves } from './half.ts';
import type { Kernel } from './kernel.ts';
import { Pipelines, type Pipeline } from './pipelines.ts';
import type { Profiler } from './profiler.ts';
import { Recorder, type Resource } from './recorder.ts';
import { byteSize, elementCount, Tensor, type DType } from './tensor.ts';

const STORAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST, valid before the globals exist
const UNIFORM_RING_BYTES = 256 * 256;

export type HostArray = Float32Array | Int32Array | Uint32Array;

/**
 * How the heavy kernels are written for the adapter (docs/kernels.md).
 * - 'workgroup': linear, conv2d, matmul and attention stage tiles in workgroup memory between barriers, each
 *   value loaded once per tile, and row kernels reduce with 256 invocations: what GPUs run fastest.
 * - 'direct': linear, conv2d, matmul and attention keep a small block of sums per invocation in registers and
 *   read memory straight, with no workgroup memory and no barrier; row kernels use 4 invocations. A
 *   CPU-emulated adapter (SwiftShader) runs these 3 to 80 times faster: it turns a workgroup that meets
 *   at barriers into coroutines, and its CPU caches already do what workgroup memory would.
 */
export type KernelStyle = 'workgroup' | 'direct';

export const KERNEL_STYLES: readonly KernelStyle[] = ['workgroup', 'direct'];

/**
 * Invocations of a workgroup that works through one row together (norms, softmax, sampling, the nearest
 * code): 256 for GPUs; in the direct style 4, one SIMD group of a CPU-emulated adapter, where every
 * barrier among more invocations costs a coroutine switch per group (docs/kernels.md measures it).
 */
export function rowWorkgroupSize(style: KernelStyle): number {
  return style === 'direct' ? 4 : 256;
}

export interface GpuOptions extends DeviceOptions {
  /**
   * Default: 'direct' on a software adapter, else 'workgroup'; in Node, the environment variable
   * NEXTSCALE_KERNELS (workgroup or direct) sets it when this option does not.
   */
  kernelStyle?: KernelStyle;
  /**
   * Set false to keep the direct kernels off subgroup operations where the adapter has them (default: use
   * them); in Node, NEXTSCALE_SUBGROUPS=0 does the same when this option is not given.
   */
  subgroups?: boolean;
}

/** Invocations of a subgroup the direct kernels' subgroup forms are written for: a CPU-emulated adapter's SIMD width. */
export const DIRECT_SUBGROUP_SIZE = 4;

export class Gpu {
  readonly pool: BufferPool;
  readonly pipelines: Pipelines;
  readonly hasTimestamps: boolean;
  readonly uniformRing: GPUBuffer;
  readonly uniformRingBytes = UNIFORM_RING_BYTES;
  readonly uniformSlot: number;
  /** Buffers holding model weights (counted by recorders as weight traffic). */
  readonly weights = new WeakSet<GPUBuffer>();
  private readonly views = new Map<Kernel, StructuredView | undefined>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<object, number>();
  private nextBufferId = 0;
  private readonly querySets: GPUQuerySet[] = [];

  /**
   * While set, every recorder made times each of its dispatches alone into this profiler (the roofline
   * bench); recorders made before it was set, or after it was cleared, record as usual.
   */
  profiler?: Profiler;

  /** The kernel style of the recorders this context makes (`recorder` can override it). */
  readonly kernelStyle: KernelStyle;

  /**
   * Whether the direct kernels may share loads across a subgroup (`recorder` can turn it off): a software
   * adapter whose device has the 'subgroups' feature with subgroups of exactly DIRECT_SUBGROUP_SIZE
   * invocations. The kernels take a subgroup to be 4 neighbouring invocations, as SwiftShader runs a
   * workgroup's invocations in order, 4 at a time (its SIMD width); a GPU promises no such order.
   */
  readonly subgroups: boolean;

  constructor(readonly device: GPUDevice, kernelStyle?: KernelStyle, subgroups = true) {
    this.kernelStyle = kernelStyle ?? (this.isSoftware ? 'direct' : 'workgroup');
    const info = device.adapterInfo;
    this.subgroups = subgroups && this.isSoftware && device.features.has('subgroups') &&
      info?.subgroupMinSize === DIRECT_SUBGROUP_SIZE && info?.subgroupMaxSize === DIRECT_SUBGROUP_SIZE;
    this.pool = new BufferPool(device);
    this.pipelines = new Pipelines(device);
    this.hasTimestamps = device.features.has('timestamp-query');
    this.uniformSlot = device.limits.minUniformBufferOffsetAlignment;
    this.uniformRing = device.createBuffer({ size: UNIFORM_RING_BYTES, usage: 0x40 | 0x8, label: 'uniform ring' });
    // WebGPU reports shader and validation errors asynchronously; keep them where tests and tools look.
    device.addEventListener('uncapturederror', (e) => {
      const message = (e as GPUUncapturedErrorEvent).error.message;
      this.errors.push(message);
      console.error(`WebGPU error: ${message}`);
    });
  }

  /** Validation and shader errors the device reported (each is also printed). */
  readonly errors: string[] = [];

  /** Read-backs so far (`read` calls: every copy from the GPU to the CPU goes through it), and their bytes. */
  readonly readbacks = { count: 0, bytes: 0 };

  static async create(options: GpuOptions = {}): Promise<Gpu> {
    const env = typeof process !== 'undefined' ? process.env : undefined;
    const fromEnv = env?.NEXTSCALE_KERNELS;
    const style = options.kernelStyle ?? (fromEnv ? parseKernelStyle(fromEnv, 'NEXTSCALE_KERNELS') : undefined);
    return new Gpu(await requestDevice(options), style, options.subgroups ?? env?.NEXTSCALE_SUBGROUPS !== '0');
  }

  /** The adapter in words, as the browser or Dawn reports it (vendor, architecture, description). */
  get adapterName(): string {
    const info = this.device.adapterInfo;
    return [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') || 'an unnamed adapter';
  }

  /** True on a software adapter (SwiftShader, llvmpipe): time absolute numbers only elsewhere. */
  get isSoftware(): boolean {
    const info = this.device.adapterInfo;
    return !info || /swiftshader|llvmpipe|software|cpu/i.test(`${info.vendor} ${info.architecture} ${info.description} ${info.device}`);
  }

  /** An uninitialised tensor from the pool. */
  tensor(shape: readonly number[], dtype: DType = 'f32', label = 'tensor'): Tensor {
    const buffer = this.pool.acquire(Math.max(4, byteSize(dtype, elementCount(shape))), STORAGE, label);
    return new Tensor(buffer, shape, dtype, (t) => this.pool.release(t.buffer));
  }

  /** Uploads host data. With dtype 'f16', float values are rounded to halves and packed. */
  upload(data: ArrayLike<number>, shape: readonly number[], dtype: DType = 'f32', label = 'tensor'): Tensor {
    const n = elementCount(shape);
    if (data.length !== n) throw new Error(`upload '${label}': shape [${shape}] needs ${n} values, got ${data.length}`);
    const t = this.tensor(shape, dtype, label);
    this.write(t, data);
    return t;
  }

  /** Overwrites a tensor's contents from host data (queued: takes effect before the next submit). */
  write(t: Tensor, data: ArrayLike<number>): void {
    const host = toHost(data, t.dtype);
    this.device.queue.writeBuffer(t.buffer, 0, host.buffer, host.byteOffset, host.byteLength);
  }

  /** Reads a tensor back (f16 comes back as float32 values). */
  async read(t: Tensor): Promise<HostArray> {
    const bytes = t.byteLength;
    this.readbacks.count++;
    this.readbacks.bytes += bytes;
    const staging = this.pool.acquire(bytes, 0x1 | 0x8, `read ${t.buffer.label}`); // MAP_READ | COPY_DST
    const encoder = this.device.createCommandEncoder({ label: 'read' });
    encoder.copyBufferToBuffer(t.buffer, 0, staging, 0, Math.ceil(bytes / 4) * 4);
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(0x1, 0, Math.ceil(bytes / 4) * 4);
    const copy = staging.getMappedRange(0, Math.ceil(bytes / 4) * 4).slice(0);
    staging.unmap();
    this.pool.release(staging);
    switch (t.dtype) {
      case 'f32': return new Float32Array(copy);
      case 'i32': return new Int32Array(copy);
      case 'u32': return new Uint32Array(copy);
      case 'f16': return unpackHalves(new Uint32Array(copy), t.size);
    }
  }

  recorder(label?: string, timing = false, kernelStyle = this.kernelStyle, subgroups = this.subgroups): Recorder {
    return new Recorder(this, label, timing, kernelStyle, subgroups && this.subgroups);
  }

  /** Runs `record` on a fresh recorder (of this context's kernel style and subgroup use unless given) and submits it. */
  run(label: string, record: (rec: Recorder) => void, kernelStyle = this.kernelStyle, subgroups = this.subgroups): void {
    const rec = this.recorder(label, false, kernelStyle, subgroups);
    record(rec);
    rec.submit();
    rec.dispose();
  }

  /** The kernel's uniform view, made once per kernel. */
  uniformView(kernel: Kernel): StructuredView | undefined {
    if (!this.views.has(kernel)) this.views.set(kernel, kernel.makeUniformView());
    return this.views.get(kernel);
  }

  /** The bind group for these resources, made once per distinct set. */
  bindGroup(p: Pipeline, resources: Record<string, Resource>): GPUBindGroup {
    const bindings = p.kernel.bindings;
    let key = `${p.id}`;
    for (const b of bindings) {
      if (b.kind === 'uniform') continue;
      const r = resources[b.name];
      if (!r) throw new Error(`kernel ${p.kernel.name}: binding '${b.name}' not given (has ${Object.keys(resources).join(', ')})`);
      key += `:${this.idOf(r instanceof Tensor ? r.buffer : r)}`;
    }
    let group = this.bindGroups.get(key);
    if (group) return group;
    group = this.device.createBindGroup({
      label: p.kernel.name,
      layout: p.layout,
      entries: bindings.map((b) => {
        if (b.kind === 'uniform') return { binding: b.binding, resource: { buffer: this.uniformRing, size: this.uniformView(p.kernel)!.arrayBuffer.byteLength } };
        const r = resources[b.name];
        if (r instanceof Tensor) return { binding: b.binding, resource: { buffer: r.buffer } };
        if ('mapAsync' in r) return { binding: b.binding, resource: { buffer: r } };
        return { binding: b.binding, resource: r };
      }),
    });
    this.bindGroups.set(key, group);
    return group;
  }

  private idOf(o: object): number {
    let id = this.bufferIds.get(o);
    if (id === undefined) this.bufferIds.set(o, (id = this.nextBufferId++));
    return id;
  }

  private readonly stagings: Uint8Array<ArrayBuffer>[] = [];

  /** A CPU buffer for one recording's uniforms (reused: recorders are made per unit of work). */
  acquireUniformStaging(): Uint8Array<ArrayBuffer> {
    return this.stagings.pop() ?? new Uint8Array(this.uniformRingBytes);
  }

  releaseUniformStaging(staging: Uint8Array<ArrayBuffer>): void {
    this.stagings.push(staging);
  }

  acquireQuerySet(count: number): GPUQuerySet {
    return this.querySets.pop() ?? this.device.createQuerySet({ type: 'timestamp', count, label: 'timestamps' });
  }

  releaseQuerySet(q: GPUQuerySet): void {
    this.querySets.push(q);
  }

  /** Encodes a resolve of `pairs` begin/end timestamps; the returned function maps them after submit. */
  resolveTimestamps(encoder: GPUCommandEncoder, querySet: GPUQuerySet, pairs: number): () => Promise<number[]> {
    const bytes = pairs * 16;
    const resolve = this.pool.acquire(bytes, 0x200 | 0x4, 'timestamps'); // QUERY_RESOLVE | COPY_SRC
    const staging = this.pool.acquire(bytes, 0x1 | 0x8, 'timestamps read');
    encoder.resolveQuerySet(querySet, 0, pairs * 2, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, staging, 0, bytes);
    return async () => {
      await staging.mapAsync(0x1, 0, bytes);
      const t = new BigUint64Array(staging.getMappedRange(0, bytes).slice(0));
      staging.unmap();
      this.pool.release(staging);
      this.pool.release(resolve);
      return Array.from({ length: pairs }, (_, i) => Number(t[2 * i + 1] - t[2 * i]) / 1e6);
    };
  }

  destroy(): void {
    this.device.destroy();
  }
}

/** A kernel style by name; anything else is an error naming the two. */
export function parseKernelStyle(value: string, what = 'kernel style'): KernelStyle {
  if (!(KERNEL_STYLES as readonly string[]).includes(value)) throw new Error(`${what}: expected ${KERNEL_STYLES.join(' or ')}, found '${value}'`);
  return value as KernelStyle;
}

function toHost(data: ArrayLike<number>, dtype: DType): HostArray {
  switch (dtype) {
    case 'f32': return data instanceof Float32Array ? data : Float32Array.from(data);
    case 'i32': return data instanceof Int32Array ? data : Int32Array.from(data);
    case 'u32': return data instanceof Uint32Array ? data : Uint32Array.from(data);
    case 'f16': return packHalves(data);
  }
}
