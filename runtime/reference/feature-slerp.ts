/** Plain TypeScript reference of shaders/feature-slerp.wgsl, in float64 arithmetic. */

const MIN_SINE = 1e-4;

/** out = blend(a, b, t) for NCHW maps of B·C·positions values (see the shader for the weights). */
export function featureSlerp(a: ArrayLike<number>, b: ArrayLike<number>, C: number, positions: number, t: number, mode: 'lerp' | 'slerp' = 'slerp'): Float32Array {
  const out = new Float32Array(a.length);
  const B = a.length / (C * positions);
  for (let n = 0; n < B; n++) {
    for (let q = 0; q < positions; q++) {
      const at = (c: number) => (n * C + c) * positions + q;
      let [wa, wb] = [1 - t, t];
      if (mode === 'slerp') {
        let [ab, aa, bb] = [0, 0, 0];
        for (let c = 0; c < C; c++) {
          ab += a[at(c)] * b[at(c)];
          aa += a[at(c)] ** 2;
          bb += b[at(c)] ** 2;
        }
        const [na, nb] = [Math.sqrt(aa), Math.sqrt(bb)];
        if (na > 0 && nb > 0) {
          const cosine = Math.min(1, Math.max(-1, ab / (na * nb)));
          const omega = Math.acos(cosine);
          const s = Math.sin(omega);
          if (s >= MIN_SINE) {
            const [u, v] = [Math.sin((1 - t) * omega) / s, Math.sin(t * omega) / s];
            const dir = Math.sqrt(Math.max(u * u + v * v + 2 * u * v * cosine, 1e-30));
            const len = (1 - t) * na + t * nb;
            wa = (len * u) / (dir * na);
            wb = (len * v) / (dir * nb);
          }
        }
      }
      for (let c = 0; c < C; c++) out[at(c)] = wa * a[at(c)] + wb * b[at(c)];
    }
  }
  return out;
}
