/**
 * Multi-head attention with a KV cache: VAR's self-attention (optional L2-normalised q and k with a
 * learned per-head scale), grouped-query attention, rotary position embedding, and the masks of
 * next-scale prediction (none across cached scales, block-causal in teacher forcing, causal for text),
 * and a per-row key mask over the cache (guidance hiding the prompt from the unconditional row).
 * Keys and values are appended to the cache first (`appendKV`), then the newest queries attend to
 * every cached key (`attention`), one dispatch each.
 * The direct style's keys and values come from shaders/attention-kv.wgsl, or shared across a subgroup of 4 from
 * shaders/attention-kv-subgroup.wgsl (docs/kernels.md, "Subgroups").
 * WGSL: shaders/attention-kv(-subgroup).wgsl + shaders/attention.wgsl. Reference: runtime/reference/attention.ts.
 */
import kvSubgroup from '../../shaders/attention-kv-subgroup.wgsl?raw';
import kv from '../../shaders/attention-kv.wgsl?raw';
import own from '../../shaders/attention.wgsl?raw';
import { grid, Kernel, type Gpu, type Recorder, type Tensor } from '../gpu/index.ts';
import { expectDType } from './checks.ts';

/** attention_direct's key and value loads (each invocation's own, or shared across a subgroup) before the kernels. */
const source = kv + own;
const subgroupSource = kvSubgroup + own;

const attentionKernel = new Kernel({ name: 'attention', source, entryPoint: 'attention' });
const appendKernel = new Kernel({ name: 'append_kv', source, entryPoint: 'append_kv' });
const directKernel = new Kernel({ name: 'attention_direct', source, entryPoint: 'attention_direct' });
const subgroupKernel = new Kernel({ name: 'attention_subgroup', source: subgroupSource, entryPoint: 'attention_direct' });

const WG_APPEND = 64;
/** Invocations per `attention_direct` workgroup (DIRECT_WG in the WGSL). */
const DIRECT_WG = 16;
const MAX_HEAD_DIM = 128;
const MAX_GROUPS = 65535;
/** (queries, keys) per workgroup, largest first: the first whose workgroup memory fits is used. */
const TILES = [[32, 32], [32, 16], [16, 16], [16, 8]] as const;

export interface KVCacheOptions {
  batch: number;
  /** Key/value heads (Hkv); equal to the query heads unless grouped-query attention. */
  kvHeads: number;
  /** Head dim: a multiple of 4, at most 128. */
  headDim: number;
  /** Most tokens the cache holds (VAR: every token of every scale). */
  capacity: number;
  dtype?: 'f32';
}

/**
 * Keys and values of past tokens, k and v each [B, Hkv, capacity, hd]: the rows of one (batch, kv
 * head) are contiguous, so a tile of consecutive keys is one coalesced read. `length` counts the
 * tokens appended so far (tracked on the CPU; no readback).
 */
export class KVCache {
  readonly k: Tensor; // [B, Hkv, capacity, hd]
  readonly v: Tensor; // [B, Hkv, capacity, hd]
  readonly batch: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly capacity: number;
  /** Tokens cached so far. */
  length = 0;
  /** Queries and keys per attention workgroup, chosen to fit the device's workgroup memory. */
  readonly tile: { queries: number; keys: number };

