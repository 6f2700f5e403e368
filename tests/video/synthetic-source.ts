/**
 * A keyframe source for testing playback without a transformer or a VQVAE: keyframe k's features are
 * seeded random values in (0.05, 1) chosen by its seed and class, filled in two "scales" over five
 * steps, and decoding clamps the features into an image of the same size (3 channels). Every session
 * it begins is logged, so tests can tell which keyframes were generated with which settings, and the
 * expected frames can be computed on the CPU.
 */
import type { StepInfo } from '../../runtime/generate/steps.ts';
import type { Gpu, Recorder, Tensor } from '../../runtime/gpu/index.ts';
import { clampAffine } from '../../runtime/kernels/activation.ts';
import { keyframeSeed, type KeyframeSession, type KeyframeSettings, type KeyframeSource, type KeyframeUnit } from '../../runtime/video/keyframes.ts';
import { random } from '../helpers.ts';

/** Side of the synthetic frames: 64 texels make 256-byte rows, as texture readback wants. */
export const SIZE = 64;
const CLASSES = 10;
const UNITS: readonly KeyframeUnit[] = [
  { kind: 'condition', scale: -1 },
  { kind: 'blocks', scale: 0 },
  { kind: 'sample', scale: 0 },
  { kind: 'blocks', scale: 1 },
  { kind: 'sample', scale: 1 },
];

/** The final features of keyframe k with these settings, [1, 3, SIZE, SIZE]. */
export function syntheticFeatures(k: number, s: Pick<KeyframeSettings, 'seed' | 'classLabel'>): Float32Array {
  return random(3 * SIZE * SIZE, (keyframeSeed(s.seed, k) ^ Math.imul(s.classLabel + 1, 0x85ebca6b)) >>> 0, 0.05, 1);
}

export class SyntheticSource implements KeyframeSource {
  readonly featureShape = [1, 3, SIZE, SIZE];
  readonly imageSize = SIZE;
  readonly scales = 2;
  /** Every session begun, in order. */
  readonly begun: { k: number; classLabel: number; seed: number }[] = [];
  /** The next-frame top-k of every session begun, in order. */
  readonly nextFrameTopKs: (number | undefined)[] = [];
  decodes = 0;

  constructor(readonly gpu: Gpu) {}

  check(s: KeyframeSettings): void {
    if (!Number.isInteger(s.classLabel) || s.classLabel < 0 || s.classLabel >= CLASSES) {
      throw new Error(`class label ${s.classLabel} is out of range: this model has classes 0..${CLASSES - 1}`);
    }
  }

  begin(k: number, s: KeyframeSettings): KeyframeSession {
    this.check(s);
    this.begun.push({ k, classLabel: s.classLabel, seed: s.seed });
    this.nextFrameTopKs.push(s.nextFrameTopK);
    return new SyntheticKeyframe(this.gpu, syntheticFeatures(k, s));
  }

  decode(rec: Recorder, fHat: Tensor, image: Tensor): void {
    this.decodes++;
    clampAffine(rec, image, fHat, { lo: 0, hi: 1 });
  }
}

class SyntheticKeyframe implements KeyframeSession {
  readonly fHat: Tensor;
  private steps = 0;

  constructor(
    private readonly gpu: Gpu,
    private readonly final: Float32Array,
  ) {
    this.fHat = gpu.tensor([1, 3, SIZE, SIZE], 'f32', 'synthetic f_hat');
  }

  get scale(): number {
    return this.steps >= 5 ? 2 : this.steps >= 3 ? 1 : 0;
  }

  get done(): boolean {
    return this.steps >= UNITS.length;
  }

  next(): KeyframeUnit {
    return UNITS[this.steps];
  }

  step(): StepInfo {
    const unit = UNITS[this.steps++];
    if (unit.kind === 'sample') this.gpu.write(this.fHat, this.final.map((v) => (v * (unit.scale + 1)) / 2));
    const rec = this.gpu.recorder('synthetic step');
    const sub = rec.submit();
    rec.dispose();
    return { kind: unit.kind, scale: unit.scale, dispatches: 0, weightBytesRead: 0, weightBytesStreamed: 0, gpuDone: sub.done };
  }

  dispose(): void {
    this.fHat.dispose();
  }
}

/** A texture's level 0 as tightly packed RGBA bytes (copied with rows padded to 256 bytes, as copies need). */
export async function readTexture(gpu: Gpu, texture: GPUTexture): Promise<Uint8Array> {
  const row = texture.width * 4;
  const bytesPerRow = Math.ceil(row / 256) * 256;
  const buffer = gpu.device.createBuffer({ size: bytesPerRow * texture.height, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = gpu.device.createCommandEncoder();
  encoder.copyTextureToBuffer({ texture }, { buffer, bytesPerRow }, [texture.width, texture.height]);
  gpu.device.queue.submit([encoder.finish()]);
  await buffer.mapAsync(GPUMapMode.READ);
  const padded = new Uint8Array(buffer.getMappedRange());
  const out = new Uint8Array(row * texture.height);
  for (let y = 0; y < texture.height; y++) out.set(padded.subarray(y * bytesPerRow, y * bytesPerRow + row), y * row);
  buffer.unmap();
  buffer.destroy();
  return out;
}

/** The bytes a frame of an NCHW image [1, 3, S, S] in [0, 1] becomes in an rgba8unorm texture. */
export function textureBytes(image: ArrayLike<number>): Uint8Array {
  const plane = SIZE * SIZE;
  const out = new Uint8Array(4 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[4 * i + c] = Math.floor(Math.min(1, Math.max(0, image[c * plane + i])) * 255 + 0.5);
    out[4 * i + 3] = 255;
  }
  return out;
}
