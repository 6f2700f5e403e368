/**
 * Plain TypeScript references of shaders/sampling.wgsl, in float64 arithmetic, following VAR's
 * `sample_with_top_k_top_p_` (models/helpers.py) and the guidance of `autoregressive_infer_cfg`. Tokens
 * with equal logits are one group for top-p: the group goes or stays as a whole (PyTorch's sort would
 * split it in an arbitrary order). Rows are the last axis: logits is [R, V], flat.
 */
import { uniform } from './rng.ts';

export interface FilterOptions {
  topK: number;
  topP: number;
  temperature?: number;
}

export interface SampleOptions extends FilterOptions {
  temperature: number;
  seed: number;
  counter: number;
  /** Rows per sequence: row j of sequence q draws with key (seed + q) mod 2^32 at counter + j·V + v. */
  sequenceRows?: number;
}

/** (1 + t)·cond - t·uncond; logits [2B, ...] with the conditional half first. */
export function guidance(logits: ArrayLike<number>, t: number): Float32Array {
  const n = logits.length / 2;
  return Float32Array.from({ length: n }, (_, i) => (1 + t) * logits[i] - t * logits[n + i]);
}

/** 1 where a token survives top-k (>= the k-th largest) then top-p (on softmax of logits/temperature). */
export function filterMask(logits: ArrayLike<number>, V: number, opts: FilterOptions): Int32Array {
  const R = logits.length / V;
  const out = new Int32Array(logits.length);
  for (let r = 0; r < R; r++) {
    const x = Array.from({ length: V }, (_, v) => logits[r * V + v]);
    const keep = x.map(() => true);
    if (opts.topK > 0 && opts.topK < V) {
      const kth = [...x].sort((a, b) => b - a)[opts.topK - 1];
      x.forEach((xv, v) => (keep[v] = xv >= kth));
    }
    if (opts.topP > 0 && opts.topP < 1) {
      const T = opts.temperature ?? 1;
      const order = x.map((_, v) => v).filter((v) => keep[v]).sort((a, b) => x[a] - x[b]);
      const xmax = x[order[order.length - 1]];
      const p = order.map((v) => Math.exp((x[v] - xmax) / T));
      const Z = p.reduce((a, b) => a + b, 0);
      // Ascending cumulative probability, a tie group taking the sum up to its last member.
      const cum = new Array<number>(order.length);
      let acc = 0;
      for (let i = 0; i < order.length; i++) {
        acc += p[i] / Z;
        cum[i] = acc;
      }
      for (let i = order.length - 2; i >= 0; i--) if (x[order[i]] === x[order[i + 1]]) cum[i] = cum[i + 1];
      order.forEach((v, i) => {
        if (cum[i] <= 1 - opts.topP && x[v] < xmax) keep[v] = false;
      });
    }
    keep.forEach((k, v) => (out[r * V + v] = k ? 1 : 0));
  }
  return out;
}

/**
 * Per-token sampling scores: logit/temperature + Gumbel noise -log(-log(u)) with u drawn at
 * (seed + q, counter + j·V + v) for row j of sequence q; -Infinity for filtered tokens. The sample is
 * each row's argmax.
 */
export function gumbelScores(logits: ArrayLike<number>, V: number, opts: SampleOptions): Float64Array {
  const allowed = filterMask(logits, V, opts);
  const perSequence = (opts.sequenceRows ?? logits.length / V) * V;
  return Float64Array.from({ length: logits.length }, (_, i) => {
    if (!allowed[i]) return -Infinity;
    const key = (opts.seed + Math.floor(i / perSequence)) >>> 0;
    return logits[i] / opts.temperature - Math.log(-Math.log(uniform(key, opts.counter + (i % perSequence))));
  });
}

/** The sampled token per row; topK = 1 is greedy (argmax, lowest index among ties). */
export function sample(logits: ArrayLike<number>, V: number, opts: SampleOptions): Int32Array {
  const scores = opts.topK === 1 ? Float64Array.from(logits) : gumbelScores(logits, V, opts);
  const R = logits.length / V;
  return Int32Array.from({ length: R }, (_, r) => {
    let best = 0;
    for (let v = 1; v < V; v++) if (scores[r * V + v] > scores[r * V + best]) best = v;
    return best;
  });
}