  constructor(gpu: Gpu, opts: KVCacheOptions) {
    const { batch, kvHeads, headDim, capacity } = opts;
    for (const [name, n] of Object.entries({ batch, kvHeads, headDim, capacity })) {
      if (!Number.isInteger(n) || n < 1) throw new Error(`KVCache: ${name} must be a positive integer, found ${n}`);
    }
    if (headDim % 4 !== 0 || headDim > MAX_HEAD_DIM) {
      throw new Error(`KVCache: headDim must be a multiple of 4 and at most ${MAX_HEAD_DIM}, found ${headDim}`);
    }
    if (opts.dtype !== undefined && opts.dtype !== 'f32') throw new Error(`KVCache: dtype must be f32, found ${opts.dtype}`);
    const limit = gpu.device.limits.maxComputeWorkgroupStorageSize;
    const fit = TILES.find(([bq, bk]) => workgroupBytes(bq, bk, headDim / 4) <= limit);
    if (!fit) throw new Error(`KVCache: headDim ${headDim} needs ${workgroupBytes(16, 8, headDim / 4)} bytes of workgroup memory, the device has ${limit}`);
    this.tile = { queries: fit[0], keys: fit[1] };
    this.batch = batch;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.capacity = capacity;
    const shape = [batch, kvHeads, capacity, headDim];
    this.k = gpu.tensor(shape, 'f32', 'kv_cache.k');
    this.v = gpu.tensor(shape, 'f32', 'kv_cache.v');
  }

  /** Forgets every cached token (the buffers are kept). */
  reset(): void {
    this.length = 0;
  }

  dispose(): void {
    this.k.dispose();
    this.v.dispose();
  }
}

/** Workgroup memory of the attention kernel for a (queries, keys) tile and head dim 4·hd4. */
function workgroupBytes(bq: number, bk: number, hd4: number): number {
  return 4 * (4 * (bq + bk) * (hd4 + 1) + 4 * bk * hd4 + bq * (bk + 1) + 4 * bq + 1);
}

/** Rotary position embedding (rotate-half, as HF Qwen2): angle of pair i = position · theta^(-2i/hd). */
export interface RopeOptions {
  /**
   * i32 [L]: the position of each of the L tokens (the same for every batch entry); or i32 [L, 3]:
   * three positions per token, rotary pair i turning by axis i mod 3 (the unified family's rope_2d).
   */
  positions: Tensor;
  /** Rotary base (Qwen2: 1e6, LLaMA: 1e4). */
  theta: number;
}

export interface AppendKVOptions {
  /** Query heads H (qkv rows hold H query heads before the key and value heads). */
  heads: number;
  /** L2-normalise each key head over hd (VAR's attn_l2_norm). */
  qkNorm?: boolean;
  rope?: RopeOptions;
}

export type AttentionMask = 'none' | 'causal' | { limits: Tensor };

export interface AttentionOptions {
  /** Query heads H. */
  heads: number;
  /** Softmax scale multiplying q·k (VAR with attn_l2_norm: 1; otherwise e.g. 1/√hd). */
  scale: number;
  /** L2-normalise q and multiply it by exp(min(scaleMul[h], ln 100)); scaleMul is f32 [H]. */
  qkNorm?: { scaleMul: Tensor };
  rope?: RopeOptions;
  /**
   * Which cached keys each query sees. 'none': all; 'causal': query i, at absolute position
   * cache.length - L + i, sees keys up to its own position; `limits` (u32 [L]): query i sees keys
   * [0, limits[i]). A query that sees no key gets zeros.
   */
  mask?: AttentionMask;
  /**
   * u32 [B, cache.capacity]: key j is visible to the queries of batch row b only where
   * keyMask[b, j] != 0 (combined with `mask`). Absent: every key passes.
   */
  keyMask?: Tensor;
}

/** Checks qkv against the cache and the head count; returns [B, L]. */
function checkQkv(op: string, qkv: Tensor, cache: KVCache, heads: number): [number, number] {
  expectDType(op, 'qkv', qkv, 'f32');
  const { batch: B, kvHeads: Hkv, headDim: hd } = cache;
  if (!Number.isInteger(heads) || heads < 1 || heads % Hkv !== 0) {
    throw new Error(`${op}: heads must be a positive multiple of the cache's ${Hkv} kv heads, found ${heads}`);
  }
  const row = (heads + 2 * Hkv) * hd;
  if (qkv.shape.length !== 3 || qkv.shape[0] !== B || qkv.shape[2] !== row) {
    throw new Error(`${op}: qkv must be [B=${B}, L, (H + 2·Hkv)·hd = ${row}], found [${qkv.shape.join(', ')}]`);
  }
  return [B, qkv.shape[1]];
}

