/**
 * Classifier-free guidance, top-k / top-p filtering and Gumbel-max sampling of token logits, with the
 * counter-based RNG of shaders/rng.wgsl: a token depends only on (seed, counter, logits), never on how
 * the work was split across frames. WGSL: shaders/rng.wgsl + shaders/sampling.wgsl.
 * Reference: runtime/reference/sampling.ts and runtime/reference/rng.ts.
 */
import rng from '../../shaders/rng.wgsl?raw';
import sampling from '../../shaders/sampling.wgsl?raw';
import { grid, Kernel, rowWorkgroupSize, type Recorder, type Tensor } from '../gpu/index.ts';
import { expectDType } from './checks.ts';

const source = rng + sampling;
const WG = 256;
const MAX_VOCAB = 1 << 24;
const guidanceKernel = new Kernel({ name: 'sampling_guidance', source, entryPoint: 'guidance' });
const filterMaskKernel = new Kernel({ name: 'sampling_filter_mask', source, entryPoint: 'filter_mask' });
const sampleKernel = new Kernel({ name: 'sampling_sample', source, entryPoint: 'sample' });
const sampleRowsKernel = new Kernel({ name: 'sampling_sample_rows', source, entryPoint: 'sample_rows' });
/** K_SMALL of shaders/sampling.wgsl: the largest top-k that sample_rows takes. */
const SMALL_TOP_K = 32;
/** Rows per workgroup of sample_rows (its ROWS_WG). */
const ROWS_WG = 16;
const rngFillKernel = new Kernel({ name: 'rng_fill', source, entryPoint: 'rng_fill' });

export interface FilterOptions {
  /** Keep the topK largest logits, ties at the k-th all kept (VAR's top_k); 0 or >= V: off. */
  topK: number;
  /** Keep the most likely tokens up to cumulative probability topP (VAR's top_p); 0 or >= 1: off. */
  topP: number;
  /** Logits are divided by it before top-p and sampling. Default 1. */
  temperature?: number;
}

export interface SampleOptions extends FilterOptions {
  temperature: number;
  /** RNG key, a u32. */
  seed: number;
  /** RNG counter of logit [0, 0]; logit [r, v] draws at counter + r·V + v (a whole number < 2^53). */
  counter: number;
  /**
   * Rows per sequence when the rows are several sequences' (a batch of variations): row j of sequence q
   * draws with key seed + q (mod 2^32) at counter + j·V + v, as sequence q would alone with that seed.
   * Default: all rows are one sequence.
   */
  sequenceRows?: number;
}

/**
 * out = (1 + t)·cond - t·uncond (VAR's classifier-free guidance, t = cfg·s/(S-1) at scale s of S), where
 * logits [2B, L, V] holds the B conditional rows first, then the B unconditional ones; out: [B, L, V].
 */
export function guidance(rec: Recorder, out: Tensor, logits: Tensor, t: number): void {
  expectDType('guidance', 'out', out, 'f32');
  expectDType('guidance', 'logits', logits, 'f32');
  const [b2, ...rest] = logits.shape;
  const expected = [b2 / 2, ...rest];
  if (b2 % 2 !== 0 || out.shape.length !== expected.length || out.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`guidance: logits [${logits.shape}] must be [2B, L, V] with out [B, L, V]: expected out [${expected}], found [${out.shape}]`);
  }
  if (!Number.isFinite(t)) throw new Error(`guidance: t must be finite, found ${t}`);
  rec.dispatch(guidanceKernel, { bindings: { guided: out, logits }, uniforms: { n: out.size, t }, workgroups: grid(out.size, WG) });
}

/** Checks logits [..., V] (R = `rows` rows) and the filter options; returns the row kernels' uniforms. */
function rowUniforms(op: string, logits: Tensor, rows: number, opts: FilterOptions) {
  expectDType(op, 'logits', logits, 'f32');
  const V = logits.shape[logits.shape.length - 1];
  if (logits.shape.length === 0 || V < 1 || logits.size / V !== rows) {
    throw new Error(`${op}: logits must be [..., V] with ${rows} rows in all, found [${logits.shape}]`);
  }
  if (V > MAX_VOCAB) throw new Error(`${op}: at most ${MAX_VOCAB} logits per row (counts are exact f32 sums), found ${V}`);
  const { topK, topP } = opts;
  const temperature = opts.temperature ?? 1;
  if (!Number.isInteger(topK) || topK < 0) throw new Error(`${op}: topK must be a whole number >= 0, found ${topK}`);
  if (!(topP >= 0 && topP <= 1)) throw new Error(`${op}: topP must be in [0, 1], found ${topP}`);
  if (!(temperature > 0 && Number.isFinite(temperature))) throw new Error(`${op}: temperature must be > 0 (topK = 1 samples greedily), found ${temperature}`);
  return {
    rows,
    vocab: V,
    top_k: topK >= V ? 0 : topK,
    top_p: topP >= 1 ? 0 : topP,
    inv_temp: 1 / temperature,
  };
}

