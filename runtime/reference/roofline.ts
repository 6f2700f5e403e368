/** Plain TypeScript reference of shaders/roofline.wgsl, in float64 arithmetic. */

/**
 * What fma_peak writes: for invocation i of n, the sum over 8 chains of 4 lanes, chain j lane l starting
 * at (i mod 64) / 64 + l / 4 + j and stepped 8 · rounds times by c ← c · mul + add.
 */
export function fmaPeak(n: number, rounds: number, mul: number, add: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < 8; j++)
      for (let l = 0; l < 4; l++) {
        let c = (i % 64) / 64 + l / 4 + j;
        for (let t = 0; t < 8 * rounds; t++) c = c * mul + add;
        s += c;
      }
    out[i] = s;
  }
  return out;
}

/** What copy_vec4 writes: its source, unchanged. */
export function copyVec4(src: ArrayLike<number>): Float32Array {
  return Float32Array.from(src);
}
