/** Plain TypeScript reference of shaders/rms-norm.wgsl, in float64 arithmetic (Qwen2RMSNorm semantics). */

/** x · rsqrt(mean(x²) + eps) · weight over rows of C. */
export function rmsNorm(x: ArrayLike<number>, C: number, opts: { eps: number; weight?: ArrayLike<number> }): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r * C < x.length; r++) {
    let ms = 0;
    for (let c = 0; c < C; c++) ms += x[r * C + c] ** 2;
    const scale = 1 / Math.sqrt(ms / C + opts.eps);
    for (let c = 0; c < C; c++) out[r * C + c] = x[r * C + c] * scale * (opts.weight ? opts.weight[c] : 1);
  }
  return out;
}
