/**
 * A tensor on the GPU: a storage buffer, its shape and its element type. f16 tensors hold pairs of
 * halves packed in u32 words (element e lives in word e >> 1, low half first), so they work on
 * adapters without `shader-f16`.
 */

export type DType = 'f32' | 'f16' | 'i32' | 'u32';

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes a tensor of this dtype and element count occupies (f16 rounded up to whole u32 words). */
export function byteSize(dtype: DType, count: number): number {
  return dtype === 'f16' ? Math.ceil(count / 2) * 4 : count * 4;
}

export class Tensor {
  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: DType = 'f32',
    /** Called once by dispose(): returns the buffer to its pool. */
    private readonly onDispose?: (t: Tensor) => void,
  ) {}

  get size(): number {
    return elementCount(this.shape);
  }

  get byteLength(): number {
    return byteSize(this.dtype, this.size);
  }

  /** The same buffer seen with another shape of the same element count. */
  reshape(shape: readonly number[]): Tensor {
    if (elementCount(shape) !== this.size) {
      throw new Error(`reshape: [${shape}] has ${elementCount(shape)} elements, tensor [${this.shape}] has ${this.size}`);
    }
    return new Tensor(this.buffer, shape, this.dtype);
  }

  /**
   * A view of the first elements of this tensor's buffer with a shape of at most as many elements: a
   * buffer sized for the largest scale serves every smaller scale without reallocation.
   */
  view(shape: readonly number[]): Tensor {
    if (elementCount(shape) > this.size) {
      throw new Error(`view: [${shape}] has ${elementCount(shape)} elements, more than tensor [${this.shape}] holds (${this.size})`);
    }
    return new Tensor(this.buffer, shape, this.dtype);
  }

  private disposed = false;

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.onDispose?.(this);
  }
}

/** Throws a shape error naming what was expected and what was found. */
export function expectShape(what: string, t: { shape: readonly number[] }, expected: readonly number[]): void {
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`${what}: expected shape [${expected.join(', ')}], found [${t.shape.join(', ')}]`);
  }
}
