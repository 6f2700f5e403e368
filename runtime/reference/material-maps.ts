/** Plain TypeScript references of shaders/material-maps.wgsl and of the chain that makes a material, in float64. */
import { materialSigmas, type MaterialSettings } from '../generate/material.ts';

const mod = (i: number, n: number) => ((i % n) + n) % n;
const clamp01 = (v: number) => Math.min(Math.max(v, 0), 1);

const LUMA = [0.2126, 0.7152, 0.0722];
const POWER_STEPS = 32;

/** axis [B, 4]: each image's first principal colour direction (power iteration from luma, 32 steps), brighter positive. */
export function colourAxis(image: ArrayLike<number>, B: number, H: number, W: number): Float64Array {
  const hw = H * W;
  const out = new Float64Array(B * 4);
  for (let b = 0; b < B; b++) {
    const px = (i: number) => [0, 1, 2].map((c) => image[(b * 3 + c) * hw + i]);
    const mean = [0, 0, 0];
    for (let i = 0; i < hw; i++) px(i).forEach((v, c) => (mean[c] += v / hw));
    const cov = [0, 0, 0, 0, 0, 0, 0, 0, 0];
    for (let i = 0; i < hw; i++) {
      const d = px(i).map((v, c) => v - mean[c]);
      for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) cov[r * 3 + c] += (d[r] * d[c]) / hw;
    }
    const norm = Math.hypot(LUMA[0], LUMA[1], LUMA[2]);
    let v = LUMA.map((l) => l / norm);
    for (let k = 0; k < POWER_STEPS; k++) {
      const w = [0, 1, 2].map((r) => cov[r * 3] * v[0] + cov[r * 3 + 1] * v[1] + cov[r * 3 + 2] * v[2]);
      const len = Math.hypot(w[0], w[1], w[2]);
      if (len < 1e-12) break;
      v = w.map((x) => x / len);
    }
    if (v[0] * LUMA[0] + v[1] * LUMA[1] + v[2] * LUMA[2] < 0) v = v.map((x) => -x);
    out.set([...v, 0], b * 4);
  }
  return out;
}

/** lum [B, 2, H, W]: image [B, 3, H, W]'s colours along axis [B, 4], Y, and Y². */
export function projectColours(image: ArrayLike<number>, axis: ArrayLike<number>, B: number, H: number, W: number): Float64Array {
  const hw = H * W;
  const out = new Float64Array(B * 2 * hw);
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < hw; s++) {
      let l = 0;
      for (let c = 0; c < 3; c++) l += image[(b * 3 + c) * hw + s] * axis[b * 4 + c];
      out[b * 2 * hw + s] = l;
      out[b * 2 * hw + hw + s] = l * l;
    }
  }
  return out;
}

/** x [planes, H, W] blurred along one axis by a normalised Gaussian of `sigma` pixels and `radius` taps a side, wrapping. */
export function blurCircular(x: ArrayLike<number>, planes: number, H: number, W: number, axis: 'x' | 'y', sigma: number, radius: number): Float64Array {
  const out = new Float64Array(planes * H * W);
  for (let p = 0; p < planes; p++)
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++) {
        let acc = 0;
        let total = 0;
        for (let k = -radius; k <= radius; k++) {
          const w = Math.exp((-0.5 * k * k) / (sigma * sigma));
          const at = axis === 'x' ? (p * H + y) * W + mod(xx + k, W) : (p * H + mod(y + k, H)) * W + xx;
          acc += w * x[at];
          total += w;
        }
        out[(p * H + y) * W + xx] = acc / total;
      }
  return out;
}

/** A grey [B, 3, H, W] map whose pixel (b, s) is value(b, s). */
function grey(B: number, H: number, W: number, value: (b: number, s: number) => number): Float64Array {
  const hw = H * W;
  const out = new Float64Array(B * 3 * hw);
  for (let b = 0; b < B; b++)
    for (let s = 0; s < hw; s++) {
      const v = value(b, s);
      for (let c = 0; c < 3; c++) out[(b * 3 + c) * hw + s] = v;
    }
  return out;
}

