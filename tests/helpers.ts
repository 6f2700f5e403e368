/**
 * Shared test helpers: one real WebGPU device per test file (Dawn + SwiftShader in CI; a missing
 * adapter fails the file, never skips it), seeded random data, and closeness checks that report
 * the max abs error and the normalised MSE.
 */
import { afterAll, expect } from 'vitest';
import { Gpu, KERNEL_STYLES, Tensor, type KernelStyle } from '../runtime/gpu/index.ts';

let shared: Promise<Gpu> | undefined;

/** The test file's GPU context (created once, destroyed after the file's tests). */
export function testGpu(): Promise<Gpu> {
  if (!shared) {
    shared = Gpu.create();
    afterAll(async () => {
      const gpu = await shared!;
      gpu.destroy();
      expect(gpu.errors, 'WebGPU errors reported by the device').toEqual([]);
    });
  }
  return shared;
}

const SENTINEL = 0x7fc0dead; // a NaN no kernel computes

/**
 * Fills the whole buffer behind `out` with a sentinel, its pool slack past the tensor included; call
 * before the kernel writes `out`, then `expectSlackUntouched` after.
 */
export function fillSlack(gpu: Gpu, out: Tensor): void {
  const words = out.buffer.size / 4;
  gpu.write(new Tensor(out.buffer, [words], 'u32'), new Uint32Array(words).fill(SENTINEL));
}

/**
 * Expects the buffer behind `out` to hold the sentinel past the tensor: a kernel wrote nothing outside
 * its output (a stray write past the end lands on the buffer's last word, which is slack or the
 * tensor's own last element).
 */
export async function expectSlackUntouched(gpu: Gpu, out: Tensor, name: string): Promise<void> {
  const words = out.buffer.size / 4;
  const after = (await gpu.read(new Tensor(out.buffer, [words], 'u32'))) as Uint32Array;
  const first = out.byteLength / 4;
  const bad = after.subarray(first).findIndex((w) => w !== SENTINEL);
  if (bad >= 0) expect.fail(`${name}: word ${first + bad} of the buffer, past the output's ${first}, was written`);
}

/** Deterministic uniform values in [lo, hi) (mulberry32). */
export function random(n: number, seed = 1, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

export interface Closeness {
  maxAbs: number;
  nmse: number;
}

export function closeness(actual: ArrayLike<number>, expected: ArrayLike<number>): Closeness {
  let maxAbs = 0;
  let err = 0;
  let ref = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
    err += d * d;
    ref += expected[i] * expected[i];
  }
  return { maxAbs, nmse: ref > 0 ? err / ref : err };
}

/**
 * Expects |actual - expected| <= atol + rtol·|expected| everywhere; the failure message names the
 * tensor, the first bad index, the max abs error and the NMSE.
 */
export function expectClose(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: { atol?: number; rtol?: number } = {}): void {
  const atol = tol.atol ?? 1e-5;
  const rtol = tol.rtol ?? 1e-4;
  expect(actual.length, `${name}: length`).toBe(expected.length);
  const c = closeness(actual, expected);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= atol + rtol * Math.abs(expected[i]))) {
      expect.fail(`${name}: element ${i} is ${actual[i]}, expected ${expected[i]} (max abs err ${c.maxAbs.toExponential(3)}, nmse ${c.nmse.toExponential(3)}, atol ${atol}, rtol ${rtol})`);
    }
  }
}

/** A kernel style, and for the direct one whether its kernels may take their subgroup forms. */
export interface KernelVariant {
  style: KernelStyle;
  subgroups: boolean;
  label: string;
}

/** Both kernel styles, and the direct one again without subgroups (the form adapters without them run). */
export const KERNEL_VARIANTS: readonly KernelVariant[] = [
  ...KERNEL_STYLES.map((style) => ({ style, subgroups: true, label: style })),
  { style: 'direct', subgroups: false, label: 'direct (no subgroups)' },
];
