/**
 * The roofline's calibration kernels: `fmaPeak` keeps every invocation busy with independent chains of
 * vec4 multiply-adds (the adapter's peak arithmetic rate), `copyVec4` streams one buffer into another
 * (its memory bandwidth). Only the roofline bench dispatches them.
 * WGSL: shaders/roofline.wgsl. Reference: runtime/reference/roofline.ts.
 */
import source from '../../shaders/roofline.wgsl?raw';
import { grid, Kernel, type Recorder, type Tensor } from '../gpu/index.ts';
import { expectDType, notAliased, sameSize } from './checks.ts';

const fmaKernel = new Kernel({ name: 'fma_peak', source, entryPoint: 'fma_peak' });
const copyKernel = new Kernel({ name: 'copy_vec4', source, entryPoint: 'copy_vec4' });

/** Invocations per workgroup (WG in the WGSL). */
const WG = 256;
/** vec4s each copy_vec4 invocation copies (COPIES in the WGSL). */
const COPIES = 16;
/** Floating-point operations of one round of an fma_peak invocation: 8 steps of 8 chains of vec4 multiply-adds. */
export const FMA_PEAK_FLOPS_PER_ROUND = 8 * 8 * 4 * 2;

export interface FmaPeakOptions {
  /** Rounds of 8 multiply-add steps of every chain. */
  rounds: number;
  /** Each chain's multiplier; |mul| < 1 keeps the chains finite. Default 0.999. */
  mul?: number;
  /** Each chain's addend. Default 0.001. */
  add?: number;
}

/**
 * sums [n] f32: invocation i's sum of its 8 chains after 8 · rounds multiply-add steps (one invocation
 * an element), n · rounds · FMA_PEAK_FLOPS_PER_ROUND floating-point operations in all.
 *
 * @example
 *   fmaPeak(rec, sums, { rounds: 32 }); // 65,536 invocations: 1.07 GFLOP
 */
export function fmaPeak(rec: Recorder, sums: Tensor, opts: FmaPeakOptions): void {
  expectDType('fmaPeak', 'sums', sums, 'f32');
  const { rounds, mul = 0.999, add = 0.001 } = opts;
  if (!Number.isInteger(rounds) || rounds < 0) throw new Error(`fmaPeak: rounds must be a whole number ≥ 0, found ${rounds}`);
  if (!(Math.abs(mul) < 1)) throw new Error(`fmaPeak: |mul| must be below 1 for the chains to stay finite, found ${mul}`);
  const n = sums.size;
  if (n === 0) return;
  rec.dispatch(fmaKernel, {
    bindings: { sums }, uniforms: { n, rounds, mul, add },
    workgroups: grid(n, WG), flops: n * rounds * FMA_PEAK_FLOPS_PER_ROUND,
  });
}

/**
 * dst = src, f32 of a size that is a multiple of 4, read and written in vec4s (16 an invocation).
 *
 * @example
 *   copyVec4(rec, dst, src); // 16 Mi floats: 64 MiB read, 64 MiB written
 */
export function copyVec4(rec: Recorder, dst: Tensor, src: Tensor): void {
  expectDType('copyVec4', 'src', src, 'f32');
  expectDType('copyVec4', 'dst', dst, 'f32');
  sameSize('copyVec4', src, dst);
  notAliased('copyVec4', dst, { src });
  if (src.size % 4 !== 0) throw new Error(`copyVec4: the size must be a multiple of 4 (whole vec4s), found ${src.size}`);
  const n = src.size / 4;
  if (n === 0) return;
  const invocations = Math.ceil(n / COPIES);
  rec.dispatch(copyKernel, { bindings: { dst, src }, uniforms: { n, invocations }, workgroups: grid(invocations, WG) });
}
