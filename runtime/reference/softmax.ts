/** Plain TypeScript reference of shaders/softmax.wgsl, in float64 arithmetic. */

/** softmax(scale · x) over rows of N, with the row max subtracted first. */
export function softmax(x: ArrayLike<number>, N: number, opts: { scale?: number } = {}): Float32Array {
  const scale = opts.scale ?? 1;
  const out = new Float32Array(x.length);
  for (let r = 0; r * N < x.length; r++) {
    let max = -Infinity;
    for (let i = 0; i < N; i++) max = Math.max(max, x[r * N + i] * scale);
    let sum = 0;
    for (let i = 0; i < N; i++) sum += Math.exp(x[r * N + i] * scale - max);
    for (let i = 0; i < N; i++) out[r * N + i] = Math.exp(x[r * N + i] * scale - max) / sum;
  }
  return out;
}
