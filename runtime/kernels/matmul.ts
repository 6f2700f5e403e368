/**
 * Batched matrix product out = alpha · a @ b (or a @ bᵀ), all f32: attention scores and weighted values,
 * and any product whose second operand is an activation rather than an nn.Linear weight. Tiled through
 * workgroup memory in the 'workgroup' kernel style (GPUs), 4×4 blocks in registers in the 'direct' one.
 * WGSL: shaders/tiled-matmul.wgsl + shaders/matmul.wgsl. Reference: runtime/reference/matmul.ts.
 */
import own from '../../shaders/matmul.wgsl?raw';
import tiled from '../../shaders/tiled-matmul.wgsl?raw';
import { grid, Kernel, type Recorder, type Tensor } from '../gpu/index.ts';
import { expectDType } from './checks.ts';

/** matmul's entry points after the shared tiled product (shaders/tiled-matmul.wgsl) that `main` runs. */
const source = tiled + own;

const kernel = new Kernel({ name: 'matmul', source });
const directKernel = new Kernel({ name: 'matmul_direct', source, entryPoint: 'matmul_direct' });

const TILE_N = 64;
/** Invocations per `matmul_direct` workgroup (DIRECT_WG in the WGSL). */
const DIRECT_WG = 64;
/** Fewest workgroups before a taller tile is worth its lost parallelism (about one per SM). */
const ENOUGH_TILES = 128;
const MAX_GROUPS = 65535;

export interface MatmulOptions {
  /** b is [B, N, K] (as k in q @ kᵀ) rather than [B, K, N]. */
  transposeB?: boolean;
  /** Scales the product (as 1/√d in attention scores). Default 1. */
  alpha?: number;
}

/**
 * out [B, M, N] = alpha · a [B, M, K] @ b [B, K, N], or with `transposeB` b [B, N, K] read as bᵀ.
 * a and out may be 2-D (B = 1); a 2-D b is shared by every batch entry. out must not share a buffer
 * with a or b.
 *
 * @example
 *   matmul(rec, scoresBHLL, qBHLd.reshape([B * H, L, d]), kBHLd.reshape([B * H, L, d]), { transposeB: true, alpha: 1 / Math.sqrt(d) });
 */
export function matmul(rec: Recorder, out: Tensor, a: Tensor, b: Tensor, opts: MatmulOptions = {}): void {
  for (const [name, t] of [['a', a], ['b', b], ['out', out]] as const) {
    expectDType('matmul', name, t, 'f32');
    if (t.shape.length !== 2 && t.shape.length !== 3) throw new Error(`matmul: ${name} must be 2-D or 3-D, found [${t.shape.join(', ')}]`);
  }
  const batched = a.shape.length === 3;
  const B = batched ? a.shape[0] : 1;
  const [M, K] = a.shape.slice(-2);
  const [b0, b1] = b.shape.slice(-2);
  const N = opts.transposeB ? b0 : b1;
  const bK = opts.transposeB ? b1 : b0;
  if (bK !== K || (b.shape.length === 3 && (!batched || b.shape[0] !== B))) {
    const lead = batched ? `B=${B}, ` : '';
    const want = opts.transposeB ? `[${lead}N, K=${K}]` : `[${lead}K=${K}, N]`;
    throw new Error(`matmul: b must be ${want}${batched ? ` or 2-D` : ''} for a [${a.shape.join(', ')}], found [${b.shape.join(', ')}]`);
  }
  const want = batched ? [B, M, N] : [M, N];
  if (out.shape.length !== want.length || out.shape.some((d, i) => d !== want[i])) {
    throw new Error(`matmul: out must be [${want.join(', ')}], found [${out.shape.join(', ')}]`);
  }
  if (B * M * N === 0) return;
  const uniforms = { M, N, K, alpha: opts.alpha ?? 1, b_stride: b.shape.length === 3 ? K * N : 0, batches: B };
  const flops = 2 * B * M * N * K;
  if (rec.kernelStyle === 'direct') {
    const blocks = B * Math.ceil(M / 4) * Math.ceil(N / 4);
    rec.dispatch(directKernel, { bindings: { out, a, b }, uniforms, constants: { TRANS_B: !!opts.transposeB }, workgroups: grid(blocks, DIRECT_WG), flops });
    return;
  }
  const TM = matmulTileRows(B, M, N);
  const workgroups = [Math.ceil(N / TILE_N), Math.ceil(M / (16 * TM)), B] as const;
  if (workgroups.some((n) => n > MAX_GROUPS)) {
    throw new Error(`matmul: [B=${B}, M=${M}, N=${N}] needs a grid of [${workgroups.join(', ')}] workgroups, more than ${MAX_GROUPS} along some axis`);
  }
  rec.dispatch(kernel, {
    bindings: { out, a, b },
    uniforms,
    constants: { TRANS_B: !!opts.transposeB, TM },
    workgroups,
    flops,
  });
}

/**
 * Rows per thread (tiles of 16·TM rows): the tallest tile, for the most reuse of each loaded value,
 * that still leaves enough workgroups to fill the GPU.
 */
export function matmulTileRows(B: number, M: number, N: number): 1 | 2 | 4 {
  const tiles = (rows: number) => B * Math.ceil(M / rows) * Math.ceil(N / TILE_N);
  return tiles(64) >= ENOUGH_TILES ? 4 : tiles(32) >= ENOUGH_TILES ? 2 : 1;
}
