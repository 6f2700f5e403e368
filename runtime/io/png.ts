/** PNG in and out for the command-line tools, the editor's exports and image inputs (fast-png does the format). */
import { decode, encode } from 'fast-png';

/** Float images [B, 3, H, W] in [0, 1] laid side by side as RGBA bytes (width B·W). */
export function imagesToRgba(images: Float32Array, B: number, H: number, W: number): Uint8Array {
  const out = new Uint8Array(B * W * H * 4);
  for (let b = 0; b < B; b++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const o = (y * B * W + b * W + x) * 4;
        for (let c = 0; c < 3; c++) out[o + c] = Math.round(Math.min(1, Math.max(0, images[((b * 3 + c) * H + y) * W + x])) * 255);
        out[o + 3] = 255;
      }
  return out;
}

export function encodePng(rgba: Uint8Array, width: number, height: number): Uint8Array {
  return encode({ width, height, data: rgba, channels: 4, depth: 8 });
}

/** Decodes a PNG into a float image [3, H, W] in [0, 1] (alpha dropped, grey expanded). */
export function decodePng(bytes: Uint8Array, name = 'image'): { data: Float32Array; width: number; height: number } {
  let png;
  try {
    png = decode(bytes);
  } catch (e) {
    throw new Error(`${name}: not a readable PNG (${(e as Error).message})`);
  }
  const { width, height, channels, depth } = png;
  const max = depth === 16 ? 65535 : 255;
  const out = new Float32Array(3 * width * height);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) out[c * width * height + i] = png.data[i * channels + (channels >= 3 ? c : 0)] / max;
  }
  return { data: out, width, height };
}
