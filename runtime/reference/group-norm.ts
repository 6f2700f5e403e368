/** Plain TypeScript reference of shaders/group-norm.wgsl, in float64 arithmetic (nn.GroupNorm semantics). */

/** GroupNorm on x [B, C, N] (two-pass mean and population variance per group), affine, then SiLU. */
export function groupNorm(x: ArrayLike<number>, B: number, C: number, opts: { groups: number; eps: number; weight?: ArrayLike<number>; bias?: ArrayLike<number>; silu?: boolean }): Float32Array {
  const N = x.length / (B * C);
  const Cg = C / opts.groups;
  const size = Cg * N;
  const out = new Float32Array(x.length);
  for (let start = 0; start < x.length; start += size) {
    let mean = 0;
    for (let e = 0; e < size; e++) mean += x[start + e];
    mean /= size;
    let variance = 0;
    for (let e = 0; e < size; e++) variance += (x[start + e] - mean) ** 2;
    variance /= size;
    const rstd = 1 / Math.sqrt(variance + opts.eps);
    const c0 = ((start / size) % opts.groups) * Cg;
    for (let e = 0; e < size; e++) {
      const c = c0 + Math.floor(e / N);
      let y = (x[start + e] - mean) * rstd;
      if (opts.weight) y *= opts.weight[c];
      if (opts.bias) y += opts.bias[c];
      if (opts.silu) y = y / (1 + Math.exp(-y));
      out[start + e] = y;
    }
  }
  return out;
}
