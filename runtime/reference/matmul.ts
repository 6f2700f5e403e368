/** Plain TypeScript reference of shaders/matmul.wgsl, in float64 arithmetic. */

/**
 * out [B, M, N] = alpha · a [B, M, K] @ b [B, K, N] (b [B, N, K] with `transposeB`); b holding a
 * single [K, N] matrix is shared by the batch.
 */
export function matmul(
  a: ArrayLike<number>, b: ArrayLike<number>, B: number, M: number, K: number, N: number,
  opts: { transposeB?: boolean; alpha?: number } = {},
): Float32Array {
  const out = new Float32Array(B * M * N);
  const bStride = b.length === K * N ? 0 : K * N;
  for (let g = 0; g < B; g++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[(g * M + m) * K + k] * b[g * bStride + (opts.transposeB ? n * K + k : k * N + n)];
        out[(g * M + m) * N + n] = (opts.alpha ?? 1) * s;
      }
  return out;
}
