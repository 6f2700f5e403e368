/** Plain TypeScript references of shaders/embedding.wgsl (nn.Embedding and nearest-code search), in float64 arithmetic. */

const clampId = (id: number, V: number) => Math.min(Math.max(id, 0), V - 1);

/** table [V, C], ids [R] → out [R, C]; ids clamped to [0, V). */
export function embeddingRows(table: ArrayLike<number>, ids: ArrayLike<number>, V: number, C: number): Float32Array {
  const out = new Float32Array(ids.length * C);
  for (let r = 0; r < ids.length; r++) for (let c = 0; c < C; c++) out[r * C + c] = table[clampId(ids[r], V) * C + c];
  return out;
}

/** table [V, C], ids [B, N] → out [B, C, N]; ids clamped to [0, V). */
export function embeddingNchw(table: ArrayLike<number>, ids: ArrayLike<number>, V: number, C: number, B: number, N: number): Float32Array {
  const out = new Float32Array(B * C * N);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++) for (let n = 0; n < N; n++) out[(b * C + c) * N + n] = table[clampId(ids[b * N + n], V) * C + c];
  return out;
}

/** x [B, C, N], codebook [V, C] → ids [B, N] = argmin_v Σ_c (x[b, c, n] - codebook[v, c])², ties to the lowest v. */
export function nearestCode(x: ArrayLike<number>, codebook: ArrayLike<number>, B: number, C: number, N: number, V: number): Int32Array {
  const out = new Int32Array(B * N);
  for (let b = 0; b < B; b++)
    for (let n = 0; n < N; n++) {
      let best = Infinity;
      for (let v = 0; v < V; v++) {
        let d = 0;
        for (let c = 0; c < C; c++) d += (x[(b * C + c) * N + n] - codebook[v * C + c]) ** 2;
        if (d < best) [best, out[b * N + n]] = [d, v];
      }
    }
  return out;
}
