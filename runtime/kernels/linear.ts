/**
 * nn.Linear on the GPU: out = x · Wᵀ + bias, with the weight in PyTorch's [N, K] layout, f32 or f16.
 * Most of a transformer's arithmetic goes through here. In the 'workgroup' kernel style (GPUs), few rows
 * (M ≤ 8, decoding a few tokens) take a weight-streaming kernel and more rows a tiled one whose tile
 * height follows M; in the 'direct' style (CPU-emulated adapters), when K is a multiple of 4, a kernel of
 * blocks in registers: 4×4 for M < 16, 16×8 (a third of the loads per multiply-add) from 16 rows, their rows
 * of x shared across a subgroup where the adapter has subgroups of 4 ('linear_subgroup', 'linear_subgroup_16x8').
 * WGSL: shaders/linear-rows(-subgroup).wgsl + shaders/tiled-matmul.wgsl + shaders/linear.wgsl.
 * Reference: runtime/reference/linear.ts.
 */
import own from '../../shaders/linear.wgsl?raw';
import rowsDirect from '../../shaders/linear-rows.wgsl?raw';
import rowsSubgroup from '../../shaders/linear-rows-subgroup.wgsl?raw';
import tiled from '../../shaders/tiled-matmul.wgsl?raw';
import { grid, Kernel, type Recorder, type Tensor } from '../gpu/index.ts';
import { swiglu } from './activation.ts';
import { expectDType } from './checks.ts';

/** linear's entry points after the shared tiled product (shaders/tiled-matmul.wgsl) that linear_tiled runs. */
const source = rowsDirect + tiled + own;
/** The same with linear_direct_16x8's rows of x shared across a subgroup (its `enable` directive comes first). */
const subgroupSource = rowsSubgroup + tiled + own;

const tiledKernel = new Kernel({ name: 'linear_tiled', source, entryPoint: 'linear_tiled' });
const rowsKernel = new Kernel({ name: 'linear_rows', source, entryPoint: 'linear_rows' });
const directKernel = new Kernel({ name: 'linear_direct', source, entryPoint: 'linear_direct' });
const subgroupKernel = new Kernel({ name: 'linear_subgroup', source: subgroupSource, entryPoint: 'linear_direct' });
const direct16x8Kernel = new Kernel({ name: 'linear_direct_16x8', source, entryPoint: 'linear_direct_16x8' });
const subgroup16x8Kernel = new Kernel({ name: 'linear_subgroup_16x8', source: subgroupSource, entryPoint: 'linear_direct_16x8' });

/** Largest M that takes `linear_rows`. */
export const LINEAR_MAX_ROWS = 8;
const TILE_N = 64;
/** Output columns per `linear_rows` workgroup (GROUPS in the WGSL). */
const ROWS_COLUMNS = 8;
/** Fewest rows that take `linear_direct_16x8`. */
export const LINEAR_WIDE_ROWS = 16;
/** Invocations per `linear_direct` workgroup (DIRECT_WG in the WGSL). */
const DIRECT_WG = 64;
/** Fewest workgroups before a taller tile is worth its lost parallelism (about one per SM). */
const ENOUGH_TILES = 128;
const MAX_GROUPS = 65535;

/**
 * out [..., N] = x [..., K] · weightᵀ + bias, as PyTorch's nn.Linear. M = x.size / K rows.
 *
 * @param weight [N, K], 'f32' or 'f16'
 * @param bias [N] f32, optional
 * @param out [..., N] f32 with M·N elements; must not share a buffer with the inputs
 * @param opts.accumulate add the product to out (out += x · weightᵀ + bias), as a residual stream does
 *
 * @example
 *   linear(rec, qkvBL3C, xBLC, attn.qkvWeight, attn.qkvBias); // [B, L, C] → [B, L, 3C]
 *   linear(rec, residualBLC, attnOutBLC, attn.oWeight, undefined, { accumulate: true }); // residual += o(attnOut)
 */
export function linear(rec: Recorder, out: Tensor, x: Tensor, weight: Tensor, bias?: Tensor, opts: { accumulate?: boolean } = {}): void {
  expectDType('linear', 'x', x, 'f32');
  expectDType('linear', 'out', out, 'f32');
  expectDType('linear', 'weight', weight, 'f32', 'f16');
  if (bias) expectDType('linear', 'bias', bias, 'f32');
  const K = x.shape[x.shape.length - 1];
  if (x.shape.length === 0 || !(K > 0)) throw new Error(`linear: x must be [..., K] with K ≥ 1, found [${x.shape.join(', ')}]`);
  const N = weight.shape[0];
  if (weight.shape.length !== 2 || weight.shape[1] !== K) {
    throw new Error(`linear: weight must be [N, K=${K}], found [${weight.shape.join(', ')}]`);
  }
  const M = x.size / K;
  if (out.shape[out.shape.length - 1] !== N || out.size !== M * N) {
    throw new Error(`linear: out must be [..., N=${N}] with M·N = ${M}·${N} elements, found [${out.shape.join(', ')}]`);
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== N)) {
    throw new Error(`linear: bias must be [N=${N}], found [${bias.shape.join(', ')}]`);
  }
  if (M === 0 || N === 0) return;
  const uniforms = { M, N, K };
  const flops = 2 * M * N * K;
  const base = { W_F16: weight.dtype === 'f16', HAS_BIAS: bias !== undefined, ACCUMULATE: opts.accumulate ?? false };
  if (rec.kernelStyle === 'direct' && K % 4 === 0) {
    const wide = M >= LINEAR_WIDE_ROWS;
    const rows = wide ? 16 : 4;
    const rowBlocks = Math.ceil(M / rows);
    // The 16x8 kernel: 4 neighbouring invocations take 4 blocks of 8 columns of the same rows.
    const columnBlocks = wide ? 4 * Math.ceil(N / 32) : Math.ceil(N / 4);
    // The 4x4 kernel's 4 neighbouring invocations share rows where the row's column blocks come in fours.
    const kernel = wide ? (rec.subgroups ? subgroup16x8Kernel : direct16x8Kernel)
      : rec.subgroups && columnBlocks % 4 === 0 ? subgroupKernel : directKernel;
    rec.dispatch(kernel, {
      bindings: { out, x4: x, w2: weight, wu2: weight, bias: bias ?? x }, uniforms, constants: base,
      workgroups: grid(rowBlocks * columnBlocks, DIRECT_WG), weightPasses: rowBlocks, flops,
    });
    return;
  }
  const bindings = { out, x, w: weight, bias: bias ?? x };
  if (M <= LINEAR_MAX_ROWS) {
    rec.dispatch(rowsKernel, { bindings, uniforms, constants: { ...base, ROWS: M }, workgroups: grid(N, ROWS_COLUMNS), flops });
    return;
  }
  const TM = linearTileRows(M, N);
  rec.dispatch(tiledKernel, { bindings, uniforms, constants: { ...base, TM }, workgroups: tiledGrid(M, N, 16 * TM), weightPasses: Math.ceil(M / (16 * TM)), flops });
}

