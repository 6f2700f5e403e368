/**
 * A video's frames on the GPU: a ring of K rgba8unorm textures holding decoded frames ahead of the
 * playhead, and one display texture that a scene binds once and samples. Showing a frame is a
 * texture-to-texture copy into the display (so the scene never rebinds, and a frame stays on screen
 * after its ring slot is reused); a preview is written into the display directly. Every texture is
 * made when the ring is; nothing is created per frame.
 */
import type { Recorder, Tensor } from '../gpu/index.ts';
import { writeImageTexture } from '../kernels/image-texture.ts';

export interface FrameRingOptions {
  /** Frames the ring holds (K ≥ 1). */
  frames: number;
  /** Side of a frame in pixels. */
  size: number;
  /** Give the display a full mip chain (and RENDER_ATTACHMENT usage) for scenes that regenerate mips. */
  mipmaps?: boolean;
  label?: string;
}

export class FrameRing {
  /** Frame index held by each slot (-1: empty). */
  readonly frames: Int32Array;
  /** What the scene samples: the frame shown (level 0 written; regenerate mips after each change). */
  readonly display: GPUTexture;
  /** The frame in the display (-1: none yet). */
  displayed = -1;
  /** The display holds a preview of `displayed` rather than the frame itself. */
  displayedPreview = false;
  private readonly textures: GPUTexture[];
  private readonly views: GPUTextureView[];
  private readonly displayView: GPUTextureView;

  constructor(device: GPUDevice, options: FrameRingOptions) {
    const { frames: K, size } = options;
    if (!Number.isInteger(K) || K < 1) throw new Error(`ring frames must be a whole number >= 1, found ${K}`);
    const label = options.label ?? 'video';
    this.frames = new Int32Array(K).fill(-1);
    this.textures = Array.from({ length: K }, (_, i) =>
      device.createTexture({
        label: `${label} frame ${i}`,
        size: [size, size],
        format: 'rgba8unorm',
        usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_SRC,
      }),
    );
    this.views = this.textures.map((t) => t.createView());
    const mips = options.mipmaps ?? false;
    this.display = device.createTexture({
      label: `${label} display`,
      size: [size, size],
      format: 'rgba8unorm',
      mipLevelCount: mips ? Math.floor(Math.log2(size)) + 1 : 1,
      usage:
        GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_SRC | GPUTextureUsage.COPY_DST | (mips ? GPUTextureUsage.RENDER_ATTACHMENT : 0),
    });
    this.displayView = this.display.createView({ baseMipLevel: 0, mipLevelCount: 1 });
  }

  get size(): number {
    return this.frames.length;
  }

  /** The slot holding `frame`, or -1. */
  slotOf(frame: number): number {
    return this.frames.indexOf(frame);
  }

  has(frame: number): boolean {
    return this.frames.indexOf(frame) >= 0;
  }

  /**
   * A slot for a new frame: an empty one, else the one whose frame lies farthest by `distance` among
   * those at or beyond `keepWithin` (frames nearer than that are still wanted); -1 when every slot
   * holds a wanted frame.
   */
  claim(distance: (frame: number) => number, keepWithin: number): number {
    let best = -1;
    let farthest = -1;
    for (let i = 0; i < this.frames.length; i++) {
      if (this.frames[i] < 0) return i;
      const d = distance(this.frames[i]);
      if (d >= keepWithin && d > farthest) {
        best = i;
        farthest = d;
      }
    }
    return best;
  }

  /** Records the write of `image` [1, 3, H, W] into `slot`, which then holds `frame`. */
  write(rec: Recorder, slot: number, frame: number, image: Tensor): void {
    writeImageTexture(rec, this.views[slot], image);
    this.frames[slot] = frame;
  }

  /** Records the copy of the held `frame` into the display. */
  show(rec: Recorder, frame: number): void {
    const slot = this.slotOf(frame);
    if (slot < 0) throw new Error(`show: frame ${frame} is not in the ring (holding ${Array.from(this.frames).join(', ')})`);
    const s = this.display.width;
    rec.rawEncoder().copyTextureToTexture({ texture: this.textures[slot] }, { texture: this.display }, [s, s]);
    this.displayed = frame;
    this.displayedPreview = false;
  }

  /** Records the write of a preview of `frame` (`image`) into the display. */
  showPreview(rec: Recorder, frame: number, image: Tensor): void {
    writeImageTexture(rec, this.displayView, image);
    this.displayed = frame;
    this.displayedPreview = true;
  }

  /** Forgets every held frame (the display keeps its picture until the next frame is shown). */
  clear(): void {
    this.frames.fill(-1);
    this.displayed = -1;
    this.displayedPreview = false;
  }

  /** The ring's texture for `slot` (tests and tools read frames through it). */
  texture(slot: number): GPUTexture {
    return this.textures[slot];
  }

  destroy(): void {
    for (const t of this.textures) t.destroy();
    this.display.destroy();
  }
}
