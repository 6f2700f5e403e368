/** Plain TypeScript references of shaders/activation.wgsl, in float64 arithmetic. */

export function geluTanh(x: ArrayLike<number>): Float32Array {
  return Float32Array.from(x, (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
}

export function silu(x: ArrayLike<number>): Float32Array {
  return Float32Array.from(x, (v) => v / (1 + Math.exp(-v)));
}

export function swiglu(gate: ArrayLike<number>, up: ArrayLike<number>): Float32Array {
  return Float32Array.from(gate, (g, i) => (g / (1 + Math.exp(-g))) * up[i]);
}

export function addScaled(x: ArrayLike<number>, y: ArrayLike<number>, scale = 1): Float32Array {
  return Float32Array.from(x, (v, i) => v + scale * y[i]);
}

/** x, y: [G, L, C]; gate: [G, K·C], chunk `chunk` used. */
export function addGated(x: ArrayLike<number>, y: ArrayLike<number>, gate: ArrayLike<number>, G: number, C: number, opts: { chunk?: number; scale?: number } = {}): Float32Array {
  const rows = x.length / (G * C);
  const stride = gate.length / G;
  const off = (opts.chunk ?? 0) * C;
  const scale = opts.scale ?? 1;
  return Float32Array.from(x, (v, i) => v + scale * gate[Math.floor(i / (rows * C)) * stride + off + (i % C)] * y[i]);
}

export function clampAffine(x: ArrayLike<number>, opts: { lo: number; hi: number; scale?: number; shift?: number }): Float32Array {
  return Float32Array.from(x, (v) => Math.min(Math.max(v, opts.lo), opts.hi) * (opts.scale ?? 1) + (opts.shift ?? 0));
}
