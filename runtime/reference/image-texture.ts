/** Plain TypeScript reference of shaders/image-texture.wgsl, in float64 arithmetic. */

export interface ImageTextureOptions {
  batchIndex?: number;
  range?: '0,1' | '-1,1';
  srgb?: boolean;
}

/** sRGB transfer function (linear light → encoded), for values in [0, 1]. */
export function srgbEncode(v: number): number {
  return v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055;
}

/**
 * image [B, 3, H, W] → image `batchIndex` as RGBA in [0, 1] before quantisation, row-major W x H
 * texels: the colour channels mapped from their range, clamped, optionally sRGB-encoded; alpha 1.
 */
export function imageToUnitRgba(image: ArrayLike<number>, H: number, W: number, opts: ImageTextureOptions = {}): Float64Array {
  const out = new Float64Array(W * H * 4);
  const base = (opts.batchIndex ?? 0) * 3 * H * W;
  const [scale, shift] = opts.range === '-1,1' ? [0.5, 0.5] : [1, 0];
  for (let i = 0; i < H * W; i++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.min(Math.max(image[base + c * H * W + i] * scale + shift, 0), 1);
      out[4 * i + c] = opts.srgb ? srgbEncode(v) : v;
    }
    out[4 * i + 3] = 1;
  }
  return out;
}

/** The texture's RGBA8 bytes: round(v·255) of imageToUnitRgba. */
export function imageToRgba8(image: ArrayLike<number>, H: number, W: number, opts: ImageTextureOptions = {}): Uint8Array {
  return Uint8Array.from(imageToUnitRgba(image, H, W, opts), (v) => Math.round(v * 255));
}
