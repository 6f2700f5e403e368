/**
 * Times every dispatch on its own. While a Profiler is attached to a Gpu (`gpu.profiler`), each recorder
 * made puts each dispatch in a compute pass of its own whose timestamps land in the profiler's query
 * sets, and notes the dispatch's kernel, its floating-point operations (as the kernel's wrapper counts
 * them) and the bytes it moves. `npm run bench -- --roofline` reads it. Timestamps are resolved once, in
 * `done`, after the profiled work is submitted: recording pays one extra pass a dispatch, and a recording
 * without a profiler pays nothing.
 */
import type { Gpu } from './gpu.ts';
import type { Kernel } from './kernel.ts';
import type { Dispatch, Resource } from './recorder.ts';
import { Tensor } from './tensor.ts';

export interface DispatchProfile {
  /** The kernel's name: its family in the roofline. */
  kernel: string;
  /** Floating-point operations, as the kernel's wrapper counts them (0 where it gives none). */
  flops: number;
  /** Bytes read and written (`Dispatch.bytes`, else `boundBytes`). */
  bytes: number;
  /** GPU milliseconds, filled in by `done`. */
  ms?: number;
}

/** Dispatches a query set times: 4096 queries, the most a query set may hold, two a dispatch. */
const PAIRS_PER_SET = 2048;

export class Profiler {
  /** Every dispatch recorded while attached, in recording order. */
  readonly dispatches: DispatchProfile[] = [];
  private readonly querySets: GPUQuerySet[] = [];

  constructor(private readonly gpu: Gpu) {
    if (!gpu.hasTimestamps) throw new Error(`Profiler: ${gpu.adapterName} has no 'timestamp-query' feature, so dispatches cannot be timed`);
  }

  /** Notes one dispatch; returns the timestamp writes of the compute pass that is to hold it alone. */
  note(kernel: Kernel, d: Dispatch): GPUComputePassTimestampWrites {
    const slot = this.dispatches.length;
    this.dispatches.push({ kernel: kernel.name, flops: d.flops ?? 0, bytes: d.bytes ?? boundBytes(d.bindings) });
    const set = Math.floor(slot / PAIRS_PER_SET);
    if (set === this.querySets.length) {
      this.querySets.push(this.gpu.device.createQuerySet({ type: 'timestamp', count: 2 * PAIRS_PER_SET, label: `profile ${set}` }));
    }
    const pair = slot % PAIRS_PER_SET;
    return { querySet: this.querySets[set], beginningOfPassWriteIndex: 2 * pair, endOfPassWriteIndex: 2 * pair + 1 };
  }

  /** Reads back every dispatch's time; call once the profiled work is submitted. */
  async done(): Promise<DispatchProfile[]> {
    const encoder = this.gpu.device.createCommandEncoder({ label: 'profile' });
    const reads = this.querySets.map((q, set) => {
      const pairs = Math.min(PAIRS_PER_SET, this.dispatches.length - set * PAIRS_PER_SET);
      return this.gpu.resolveTimestamps(encoder, q, pairs);
    });
    this.gpu.device.queue.submit([encoder.finish()]);
    const ms = await Promise.all(reads.map((read) => read()));
    ms.flat().forEach((t, i) => (this.dispatches[i].ms = t));
    return this.dispatches;
  }

  dispose(): void {
    for (const q of this.querySets) q.destroy();
    this.querySets.length = 0;
  }
}

/**
 * Bytes of the buffers a dispatch binds, each buffer once at the largest view of it bound (a tensor bound
 * twice, or bound in place of an absent optional input, moves once): an upper bound on what the dispatch
 * reads and writes. Texture views count 0.
 */
export function boundBytes(bindings: Record<string, Resource>): number {
  const largest = new Map<GPUBuffer, number>();
  for (const r of Object.values(bindings)) {
    const [buffer, bytes] = r instanceof Tensor ? [r.buffer, r.byteLength] : 'mapAsync' in r ? [r, r.size] : [undefined, 0];
    if (buffer) largest.set(buffer, Math.max(bytes, largest.get(buffer) ?? 0));
  }
  let total = 0;
  for (const b of largest.values()) total += b;
  return total;
}
