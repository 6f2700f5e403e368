/** Plain TypeScript reference of shaders/broadcast-add.wgsl. */
export function broadcastAdd(
  out: Float32Array, G: number, outRows: number, C: number,
  a: ArrayLike<number>, Ga: number, La: number, b: ArrayLike<number>,
  opts: { rows: number; outOffset?: number; bOffset?: number },
): Float32Array {
  const res = Float32Array.from(out);
  for (let g = 0; g < G; g++)
    for (let l = 0; l < opts.rows; l++)
      for (let c = 0; c < C; c++) {
        res[(g * outRows + (opts.outOffset ?? 0) + l) * C + c] = a[((g % Ga) * La + (l % La)) * C + c] + b[((opts.bOffset ?? 0) + l) * C + c];
      }
  return res;
}
