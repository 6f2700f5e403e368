/**
 * nn.Conv2d on NCHW feature maps (1x1 and 3x3 kernels, stride 1 or 2, zero or circular padding on any
 * side), the VQVAE's workhorse. One dispatch per convolution. In the 'workgroup' kernel style (GPUs), an implicit
 * GEMM: output channels × output pixels are tiled per workgroup, input patches and weights staged in
 * workgroup memory. In the 'direct' style (CPU-emulated adapters), each invocation computes 4 channels ×
 * 8 pixels of a row (8 channels × 8 pixels of two rows for 3x3, stride 1; 8 channels × 8 pixels for an
 * unpadded 1x1) in registers from memory.
 * The weight comes as PyTorch stores it, [Cout, Cin, k, k], or packed in channel groups
 * (`packConv2dWeight`), the layout the direct kernels read with a third of the loads or fewer.
 * The direct 3x3 kernel's weight taps come from shaders/conv2d-taps.wgsl, or shared across a subgroup of 4 from
 * shaders/conv2d-taps-subgroup.wgsl (docs/kernels.md, "Subgroups").
 * WGSL: shaders/conv2d-taps(-subgroup).wgsl + shaders/conv2d.wgsl. Reference: runtime/reference/conv2d.ts.
 */
import own from '../../shaders/conv2d.wgsl?raw';
import taps from '../../shaders/conv2d-taps.wgsl?raw';
import tapsSubgroup from '../../shaders/conv2d-taps-subgroup.wgsl?raw';
import { expectShape, grid, Kernel, type Recorder, type Tensor } from '../gpu/index.ts';
import { expectDType, expectRank } from './checks.ts';

/** conv2d_direct_3x3's weight taps (loaded by each invocation, or shared across a subgroup) before the kernels. */
const source = taps + own;
const subgroupSource = tapsSubgroup + own;

const kernel = new Kernel({ name: 'conv2d', source, entryPoint: 'conv2d' });
const directKernel = new Kernel({ name: 'conv2d_direct', source, entryPoint: 'conv2d_direct' });
const direct3x3Kernel = new Kernel({ name: 'conv2d_direct_3x3', source, entryPoint: 'conv2d_direct_3x3' });
const subgroup3x3Kernel = new Kernel({ name: 'conv2d_subgroup_3x3', source: subgroupSource, entryPoint: 'conv2d_direct_3x3' });
const direct1x1Kernel = new Kernel({ name: 'conv2d_direct_1x1', source, entryPoint: 'conv2d_direct_1x1' });

const TILE_PIXELS = 64;
/** Invocations per `conv2d_direct` workgroup (DIRECT_WG in the WGSL). */
const DIRECT_WG = 64;
const MAX_GROUPS = 65535;

/** Padding: the same on every side, or [top, bottom, left, right]. */
export type Conv2dPadding = number | [top: number, bottom: number, left: number, right: number];

/**
 * What the padding reads, as PyTorch's `padding_mode`: 'zeros', or 'circular' (the opposite edge: the
 * input is a torus, and a tileable input gives a tileable output).
 */
export type PaddingMode = 'zeros' | 'circular';
export const PADDING_MODES: readonly PaddingMode[] = ['zeros', 'circular'];

export interface Conv2dOptions {
  stride?: 1 | 2;
  /** Default 0, as in PyTorch. */
  padding?: Conv2dPadding;
  /** Default 'zeros'. Circular padding may not exceed the input's size on its axis. */
  paddingMode?: PaddingMode;
}

/**
 * A conv weight [Cout, Cin, k, k] (PyTorch's layout) in channel groups: [ceil(Cout / 4), Cin, k, k, 4],
 * element [g, ci, ky, kx, c] = weight[4g + c, ci, ky, kx], zero past Cout. `conv2d` takes either layout.
 */
export function packConv2dWeight(weight: Float32Array, shape: readonly [number, number, number, number]): Float32Array {
  const [Cout, Cin, k] = shape;
  const K = Cin * k * k;
  if (weight.length !== Cout * K) throw new Error(`packConv2dWeight: [${shape.join(', ')}] needs ${Cout * K} values, got ${weight.length}`);
  const packed = new Float32Array(Math.ceil(Cout / 4) * K * 4);
  for (let co = 0; co < Cout; co++) {
    const g = (co >> 2) * K * 4 + (co & 3);
    for (let j = 0; j < K; j++) packed[g + 4 * j] = weight[co * K + j];
  }
  return packed;
}

/** Shape of `packConv2dWeight`'s output. */
export function packedConv2dShape([Cout, Cin, k]: readonly number[]): number[] {
  return [Math.ceil(Cout / 4), Cin, k, k, 4];
}

/**
 * out [B, Cout, Ho, Wo] = conv2d(x [B, Cin, H, W], weight [Cout, Cin, k, k]) + bias, as PyTorch's
 * nn.Conv2d with Ho = ⌊(H + top + bottom - k) / stride⌋ + 1 (Wo likewise).
 *
 * @param weight [Cout, Cin, k, k] with k = 1 or 3, or the same packed ([ceil(Cout / 4), Cin, k, k, 4]); 'f32' or 'f16'
 * @param bias [Cout] f32, optional
 * @param out f32; must not share a buffer with x
 *
 * @example
 *   conv2d(rec, hB320x32x32, xB160x32x32, conv.w, conv.b, { padding: 1 });
 *   conv2d(rec, downB128x16x16, hB128x32x32, down.w, down.b, { padding: [0, 1, 0, 1], stride: 2 }); // VQVAE Downsample
 *   conv2d(rec, hB64x64x64, xB64x64x64, conv.w, conv.b, { padding: 1, paddingMode: 'circular' }); // on the torus
 */
