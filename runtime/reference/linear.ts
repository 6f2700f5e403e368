/** Plain TypeScript reference of shaders/linear.wgsl (PyTorch's nn.Linear), in float64 arithmetic. */

/** out[m, n] = Σ_k x[m, k] · weight[n, k] + bias[n]; x [M, K], weight [N, K], bias [N], out [M, N]. */
export function linear(x: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number> | undefined, M: number, N: number, K: number): Float32Array {
  const out = new Float32Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = bias ? bias[n] : 0;
      for (let k = 0; k < K; k++) s += x[m * K + k] * weight[n * K + k];
      out[m * N + n] = s;
    }
  return out;
}
