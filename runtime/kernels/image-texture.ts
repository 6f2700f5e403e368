/**
 * Hands a generated image to the renderer: one image of an NCHW batch written into an rgba8unorm
 * storage texture by a compute pass, with no CPU copy (Three.js samples the same GPUTexture).
 * WGSL: shaders/image-texture.wgsl. Reference: runtime/reference/image-texture.ts.
 */
import source from '../../shaders/image-texture.wgsl?raw';
import { Kernel, type Recorder, type Tensor } from '../gpu/index.ts';
import { expectDType } from './checks.ts';

const kernel = new Kernel({ name: 'write_image_texture', source, entryPoint: 'write_image_texture' });
const TILE = 16;

export interface ImageTextureOptions {
  /** Which image of a [B, 3, H, W] batch; default 0. */
  batchIndex?: number;
  /** The image's value range, mapped to [0, 1] then clamped; default '0,1'. */
  range?: '0,1' | '-1,1';
  /**
   * Encode with the sRGB transfer function (for images holding linear light); default false, for
   * images already sRGB-encoded, as VAR's decoded images are: set the texture's colour space to sRGB.
   */
  srgb?: boolean;
}

/**
 * Writes image [B, 3, H, W] (or [3, H, W]) f32 into `target`, a view of a W x H rgba8unorm texture
 * made with STORAGE_BINDING usage (plus TEXTURE_BINDING to sample it, COPY_SRC to read it back):
 * rgb = round(clamp(mapped value, 0, 1)·255), alpha 255. Texels outside either the image or the
 * texture are left alone (a view's size cannot be checked here).
 *
 * @example
 *   writeImageTexture(rec, texture.createView(), imageB3HW, { batchIndex: 1 });
 */
export function writeImageTexture(rec: Recorder, target: GPUTextureView, image: Tensor, opts: ImageTextureOptions = {}): void {
  const op = 'writeImageTexture';
  expectDType(op, 'image', image, 'f32');
  const s = image.shape;
  if ((s.length !== 3 && s.length !== 4) || s[s.length - 3] !== 3) {
    throw new Error(`${op}: image must be [B, 3, H, W] or [3, H, W], found [${s.join(', ')}]`);
  }
  const B = s.length === 4 ? s[0] : 1;
  const [H, W] = s.slice(-2);
  const batchIndex = opts.batchIndex ?? 0;
  if (!Number.isInteger(batchIndex) || batchIndex < 0 || batchIndex >= B) {
    throw new Error(`${op}: batchIndex must be an integer in [0, ${B}), found ${batchIndex}`);
  }
  const range = opts.range ?? '0,1';
  if (range !== '0,1' && range !== '-1,1') throw new Error(`${op}: range must be '0,1' or '-1,1', found '${range}'`);
  if (image.size === 0) return;
  const [scale, shift] = range === '-1,1' ? [0.5, 0.5] : [1, 0];
  rec.dispatch(kernel, {
    bindings: { image, tex: target },
    uniforms: { W, H, offset: batchIndex * 3 * H * W, scale, shift },
    constants: { SRGB: opts.srgb ?? false },
    workgroups: [Math.ceil(W / TILE), Math.ceil(H / TILE)],
  });
}
