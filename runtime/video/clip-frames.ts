/**
 * A clip's frames in order, for tools: keyframes from any keyframe source along the feature path
 * (with a keyframe every frame for a source that continues each frame from the one before), each frame
 * decoded and read back. The clip exporter writes them as PNGs; the eval grades them.
 */
import type { Gpu } from '../gpu/index.ts';
import type { BlendMode } from '../kernels/feature-slerp.ts';
import type { VarModel } from '../models/var/model.ts';
import { FeaturePath } from './feature-path.ts';
import type { KeyframeSettings, KeyframeSource } from './keyframes.ts';
import { varKeyframeSource } from './var-keyframes.ts';
import { SAMPLING_DEFAULTS } from '../generate/sampling.ts';

export interface ClipPlayOptions {
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
  /** Top-k of the finest scale of a frame that continues the one before (models trained on clips). Default 1. */
  nextFrameTopK?: number;
  /** Make the last frames blend back into the first keyframe, for a clip played in a loop. Default false. */
  loop?: boolean;
  /** How in-between features are made. Default 'slerp'. */
  blend?: BlendMode;
}

/**
 * The frames of a clip in order, each read back as planes [3, H, W] in [0, 1] (a tool's loop, not a
 * frame's: it waits for each frame). `keyframes` counts the keyframes generated so far.
 *
 * @example
 *   for await (const { frame, image } of clipFrames(gpu, source, { prompt: 'red and blue checker, fine', frames: 8, keyframeEvery: 1 })) ...
 */
export async function* clipFrames(gpu: Gpu, model: VarModel | KeyframeSource, options: ClipPlayOptions): AsyncGenerator<{ frame: number; image: Float32Array; keyframes: number }> {
  const source = 'begin' in model ? model : varKeyframeSource(model);
  if (source.gpu !== gpu) throw new Error('clip: the model was loaded on another GPU context');
  const labels = options.labels ?? [];
  if (labels.length === 0 && options.prompt === undefined) throw new Error('clip: expected class labels or a prompt, found neither');
  // A prompt means a unified model (class labels, VAR): unset sampling takes that family's defaults.
  const d = SAMPLING_DEFAULTS[options.prompt === undefined ? 'var' : 'unified'];
  const base = {
    prompt: options.prompt,
    seed: options.seed ?? 0,
    cfg: options.cfg ?? d.cfg,
    topK: options.topK ?? d.topK,
    topP: options.topP ?? d.topP,
    temperature: options.temperature ?? d.temperature,
    nextFrameTopK: options.nextFrameTopK,
  };
  const settingsOf = (k: number): KeyframeSettings => ({ ...base, classLabel: labels.length ? labels[k % labels.length] : 0 });
  for (let k = 0; k < Math.max(1, labels.length); k++) source.check(settingsOf(k));
  const timeline = { frames: options.frames, keyframeEvery: options.keyframeEvery, loop: options.loop ?? false };
  const path = new FeaturePath(source, { timeline, settings: settingsOf, slots: 3, blend: options.blend });
  let keyframes = 0;
  try {
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
      yield { frame: f, image: (await gpu.read(path.image)) as Float32Array, keyframes };
    }
  } finally {
    path.dispose();
  }
}