export function conv2d(rec: Recorder, out: Tensor, x: Tensor, weight: Tensor, bias: Tensor | undefined, opts: Conv2dOptions = {}): void {
  expectDType('conv2d', 'x', x, 'f32');
  expectDType('conv2d', 'out', out, 'f32');
  expectDType('conv2d', 'weight', weight, 'f32', 'f16');
  if (bias) expectDType('conv2d', 'bias', bias, 'f32');
  expectRank('conv2d', 'x', x, ['B', 'Cin', 'H', 'W']);
  const [B, Cin, H, W] = x.shape;
  const packed = weight.shape.length === 5;
  const Cout = packed ? out.shape[1] : weight.shape[0];
  const k = weight.shape[2];
  const expected = packed ? packedConv2dShape([Cout, Cin, k]) : [Cout, Cin, k, k];
  if (!(k === 1 || k === 3) || !(weight.shape.length === 4 || packed) || weight.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`conv2d: weight must be [Cout, Cin=${Cin}, k, k] with k = 1 or 3, or that packed as [ceil(Cout / 4), Cin, k, k, 4] (Cout=${out.shape[1]} from out), found [${weight.shape.join(', ')}]`);
  }
  if (bias) expectShape('conv2d: bias', bias, [Cout]);
  const stride = opts.stride ?? 1;
  if (stride !== 1 && stride !== 2) throw new Error(`conv2d: stride must be 1 or 2, found ${stride}`);
  const pad = opts.padding ?? 0;
  const [top, bottom, left, right] = typeof pad === 'number' ? [pad, pad, pad, pad] : pad;
  if (![top, bottom, left, right].every((v) => Number.isInteger(v) && v >= 0)) {
    throw new Error(`conv2d: padding must be whole numbers ≥ 0, found [${[top, bottom, left, right].join(', ')}]`);
  }
  const mode = opts.paddingMode ?? 'zeros';
  if (!PADDING_MODES.includes(mode)) throw new Error(`conv2d: paddingMode must be ${PADDING_MODES.join(' or ')}, found ${JSON.stringify(mode)}`);
  const circular = mode === 'circular';
  if (circular && (Math.max(top, bottom) > H || Math.max(left, right) > W)) {
    throw new Error(`conv2d: circular padding [${[top, bottom, left, right].join(', ')}] exceeds the ${H}x${W} input`);
  }
  const Ho = Math.floor((H + top + bottom - k) / stride) + 1;
  const Wo = Math.floor((W + left + right - k) / stride) + 1;
  if (Ho < 1 || Wo < 1) throw new Error(`conv2d: a ${k}x${k} kernel does not fit the padded ${H}x${W} input`);
  expectShape('conv2d: out', out, [B, Cout, Ho, Wo]);
  if (out.size === 0) return;
  const uniforms = { B, Cin, H, W, Cout, Ho, Wo, stride, pad_top: top, pad_left: left };
  const constants = { W_F16: weight.dtype === 'f16', HAS_BIAS: bias !== undefined, KS: k, CIRCULAR: circular, PACKED: packed };
  const flops = 2 * B * Cout * Cin * k * k * Ho * Wo;
  if (rec.kernelStyle === 'direct' && k === 1 && stride === 1 && top + bottom + left + right === 0 && (H * W) % 4 === 0) {
    const pixelBlocks = B * Math.ceil((H * W) / 8);
    rec.dispatch(direct1x1Kernel, {
      bindings: { out, x4: x, w: weight, bias: bias ?? x }, uniforms, constants,
      workgroups: grid(Math.ceil(Cout / 8) * pixelBlocks, DIRECT_WG), weightPasses: pixelBlocks, flops,
    });
    return;
  }
  if (rec.kernelStyle === 'direct') {
    const is3x3 = k === 3 && stride === 1;
    // conv2d_direct_3x3 takes two output rows and 8 channels an invocation (4 where Cout ≤ 4, as conv_out's
    // 3), conv2d_direct one row and 4 channels.
    const pixelBlocks = B * Math.ceil(Ho / (is3x3 ? 2 : 1)) * Math.ceil(Wo / 8);
    const ch8 = is3x3 && Cout > 4;
    // The subgroup form shares a channel group's taps among 4 neighbouring invocations: they must be pixel
    // blocks of the same channels.
    const kernel = !is3x3 ? directKernel : rec.subgroups && pixelBlocks % 4 === 0 ? subgroup3x3Kernel : direct3x3Kernel;
    rec.dispatch(kernel, {
      bindings: { out, x, x4: x, w: weight, bias: bias ?? x }, uniforms,
      constants: is3x3 ? { ...constants, X4: W % 4 === 0 && left === 1 && right === 1, CH8: ch8 } : constants,
      workgroups: grid(Math.ceil(Cout / (ch8 ? 8 : 4)) * pixelBlocks, DIRECT_WG), weightPasses: pixelBlocks, flops,
    });
    return;
  }
  const TM = conv2dTileRows(Cout);
  const tiles = Math.ceil((B * Ho * Wo) / TILE_PIXELS);
  const z = Math.ceil(tiles / MAX_GROUPS);
  rec.dispatch(kernel, {
    bindings: { out, x, w: weight, bias: bias ?? x },
    uniforms,
    constants: { ...constants, TM },
    workgroups: [Math.ceil(tiles / z), Math.ceil(Cout / (16 * TM)), z],
    weightPasses: tiles,
    flops,
  });
}

/** Output channels per thread: tiles of 16·TM channels, the smallest that covers few channels (conv_out's 3). */
export function conv2dTileRows(Cout: number): 1 | 2 | 4 {
  return Cout <= 16 ? 1 : Cout <= 32 ? 2 : 4;
}
