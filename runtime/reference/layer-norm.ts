/** Plain TypeScript references of shaders/layer-norm.wgsl, in float64 arithmetic (PyTorch semantics). */

/** VAR's AdaLN modulation as the reference sees it: ada [G, K·C] as a flat array. */
export interface RefModulation {
  ada: ArrayLike<number>;
  G: number;
  scaleChunk: number;
  shiftChunk: number;
}

/** LayerNorm over rows of C (two-pass mean and population variance), affine, then modulated. */
export function layerNorm(x: ArrayLike<number>, C: number, opts: { eps: number; weight?: ArrayLike<number>; bias?: ArrayLike<number>; modulation?: RefModulation }): Float32Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r * C < x.length; r++) {
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x[r * C + c];
    mean /= C;
    let variance = 0;
    for (let c = 0; c < C; c++) variance += (x[r * C + c] - mean) ** 2;
    variance /= C;
    const rstd = 1 / Math.sqrt(variance + opts.eps);
    for (let c = 0; c < C; c++) {
      let y = (x[r * C + c] - mean) * rstd;
      if (opts.weight) y *= opts.weight[c];
      if (opts.bias) y += opts.bias[c];
      out[r * C + c] = y;
    }
  }
  return opts.modulation ? modulate(out, C, opts.modulation) : Float32Array.from(out);
}

/** x [G, L, C] · (1 + ada[g, scaleChunk·C + c]) + ada[g, shiftChunk·C + c]. */
export function modulate(x: ArrayLike<number>, C: number, m: RefModulation): Float32Array {
  const rowsPerGroup = x.length / (m.G * C);
  const stride = m.ada.length / m.G;
  return Float32Array.from(x, (v, i) => {
    const a = Math.floor(i / (rowsPerGroup * C)) * stride + (i % C);
    return v * (1 + m.ada[a + m.scaleChunk * C]) + m.ada[a + m.shiftChunk * C];
  });
}
