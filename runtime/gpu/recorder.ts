/**
 * Records dispatches into one command encoder, counts them per kernel and per section, and, where the
 * adapter has `timestamp-query`, measures each section's GPU time. Uniforms of all dispatches are
 * staged on the CPU and uploaded with one `writeBuffer` just before the submit; each dispatch binds its
 * slot with a dynamic offset, so recording allocates no GPU objects once bind groups are cached.
 * A recorder made while a Profiler is attached to the Gpu puts each dispatch in a timed pass of its own
 * instead (its sections are then counted, not timed).
 */
import type { Gpu, KernelStyle } from './gpu.ts';
import type { Kernel } from './kernel.ts';
import type { Constants } from './pipelines.ts';
import type { Profiler } from './profiler.ts';
import { Tensor } from './tensor.ts';

export type Resource = Tensor | GPUBuffer | GPUTextureView;

export interface Dispatch {
  /** Resources by their WGSL variable name. */
  bindings: Record<string, Resource>;
  /** Fields of the kernel's uniform block by name. */
  uniforms?: Record<string, number | ArrayLike<number>>;
  /** Override constants: each distinct set is its own cached pipeline. */
  constants?: Constants;
  workgroups: readonly [number, number?, number?];
  /**
   * How many times the kernel streams its weight tensors (a tiled matmul re-reads the weights once per
   * tile row of its input, mostly from L2 cache). Counted into `weightBytesStreamed`. Default 1.
   */
  weightPasses?: number;
  /**
   * Floating-point operations of the dispatch as its wrapper counts them (a multiply-add is 2), given by
   * the heavy kernels; read only while a Profiler is attached. Default 0.
   */
  flops?: number;
  /**
   * Bytes the dispatch reads and writes, where the bound tensors overstate them (a KV cache read up to its
   * length, an embedding table read row by row); read only while a Profiler is attached. Default: the
   * bound tensors' bytes (`boundBytes`).
   */
  bytes?: number;
}

export interface SectionTiming {
  label: string;
  dispatches: number;
  /** GPU milliseconds, when the adapter has timestamp queries. */
  ms?: number;
}

/** What a submit hands back: dispatch counts now, GPU timings when the queue gets to them. */
export interface Submission {
  dispatches: number;
  sections: SectionTiming[];
  /** Resolves when the GPU has finished this work, with per-section times filled in where measured. */
  done: Promise<SectionTiming[]>;
}

const MAX_SECTIONS = 128;

export class Recorder {
  private open?: GPUCommandEncoder;
  private pass?: GPUComputePassEncoder;
  private uniformBytes = 0;
  /** CPU copy of this recording's uniforms, borrowed from the Gpu on first use. */
  private uniformStaging?: Uint8Array<ArrayBuffer>;
  private sections: SectionTiming[] = [];
  private querySet?: GPUQuerySet;
  /** The Gpu's profiler when this recorder was made: every dispatch is then timed alone. */
  private readonly profiler?: Profiler;
  /** Dispatches recorded since the recorder was made, by kernel name. */
  readonly counts = new Map<string, number>();
  dispatches = 0;
  /** Bytes of model weights the recorded dispatches bind (each bound weight tensor counted once per dispatch). */
  weightBytesRead = 0;
  /** The same with each kernel's re-reads (weight tensors × passes): an upper bound on weight traffic. */
  weightBytesStreamed = 0;

  constructor(
    private readonly gpu: Gpu,
    readonly label = 'recorder',
    /** Measure sections with timestamp queries (ignored where the adapter lacks them). */
    readonly timing = false,
    /** Which form of the heavy kernels this recording dispatches (see `KernelStyle`). */
    readonly kernelStyle: KernelStyle = gpu.kernelStyle,
    /** Whether the direct kernels this recording dispatches may take their subgroup forms (see `Gpu.subgroups`). */
    readonly subgroups: boolean = gpu.subgroups,
  ) {
    this.profiler = gpu.profiler;
    if (timing && gpu.hasTimestamps && !this.profiler) this.querySet = gpu.acquireQuerySet(MAX_SECTIONS * 2);
  }

  /** Starts a new section (a compute pass of its own): counted, and timed where possible. */
  section(label: string): void {
    this.pass?.end();
    this.pass = undefined;
    this.sections.push({ label, dispatches: 0 });
  }

