/**
 * Reuses storage buffers by size class. Sizes are rounded up to classes a quarter-octave apart
 * (at most ~19% waste), and a released buffer goes back to its class's free list, so a steady workload
 * stops allocating after its first run.
 */

const MIN_CLASS_BYTES = 256;

/** Smallest size class that holds `bytes`: 256 · 2^(k/4), rounded up to a multiple of 16. */
export function sizeClass(bytes: number): number {
  if (bytes <= MIN_CLASS_BYTES) return MIN_CLASS_BYTES;
  const k = Math.ceil(4 * Math.log2(bytes / MIN_CLASS_BYTES) - 1e-9);
  const size = Math.ceil((MIN_CLASS_BYTES * 2 ** (k / 4)) / 16) * 16;
  return size >= bytes ? size : sizeClass(bytes * 1.0001);
}

export interface PoolStats {
  /** Buffers created over the pool's life. */
  created: number;
  /** Bytes held by the pool's buffers, in use or free. */
  allocatedBytes: number;
  peakAllocatedBytes: number;
  inUse: number;
}

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly keyOf = new WeakMap<GPUBuffer, string>();
  readonly stats: PoolStats = { created: 0, allocatedBytes: 0, peakAllocatedBytes: 0, inUse: 0 };

  constructor(
    private readonly device: GPUDevice,
    /** Buffers larger than this are exact-sized (weights, big maps): classes would waste too much. */
    private readonly exactAbove = 4 << 20,
  ) {}

  acquire(bytes: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const size = bytes > this.exactAbove ? Math.ceil(bytes / 16) * 16 : sizeClass(bytes);
    const key = `${size}:${usage}`;
    const reused = this.free.get(key)?.pop();
    this.stats.inUse++;
    if (reused) {
      reused.label = label;
      return reused;
    }
    const buffer = this.device.createBuffer({ size, usage, label });
    this.keyOf.set(buffer, key);
    this.stats.created++;
    this.stats.allocatedBytes += size;
    this.stats.peakAllocatedBytes = Math.max(this.stats.peakAllocatedBytes, this.stats.allocatedBytes);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const key = this.keyOf.get(buffer);
    if (key === undefined) throw new Error(`BufferPool.release: buffer '${buffer.label}' does not belong to this pool`);
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buffer);
    this.stats.inUse--;
  }

  /** Destroys every free buffer (those in use stay valid). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.stats.allocatedBytes -= b.size;
        b.destroy();
      }
    }
    this.free.clear();
  }
}
