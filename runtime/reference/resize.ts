/** Plain TypeScript references of shaders/resize.wgsl (PyTorch's F.interpolate), in float64 arithmetic. */

/** Sizes of a resampling: `planes` = B·C maps of H x W into Ho x Wo. */
export interface ResizeShape {
  planes: number;
  H: number;
  W: number;
  Ho: number;
  Wo: number;
}

function resample(x: ArrayLike<number>, { planes, H, W, Ho, Wo }: ResizeShape, at: (plane: number, oy: number, ox: number) => number): Float32Array {
  const out = new Float32Array(planes * Ho * Wo);
  for (let c = 0; c < planes; c++)
    for (let oy = 0; oy < Ho; oy++)
      for (let ox = 0; ox < Wo; ox++) out[(c * Ho + oy) * Wo + ox] = at(c * H * W, oy, ox);
  return out;
}

/** mode='nearest', scale_factor=2: out [planes, 2H, 2W]. */
export function upsampleNearest2x(x: ArrayLike<number>, planes: number, H: number, W: number): Float32Array {
  return resample(x, { planes, H, W, Ho: 2 * H, Wo: 2 * W }, (base, oy, ox) => x[base + Math.floor(oy / 2) * W + Math.floor(ox / 2)]);
}

/** PyTorch's cubic convolution weights (A = -0.75) of taps ⌊s⌋ - 1 .. ⌊s⌋ + 2 at fractional offset t. */
export function cubicWeights(t: number, A = -0.75): number[] {
  const near = (d: number) => ((A + 2) * d - (A + 3)) * d * d + 1;
  const far = (d: number) => ((A * d - 5 * A) * d + 8 * A) * d - 4 * A;
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

/**
 * mode='bicubic', align_corners=False: source (dst + 0.5)·in/out - 0.5, taps clamped to the edge, or
 * with `circular` wrapped around to the opposite edge.
 */
export function resizeBicubic(x: ArrayLike<number>, s: ResizeShape, circular = false): Float32Array {
  const { H, W, Ho, Wo } = s;
  const clampTo = circular ? (i: number, n: number) => ((i % n) + n) % n : (i: number, n: number) => Math.min(Math.max(i, 0), n - 1);
  return resample(x, s, (base, oy, ox) => {
    const sy = (oy + 0.5) * (H / Ho) - 0.5;
    const sx = (ox + 0.5) * (W / Wo) - 0.5;
    const fy = Math.floor(sy);
    const fx = Math.floor(sx);
    const wy = cubicWeights(sy - fy);
    const wx = cubicWeights(sx - fx);
    let sum = 0;
    for (let j = 0; j < 4; j++)
      for (let i = 0; i < 4; i++) sum += wy[j] * wx[i] * x[base + clampTo(fy - 1 + j, H) * W + clampTo(fx - 1 + i, W)];
    return sum;
  });
}

/** mode='area' (adaptive_avg_pool2d): cell i averages inputs ⌊i·In/Out⌋ .. ⌈(i+1)·In/Out⌉ - 1 per axis. */
export function resizeArea(x: ArrayLike<number>, s: ResizeShape): Float32Array {
  const { H, W, Ho, Wo } = s;
  return resample(x, s, (base, oy, ox) => {
    const [y0, y1] = [Math.floor((oy * H) / Ho), Math.ceil(((oy + 1) * H) / Ho)];
    const [x0, x1] = [Math.floor((ox * W) / Wo), Math.ceil(((ox + 1) * W) / Wo)];
    let sum = 0;
    for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) sum += x[base + y * W + xx];
    return sum / ((y1 - y0) * (x1 - x0));
  });
}
