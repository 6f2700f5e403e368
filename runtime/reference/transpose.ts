/** Plain TypeScript reference of shaders/transpose.wgsl: x [B, R, C] → [B, C, R]. */
export function transpose(x: ArrayLike<number>, B: number, R: number, C: number, accumulateInto?: ArrayLike<number>): Float32Array {
  const out = accumulateInto ? Float32Array.from(accumulateInto) : new Float32Array(B * R * C);
  for (let b = 0; b < B; b++)
    for (let r = 0; r < R; r++)
      for (let c = 0; c < C; c++) out[b * R * C + c * R + r] += x[b * R * C + r * C + c];
  return out;
}