  dispatch(kernel: Kernel, d: Dispatch): void {
    if (this.uniformBytes + this.gpu.uniformSlot > this.gpu.uniformRingBytes) this.flush();
    const pipeline = this.gpu.pipelines.get(kernel, d.constants);
    const offset = this.stageUniforms(kernel, d.uniforms);
    const bindGroup = this.gpu.bindGroup(pipeline, d.bindings);
    const pass = this.profiler ? this.profiledPass(kernel, d) : this.currentPass();
    pass.setPipeline(pipeline.pipeline);
    pass.setBindGroup(0, bindGroup, offset === undefined ? [] : [offset]);
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1] ?? 1, d.workgroups[2] ?? 1);
    if (this.profiler) pass.end();
    this.dispatches++;
    // A weight bound under two names (a kernel's optional second weight standing in for the first) is read once.
    for (const r of new Set(Object.values(d.bindings))) {
      if (r instanceof Tensor && this.gpu.weights.has(r.buffer)) {
        this.weightBytesRead += r.byteLength;
        this.weightBytesStreamed += r.byteLength * (d.weightPasses ?? 1);
      }
    }
    this.counts.set(kernel.name, (this.counts.get(kernel.name) ?? 0) + 1);
    this.sections[this.sections.length - 1].dispatches++;
  }

  /** Copies bytes between buffers (outside any compute pass). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.pass?.end();
    this.pass = undefined;
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Zeroes a buffer (outside any compute pass). */
  clear(buffer: GPUBuffer, offset = 0, bytes?: number): void {
    this.pass?.end();
    this.pass = undefined;
    this.encoder.clearBuffer(buffer, offset, bytes);
  }

  /** The encoder, for work the recorder does not wrap (texture copies). Ends the open pass. */
  rawEncoder(): GPUCommandEncoder {
    this.pass?.end();
    this.pass = undefined;
    return this.encoder;
  }

  /** Submits everything recorded; the recorder can go on recording afterwards. */
  submit(): Submission {
    const sections = this.sections;
    const done = this.flush();
    return { dispatches: sections.reduce((n, s) => n + s.dispatches, 0), sections, done };
  }

  private currentPass(): GPUComputePassEncoder {
    if (this.pass) return this.pass;
    this.openSection();
    const i = this.sections.length - 1;
    const timed = this.querySet && i < MAX_SECTIONS;
    this.pass = this.encoder.beginComputePass({
      label: this.sections[i].label,
      timestampWrites: timed
        ? { querySet: this.querySet!, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 }
        : undefined,
    });
    return this.pass;
  }

  /** A compute pass holding only this dispatch, its timestamps written into the profiler's query sets. */
  private profiledPass(kernel: Kernel, d: Dispatch): GPUComputePassEncoder {
    this.pass?.end();
    this.pass = undefined;
    this.openSection();
    return this.encoder.beginComputePass({ label: kernel.name, timestampWrites: this.profiler!.note(kernel, d) });
  }

  /** The recorder's own section, for dispatches recorded before any `section` call. */
  private openSection(): void {
    if (this.sections.length === 0) this.sections.push({ label: this.label, dispatches: 0 });
  }

  private stageUniforms(kernel: Kernel, values: Dispatch['uniforms']): number | undefined {
    const view = this.gpu.uniformView(kernel);
    if (!view) return undefined;
    view.set(values ?? {});
    const offset = this.uniformBytes;
    this.uniformStaging ??= this.gpu.acquireUniformStaging();
    this.uniformStaging.set(new Uint8Array(view.arrayBuffer), offset);
    this.uniformBytes += this.gpu.uniformSlot * Math.ceil(view.arrayBuffer.byteLength / this.gpu.uniformSlot);
    return offset;
  }

  /** Uploads the staged uniforms and submits; the next recording begins a fresh encoder. */
  private flush(): Promise<SectionTiming[]> {
    this.pass?.end();
    this.pass = undefined;
    const sections = this.sections;
    this.sections = [];
    const timed = this.querySet && sections.length > 0 ? this.gpu.resolveTimestamps(this.encoder, this.querySet, Math.min(sections.length, MAX_SECTIONS)) : undefined;
    if (this.uniformBytes > 0) this.gpu.device.queue.writeBuffer(this.gpu.uniformRing, 0, this.uniformStaging!, 0, this.uniformBytes);
    this.uniformBytes = 0;
    this.gpu.device.queue.submit([this.encoder.finish()]);
    this.open = undefined;
    if (!timed) return this.gpu.device.queue.onSubmittedWorkDone().then(() => sections);
    return timed().then((ms) => sections.map((s, i) => ({ ...s, ms: ms[i] })));
  }

  /** The command encoder of the current recording, begun on first use after each submit. */
  private get encoder(): GPUCommandEncoder {
    this.open ??= this.gpu.device.createCommandEncoder({ label: this.label });
    return this.open;
  }

  /** Returns the recorder's query set and uniform staging to the Gpu; call once, after its last submit. */
  dispose(): void {
    if (this.querySet) this.gpu.releaseQuerySet(this.querySet);
    if (this.uniformStaging) this.gpu.releaseUniformStaging(this.uniformStaging);
    this.querySet = undefined;
    this.uniformStaging = undefined;
  }
}