function checkRope(op: string, rope: RopeOptions | undefined, L: number, hd: number): void {
  if (!rope) return;
  expectDType(op, 'rope.positions', rope.positions, 'i32');
  const shape = rope.positions.shape;
  if (shape[0] !== L || !(shape.length === 1 || (shape.length === 2 && shape[1] === 3))) {
    throw new Error(`${op}: rope.positions must be [L=${L}] or [L=${L}, 3], found [${shape.join(', ')}]`);
  }
  if (hd % 2 !== 0 || !(rope.theta > 0)) throw new Error(`${op}: rope needs an even head dim and theta > 0, found hd ${hd}, theta ${rope.theta}`);
}

/** Positions per token of a rope (1 or 3), the shader's ROPE_AXES. */
function positionAxes(rope: RopeOptions | undefined): number {
  return rope?.positions.shape[1] ?? 1;
}

/**
 * Appends the keys and values of qkv [B, L, (H + 2·Hkv)·hd] to the cache at rows
 * cache.length .. cache.length + L - 1 (keys L2-normalised with `qkNorm`, rotated with `rope`), then
 * advances cache.length by L. Throws, appending nothing, when the cache would overflow.
 *
 * @example
 *   appendKV(rec, cache, qkvBLC, { heads: 16, qkNorm: true }); // cache.length: 10 → 26 (a 4×4 scale)
 */
export function appendKV(rec: Recorder, cache: KVCache, qkv: Tensor, opts: AppendKVOptions): void {
  const [B, L] = checkQkv('appendKV', qkv, cache, opts.heads);
  checkRope('appendKV', opts.rope, L, cache.headDim);
  if (cache.length + L > cache.capacity) {
    throw new Error(`appendKV: the cache holds ${cache.length} of ${cache.capacity} tokens; appending ${L} needs room for ${cache.length + L}`);
  }
  if (L === 0) return;
  rec.dispatch(appendKernel, {
    bindings: { qkv, positions: opts.rope?.positions ?? qkv, k_dst: cache.k, v_dst: cache.v },
    // The keys and values of qkv read, and as many written: the rest of the cache is not touched.
    bytes: 2 * (2 * B * L * cache.kvHeads * cache.headDim * 4),
    uniforms: { B, L, H: opts.heads, kv_heads: cache.kvHeads, start: cache.length, capacity: cache.capacity, theta: opts.rope?.theta ?? 1 },
    constants: { HD4: cache.headDim / 4, QK_NORM: !!opts.qkNorm, ROPE: !!opts.rope, ROPE_AXES: positionAxes(opts.rope) },
    workgroups: grid(B * L * cache.kvHeads * WG_APPEND, WG_APPEND),
  });
  cache.length += L;
}

/**
 * out [B, L, H·hd] = softmax(scale · q·kᵀ, masked) · v for the L queries of qkv [B, L, (H + 2·Hkv)·hd]
 * against all cache.length cached keys; the queries are the newest L tokens (call appendKV first).
 * Unused bindings (no qkNorm, rope, limits or keyMask) are bound to qkv, never read.
 *
 * @example
 *   appendKV(rec, cache, qkv, { heads: 16, qkNorm: true });
 *   attention(rec, outBLC, qkv, cache, { heads: 16, scale: 1, qkNorm: { scaleMul }, mask: 'none' });
 */