/**
 * Rows per thread of the tiled kernel (tiles of 16·TM rows): the tallest tile, for the most reuse of
 * each loaded value, that still leaves enough workgroups to fill the GPU.
 */
export function linearTileRows(M: number, N: number): 1 | 2 | 4 {
  const tiles = (rows: number) => Math.ceil(M / rows) * Math.ceil(N / TILE_N);
  return tiles(64) >= ENOUGH_TILES ? 4 : tiles(32) >= ENOUGH_TILES ? 2 : 1;
}

/** [column tiles, row tiles folded over y and z]: the shader reads the row tile as y + z · ny. */
function tiledGrid(M: number, N: number, rows: number): [number, number, number] {
  const tilesN = Math.ceil(N / TILE_N);
  if (tilesN > MAX_GROUPS) throw new Error(`linear: N = ${N} needs ${tilesN} column tiles, more than ${MAX_GROUPS}`);
  const tilesM = Math.ceil(M / rows);
  const z = Math.ceil(tilesM / MAX_GROUPS);
  return [tilesN, Math.ceil(tilesM / z), z];
}

/**
 * SwiGLU's projections and product, out [..., N] = silu(x · gateᵀ) ⊙ (x · upᵀ), as a gated MLP's first half
 * (no biases). In the direct style from 16 rows (K a multiple of 4), one dispatch that writes neither
 * projection (linear_direct_16x8 with SWIGLU); otherwise the two linears into `scratch` and `swiglu`.
 * Either way out holds the same values.
 *
 * @param gate, up [N, K], of one dtype
 * @param scratch.gate, scratch.up [..., N] f32, for the three-pass form
 *
 * @example
 *   linearSwiglu(rec, actBLF, hBLC, mlp.gateW, mlp.upW, { gate: gateBLF, up: upBLF }); // [B, L, C] → [B, L, F]
 */
export function linearSwiglu(rec: Recorder, out: Tensor, x: Tensor, gate: Tensor, up: Tensor, scratch: { gate: Tensor; up: Tensor }): void {
  const K = x.shape[x.shape.length - 1];
  const N = gate.shape[0];
  const M = x.size / K;
  if (up.dtype !== gate.dtype || up.shape.length !== 2 || up.shape[0] !== N || up.shape[1] !== gate.shape[1]) {
    throw new Error(`linearSwiglu: up must be [${gate.shape.join(', ')}] ${gate.dtype} as gate, found [${up.shape.join(', ')}] ${up.dtype}`);
  }
  if (out.size !== M * N) throw new Error(`linearSwiglu: out must hold M·N = ${M}·${N} elements, found [${out.shape.join(', ')}]`);
  if (rec.kernelStyle !== 'direct' || K % 4 !== 0 || M < LINEAR_WIDE_ROWS) {
    linear(rec, scratch.gate, x, gate);
    linear(rec, scratch.up, x, up);
    swiglu(rec, out, scratch.gate, scratch.up);
    return;
  }
  expectDType('linearSwiglu', 'x', x, 'f32');
  expectDType('linearSwiglu', 'out', out, 'f32');
  expectDType('linearSwiglu', 'gate', gate, 'f32', 'f16');
  if (gate.shape.length !== 2 || gate.shape[1] !== K) throw new Error(`linearSwiglu: gate must be [N, K=${K}], found [${gate.shape.join(', ')}]`);
  const rowBlocks = Math.ceil(M / 16);
  rec.dispatch(rec.subgroups ? subgroup16x8Kernel : direct16x8Kernel, {
    bindings: { out, x4: x, w2: gate, wu2: up, bias: x }, uniforms: { M, N, K },
    constants: { W_F16: gate.dtype === 'f16', HAS_BIAS: false, ACCUMULATE: false, SWIGLU: true },
    workgroups: grid(rowBlocks * 4 * Math.ceil(N / 16), DIRECT_WG), weightPasses: rowBlocks, flops: 4 * M * N * K,
  });
}