/** allowed[r, v] = 1 where token v of row r survives top-k then top-p (after temperature), else 0. */
export function filterMask(rec: Recorder, allowed: Tensor, logits: Tensor, opts: FilterOptions): void {
  expectDType('filterMask', 'allowed', allowed, 'i32');
  if (allowed.size !== logits.size) {
    throw new Error(`filterMask: allowed must match logits [${logits.shape}] (${logits.size} elements), found [${allowed.shape}] (${allowed.size})`);
  }
  const V = logits.shape[logits.shape.length - 1] ?? 1;
  const uniforms = rowUniforms('filterMask', logits, logits.size / V, opts);
  rec.dispatch(filterMaskKernel, { bindings: { allowed, logits }, uniforms, constants: { WG: rowWorkgroupSize(rec.kernelStyle) }, workgroups: grid(uniforms.rows, 1) });
}

/**
 * ids[r] = a token of row r drawn from softmax(logits[r] / temperature) restricted to the tokens that
 * survive top-k then top-p, by Gumbel-max: argmax of logit/temperature + Gumbel noise drawn at (seed,
 * counter + r·V + v). topK = 1 is greedy: the plain argmax, lowest index among ties, no RNG.
 * logits: [..., V] with R rows in all; ids: i32 with R elements. One dispatch: one workgroup per row, or in
 * the direct style with 1 <= topK <= 32, one invocation per row.
 */
export function sample(rec: Recorder, ids: Tensor, logits: Tensor, opts: SampleOptions): void {
  expectDType('sample', 'ids', ids, 'i32');
  const uniforms = rowUniforms('sample', logits, ids.size, opts);
  const seqRows = opts.sequenceRows ?? uniforms.rows;
  if (!Number.isInteger(seqRows) || seqRows < 1 || uniforms.rows % seqRows !== 0) {
    throw new Error(`sample: sequenceRows must be a whole number >= 1 dividing the ${uniforms.rows} rows, found ${seqRows}`);
  }
  const all = { ...uniforms, ...rngUniforms('sample', opts.seed, opts.counter), seq_rows: seqRows };
  if (rec.kernelStyle === 'direct' && uniforms.top_k >= 1 && uniforms.top_k <= SMALL_TOP_K) {
    rec.dispatch(sampleRowsKernel, { bindings: { ids, logits }, uniforms: all, constants: { ROWS_WG }, workgroups: grid(uniforms.rows, ROWS_WG) });
    return;
  }
  rec.dispatch(sampleKernel, { bindings: { ids, logits }, uniforms: all, constants: { WG: rowWorkgroupSize(rec.kernelStyle) }, workgroups: grid(uniforms.rows, 1) });
}

/** bits[i] = uniformBits(seed, counter + i) of runtime/reference/rng.ts, computed on the GPU (u32 [N]). */
export function rngFill(rec: Recorder, bits: Tensor, seed: number, counter: number): void {
  expectDType('rngFill', 'bits', bits, 'u32');
  rec.dispatch(rngFillKernel, { bindings: { bits }, uniforms: { n: bits.size, ...rngUniforms('rngFill', seed, counter) }, workgroups: grid(bits.size, WG) });
}

/** Checks an RNG seed (u32) and counter (< 2^53); the counter goes to WGSL as (low word, high word). */
function rngUniforms(op: string, seed: number, counter: number) {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`${op}: seed must be a whole number in [0, 2^32), found ${seed}`);
  if (!Number.isSafeInteger(counter) || counter < 0) throw new Error(`${op}: counter must be a whole number in [0, 2^53), found ${counter}`);
  const lo = counter % 0x100000000;
  return { seed, counter: [lo, (counter - lo) / 0x100000000] };
}