/** Height [B, 3, H, W] = clamp(0.5 + gain · (local Y − wide Y)), local and wide [B, 2, H, W]. */
export function heightMap(local: ArrayLike<number>, wide: ArrayLike<number>, B: number, H: number, W: number, gain: number): Float64Array {
  const hw = H * W;
  return grey(B, H, W, (b, s) => clamp01(0.5 + gain * (local[b * 2 * hw + s] - wide[b * 2 * hw + s])));
}

/** Normal [B, 3, H, W] of height [B, 3, H, W] (channel 0): (−k·dx, k·dy, 1) normalised, encoded n · 0.5 + 0.5. */
export function normalMap(height: ArrayLike<number>, B: number, H: number, W: number, strength: number): Float64Array {
  const hw = H * W;
  const out = new Float64Array(B * 3 * hw);
  for (let b = 0; b < B; b++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const h = (yy: number, xx: number) => height[b * 3 * hw + mod(yy, H) * W + mod(xx, W)];
        const dx = (0.5 * (h(y, x + 1) - h(y, x - 1)) * W) / 64;
        const dy = (0.5 * (h(y + 1, x) - h(y - 1, x)) * H) / 64;
        const n = [-strength * dx, strength * dy, 1];
        const len = Math.hypot(n[0], n[1], n[2]);
        for (let c = 0; c < 3; c++) out[(b * 3 + c) * hw + y * W + x] = (n[c] / len) * 0.5 + 0.5;
      }
  return out;
}

/** Roughness [B, 3, H, W] = clamp(base + gain · sqrt(max(0, mean Y² − (mean Y)²))), from local [B, 2, H, W]. */
export function roughnessMap(local: ArrayLike<number>, B: number, H: number, W: number, base: number, gain: number): Float64Array {
  const hw = H * W;
  return grey(B, H, W, (b, s) => {
    const mean = local[b * 2 * hw + s];
    return clamp01(base + gain * Math.sqrt(Math.max(local[b * 2 * hw + hw + s] - mean * mean, 0)));
  });
}

/** Ambient occlusion [B, 3, H, W] = clamp(1 − gain · max(0, mid Y − local Y)), local and mid [B, 2, H, W]. */
export function aoMap(local: ArrayLike<number>, mid: ArrayLike<number>, B: number, H: number, W: number, gain: number): Float64Array {
  const hw = H * W;
  return grey(B, H, W, (b, s) => clamp01(1 - gain * Math.max(mid[b * 2 * hw + s] - local[b * 2 * hw + s], 0)));
}

/** The whole chain of runtime/generate/material.ts on image [B, 3, H, W]: height, normal, roughness and ao maps. */
export function materialMaps(image: ArrayLike<number>, B: number, H: number, W: number, settings: MaterialSettings) {
  const lum = projectColours(image, colourAxis(image, B, H, W), B, H, W);
  const blur2 = (sigma: number) => {
    const rows = blurCircular(lum, 2 * B, H, W, 'x', sigma, tapRadius(sigma, W));
    return blurCircular(rows, 2 * B, H, W, 'y', sigma, tapRadius(sigma, H));
  };
  const sigmas = materialSigmas(H, W);
  const [local, mid, wide] = [blur2(sigmas.local), blur2(sigmas.mid), blur2(sigmas.wide)];
  const height = heightMap(local, wide, B, H, W, settings.heightGain);
  return {
    height,
    normal: normalMap(height, B, H, W, settings.normalStrength),
    roughness: roughnessMap(local, B, H, W, settings.roughnessBase, settings.roughnessGain),
    ao: aoMap(local, mid, B, H, W, settings.aoGain),
  };
}

/** Taps each side of a Gaussian of `sigma` pixels: 3 sigma, at most the image's side less one. */
function tapRadius(sigma: number, n: number): number {
  return Math.min(Math.ceil(3 * sigma), n - 1);
}