export function attention(rec: Recorder, out: Tensor, qkv: Tensor, cache: KVCache, opts: AttentionOptions): void {
  const H = opts.heads;
  const [B, L] = checkQkv('attention', qkv, cache, H);
  const hd = cache.headDim;
  expectDType('attention', 'out', out, 'f32');
  if (out.shape.length !== 3 || out.shape[0] !== B || out.shape[1] !== L || out.shape[2] !== H * hd) {
    throw new Error(`attention: out must be [${B}, ${L}, ${H * hd}], found [${out.shape.join(', ')}]`);
  }
  if (L > cache.length) throw new Error(`attention: ${L} queries but only ${cache.length} cached keys (call appendKV first)`);
  checkRope('attention', opts.rope, L, hd);
  const scaleMul = opts.qkNorm?.scaleMul;
  if (scaleMul) {
    expectDType('attention', 'qkNorm.scaleMul', scaleMul, 'f32');
    if (scaleMul.size !== H) throw new Error(`attention: qkNorm.scaleMul must hold H=${H} values, found [${scaleMul.shape.join(', ')}]`);
  }
  const mask = opts.mask ?? 'none';
  const limits = typeof mask === 'object' ? mask.limits : undefined;
  if (limits) {
    expectDType('attention', 'mask.limits', limits, 'u32');
    if (limits.shape.length !== 1 || limits.shape[0] !== L) throw new Error(`attention: mask.limits must be [L=${L}], found [${limits.shape.join(', ')}]`);
  }
  const keyMask = opts.keyMask;
  if (keyMask) {
    expectDType('attention', 'keyMask', keyMask, 'u32');
    if (keyMask.shape.length !== 2 || keyMask.shape[0] !== B || keyMask.shape[1] !== cache.capacity) {
      throw new Error(`attention: keyMask must be [B=${B}, capacity=${cache.capacity}], found [${keyMask.shape.join(', ')}]`);
    }
  }
  if (L === 0) return;
  const bindings = {
    out, qkv, k_cache: cache.k, v_cache: cache.v, scale_mul: scaleMul ?? qkv, positions: opts.rope?.positions ?? qkv,
    limits: limits ?? qkv, key_mask: keyMask ?? qkv,
  };
  const uniforms = {
    B, L, H, kv_heads: cache.kvHeads, start: cache.length - L, keys: cache.length, capacity: cache.capacity,
    mask: mask === 'none' ? 0 : mask === 'causal' ? 1 : 2, scale: opts.scale, theta: opts.rope?.theta ?? 1,
  };
  const constants = { HD4: hd / 4, QK_NORM: !!scaleMul, ROPE: !!opts.rope, ROPE_AXES: positionAxes(opts.rope), KEY_MASK: !!keyMask };
  // q·k and p·v over every cached key (masked ones included), and the tensors read up to the cache's length.
  const keys = cache.length;
  const flops = 4 * B * H * L * keys * hd;
  const bytes = qkv.byteLength + out.byteLength + 2 * B * cache.kvHeads * keys * hd * 4 + (keyMask ? B * keys * 4 : 0);
  if (rec.kernelStyle === 'direct') {
    // The subgroup form shares the keys among 4 neighbouring query blocks: they must be of one head.
    const blocks = Math.ceil(L / 4);
    const kernel = rec.subgroups && blocks % 4 === 0 ? subgroupKernel : directKernel;
    rec.dispatch(kernel, { bindings, uniforms, constants, workgroups: grid(B * H * blocks, DIRECT_WG), flops, bytes });
    return;
  }
  const { queries: BQ, keys: BK } = cache.tile;
  const workgroups = [Math.ceil(L / BQ), H, B] as const;
  if (workgroups.some((n) => n > MAX_GROUPS)) throw new Error(`attention: grid [${workgroups.join(', ')}] exceeds ${MAX_GROUPS} workgroups along an axis`);
  rec.dispatch(attentionKernel, { bindings, uniforms, constants: { ...constants, BQ, BK }, workgroups, flops, bytes });
}

/**
 * Key limits of a block-causal mask over consecutive blocks (VAR's scales in teacher forcing): each
 * token sees every token of its own block and of the blocks before it.
 *
 * @example
 *   blockCausalLimits([1, 2]); // Uint32Array [1, 3, 3]
 */
export function blockCausalLimits(blockLengths: number[]): Uint32Array {
  const out = new Uint32Array(blockLengths.reduce((a, b) => a + b, 0));
  let end = 0;
  for (const n of blockLengths) {
    out.fill(end + n, end, end + n);
    end += n;
  }
  return out;
}
