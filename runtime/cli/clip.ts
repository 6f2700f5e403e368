/**
 * Clip export: a video made along the feature path (keyframes every N frames, blends decoded in
 * between) written as numbered PNGs, `out/frame_0000.png` on. The generate CLI calls it for
 * `--frames`; it works with any keyframe source (VAR's when given a VarModel).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Gpu } from '../gpu/index.ts';
import type { VarModel } from '../models/var/model.ts';
import { clipFrames, type ClipPlayOptions } from '../video/clip-frames.ts';
import type { KeyframeSource } from '../video/keyframes.ts';
import { encodePng, imagesToRgba } from '../io/png.ts';

export interface ClipOptions extends ClipPlayOptions {
  /** Folder of the PNGs (made if missing). */
  out: string;
  /** Told after each frame is written. */
  onFrame?: (frame: number, file: string) => void;
}

export interface ClipResult {
  /** Paths of the PNGs written, in frame order. */
  files: string[];
  /** Keyframes generated. */
  keyframes: number;
}

/**
 * Generates `frames` frames and writes them as PNGs.
 *
 * @example
 *   await writeClip(gpu, model, { labels: [3, 7], frames: 48, keyframeEvery: 8, seed: 0, out: 'clip/' });
 *   // clip/frame_0000.png … clip/frame_0047.png: class 3 morphing into 7 and back every 8 frames
 */
export async function writeClip(gpu: Gpu, model: VarModel | KeyframeSource, options: ClipOptions): Promise<ClipResult> {
  const size = model.imageSize;
  const digits = Math.max(4, String(options.frames - 1).length);
  const files: string[] = [];
  let keyframes = 0;
  for await (const { frame, image, keyframes: made } of clipFrames(gpu, model, options)) {
    if (frame === 0) await mkdir(options.out, { recursive: true });
    const file = join(options.out, `frame_${String(frame).padStart(digits, '0')}.png`);
    await writeFile(file, encodePng(imagesToRgba(image, 1, size, size), size, size));
    files.push(file);
    keyframes = made;
    options.onFrame?.(frame, file);
  }
  return { files, keyframes };
}
