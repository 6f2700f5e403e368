/**
 * Plain TypeScript reference of shaders/attention.wgsl, in float64 arithmetic, over a whole sequence at
 * once: q, k, v are split from qkv [B, T, (H + 2·Hkv)·hd], optionally L2-normalised (VAR's
 * attn_l2_norm, q then times exp(min(scaleMul[h], ln 100))) and rotated (rotate-half RoPE, by one
 * position per token or by three, pair i turning by axis i mod 3), and every
 * query i attends to keys [0, limits[i]) that its batch row's key mask leaves visible, with a softmax.
 * A query that sees no key gets zeros.
 */

export interface AttentionRefOptions {
  heads: number;
  kvHeads: number;
  headDim: number;
  scale: number;
  qkNorm?: { scaleMul: ArrayLike<number> };
  /** positions [T · axes]: `axes` (default 1) positions per token. */
  rope?: { positions: ArrayLike<number>; theta: number; axes?: number };
  /** Keys visible to each of the T queries; default: all T. */
  limits?: ArrayLike<number>;
  /** [B, T]: key j is visible to batch row b only where keyMask[b·T + j] != 0; default: all. */
  keyMask?: ArrayLike<number>;
}

/** F.normalize(x, dim=-1): x / max(‖x‖, 1e-12). */
export function l2Normalize(x: number[]): number[] {
  const norm = Math.sqrt(x.reduce((s, v) => s + v * v, 0));
  return x.map((v) => v / Math.max(norm, 1e-12));
}

/**
 * HF's apply_rotary_pos_emb on one head row: x·cos + rotate_half(x)·sin. With several positions
 * (one per axis), pair i turns by position[i mod axes].
 */
export function rope(x: number[], position: number | readonly number[], theta: number): number[] {
  const half = x.length / 2;
  const axes = typeof position === 'number' ? [position] : position;
  return x.map((v, d) => {
    const i = d % half;
    const angle = axes[i % axes.length] * theta ** (-(2 * i) / x.length);
    const rot = d < half ? -x[d + half] : x[d - half];
    return v * Math.cos(angle) + rot * Math.sin(angle);
  });
}

/** Causal limits over T tokens: token i sees tokens 0..i. */
export function causalLimits(T: number): number[] {
  return Array.from({ length: T }, (_, i) => i + 1);
}

/** out [B, T, H·hd] from qkv [B, T, (H + 2·Hkv)·hd]. */
export function attention(qkv: ArrayLike<number>, B: number, T: number, opts: AttentionRefOptions): Float32Array {
  const { heads: H, kvHeads: Hkv, headDim: hd } = opts;
  const row = (H + 2 * Hkv) * hd;
  const out = new Float32Array(B * T * H * hd);
  const headRow = (b: number, t: number, head: number): number[] => {
    const at = (b * T + t) * row + head * hd;
    return Array.from({ length: hd }, (_, d) => qkv[at + d]);
  };
  const prepare = (x: number[], t: number): number[] => {
    const y = opts.qkNorm ? l2Normalize(x) : x;
    if (!opts.rope) return y;
    const axes = opts.rope.axes ?? 1;
    return rope(y, Array.from({ length: axes }, (_, a) => opts.rope!.positions[t * axes + a]), opts.rope.theta);
  };
  for (let b = 0; b < B; b++) {
    for (let kvh = 0; kvh < Hkv; kvh++) {
      const k = Array.from({ length: T }, (_, t) => prepare(headRow(b, t, H + kvh), t));
      const v = Array.from({ length: T }, (_, t) => headRow(b, t, H + Hkv + kvh));
      for (let h = kvh * (H / Hkv); h < (kvh + 1) * (H / Hkv); h++) {
        const qScale = opts.scale * (opts.qkNorm ? Math.exp(Math.min(opts.qkNorm.scaleMul[h], Math.log(100))) : 1);
        for (let i = 0; i < T; i++) {
          const q = prepare(headRow(b, i, h), i).map((x) => x * qScale);
          const n = Math.min(opts.limits ? opts.limits[i] : T, T);
          const seen = Array.from({ length: n }, (_, j) => j).filter((j) => !opts.keyMask || opts.keyMask[b * T + j] !== 0);
          const scores = seen.map((j) => k[j].reduce((s, x, d) => s + x * q[d], 0));
          const max = Math.max(...scores);
          const p = scores.map((s) => Math.exp(s - max));
          const sum = p.reduce((a, x) => a + x, 0);
          for (let d = 0; d < hd; d++) {
            let acc = 0;
            seen.forEach((j, m) => (acc += p[m] * v[j][d]));
            out[((b * T + i) * H + h) * hd + d] = seen.length > 0 ? acc / sum : 0;
          }
        }
      }
    }
  }
  return out;
}
