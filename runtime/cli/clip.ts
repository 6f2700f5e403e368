/**
 * Clip export: a video made along the feature path (keyframes every N frames, blends decoded in
 * between) written as numbered PNGs, `out/frame_0000.png` on. The generate CLI calls it for
 * `--frames`; it works with any keyframe source (VAR's when given a VarModel).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Gpu } from '../gpu/index.ts';
import type { BlendMode } from '../kernels/feature-slerp.ts';
import type { VarModel } from '../models/var/model.ts';
import { FeaturePath } from '../video/feature-path.ts';
import type { KeyframeSettings, KeyframeSource } from '../video/keyframes.ts';
import { varKeyframeSource } from '../video/var-keyframes.ts';
import { encodePng, imagesToRgba } from './png.ts';

export interface ClipOptions {
  /** Class labels of the keyframes in turn: keyframe k uses labels[k mod n] (class-conditional models). */
  labels?: number[];
  /** Text prompt of every keyframe (prompt-conditioned families). */
  prompt?: string;
  /** Frames to write. */
  frames: number;
  /** A keyframe every this many frames. */
  keyframeEvery: number;
  /** Keyframe k samples with `keyframeSeed(seed, k)`. Default 0. */
  seed?: number;
  /** Default 1.5. */
  cfg?: number;
  /** Default 900. */
  topK?: number;
  /** Default 0.96. */
  topP?: number;
  /** Default 1. */
  temperature?: number;
  /** Make the last frames blend back into the first keyframe, for a clip played in a loop. Default false. */
  loop?: boolean;
  /** How in-between features are made. Default 'slerp'. */
  blend?: BlendMode;
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
  const source = 'begin' in model ? model : varKeyframeSource(model);
  if (source.gpu !== gpu) throw new Error('writeClip: the model was loaded on another GPU context');
  const labels = options.labels ?? [];
  if (labels.length === 0 && options.prompt === undefined) throw new Error('writeClip: expected class labels or a prompt, found neither');
  const base = {
    prompt: options.prompt,
    seed: options.seed ?? 0,
    cfg: options.cfg ?? 1.5,
    topK: options.topK ?? 900,
    topP: options.topP ?? 0.96,
    temperature: options.temperature ?? 1,
  };
  const settingsOf = (k: number): KeyframeSettings => ({ ...base, classLabel: labels.length ? labels[k % labels.length] : 0 });
  for (let k = 0; k < Math.max(1, labels.length); k++) source.check(settingsOf(k));
  const timeline = { frames: options.frames, keyframeEvery: options.keyframeEvery, loop: options.loop ?? false };
  const path = new FeaturePath(source, { timeline, settings: settingsOf, slots: 3, blend: options.blend });
  const size = source.imageSize;
  const digits = Math.max(4, String(options.frames - 1).length);
  const files: string[] = [];
  let keyframes = 0;
  try {
    await mkdir(options.out, { recursive: true });
    for (let f = 0; f < options.frames; f++) {
      path.setWindow(f, 1, 1);
      for (let k = path.keyframeToStep(f); k >= 0; k = path.keyframeToStep(f)) {
        path.stepKeyframe(k);
        if (path.hasKeyframe(k)) keyframes++;
      }
      const rec = gpu.recorder('clip frame');
      path.recordFrame(rec, f);
      rec.submit();
      rec.dispose();
      const image = (await gpu.read(path.image)) as Float32Array;
      const file = join(options.out, `frame_${String(f).padStart(digits, '0')}.png`);
      await writeFile(file, encodePng(imagesToRgba(image, 1, size, size), size, size));
      files.push(file);
      options.onFrame?.(f, file);
    }
  } finally {
    path.dispose();
  }
  return { files, keyframes };
}
