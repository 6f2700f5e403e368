/**
 * Where a video's keyframes come from, whatever the model family: a keyframe source makes one
 * resumable session per keyframe (its settings fixed when it starts), reports the unit it will run
 * next so a scheduler can price it, and decodes feature maps into images. The feature path blends
 * keyframes' accumulated features and decodes the blend; it never sees a transformer.
 *
 * A family plugs in by implementing `KeyframeSource` (VAR: var-keyframes.ts). Keyframe k's seed is
 * derived from the video's seed and k, so any frame of a clip can be recomputed from its index alone.
 */
import type { StepInfo, StepKind } from '../generate/steps.ts';
import type { Gpu, Recorder, Tensor } from '../gpu/index.ts';

/** What a keyframe is generated from (the video's settings when the keyframe starts). */
export interface KeyframeSettings {
  /** Class label (class-conditional families). */
  classLabel: number;
  /** Text prompt (prompt-conditioned families; class-conditional ones ignore it). */
  prompt?: string;
  /** The video's seed; keyframe k samples with `keyframeSeed(seed, k)`. */
  seed: number;
  cfg: number;
  topK: number;
  topP: number;
  temperature: number;
  /**
   * Top-k of the finest scale of a frame that continues the frame before (sources of models trained on
   * clips; others ignore it). Default `NEXT_FRAME_TOP_K`: greedy.
   */
  nextFrameTopK?: number;
}

/**
 * Top-k of the finest scale of a keyframe that continues the one before, unless its settings give one:
 * greedy, so the fine detail follows the frame before (runtime/video/unified-frames.ts).
 */
export const NEXT_FRAME_TOP_K = 1;

/** The unit of work a session runs on its next `step()`, for pricing. */
export interface KeyframeUnit {
  kind: StepKind;
  /** -1 for the conditioning, else the scale being generated. */
  scale: number;
}

/** One keyframe being generated: steps until its features are final. */
export interface KeyframeSession {
  /** The keyframe's accumulated features [1, Cvae, P, P]: partial while generating, final once `done`. */
  readonly fHat: Tensor;
  /** Scales whose features are in `fHat` (for previews of a keyframe still generating). */
  readonly scale: number;
  /** True once `fHat` is final (no decode of its own: frames decode blends of keyframes). */
  readonly done: boolean;
  /** The unit the next `step()` runs. */
  next(): KeyframeUnit;
  /** Records and submits the next unit; never waits on the GPU. */
  step(timing?: boolean): StepInfo;
  dispose(): void;
}

/** A model family's keyframes and decoder. */
export interface KeyframeSource {
  readonly gpu: Gpu;
  /** Shape of one keyframe's features, [1, Cvae, P, P]. */
  readonly featureShape: readonly number[];
  /** Side of a decoded frame in pixels. */
  readonly imageSize: number;
  /** Scales of a keyframe (the cost model keys decodes by this). */
  readonly scales: number;
  /** Throws a message naming the setting, its range and the value found when the model cannot use `settings`. */
  check(settings: KeyframeSettings): void;
  /**
   * Starts keyframe `k` with `settings` (its seed derived from `settings.seed` and k). `previous` is
   * keyframe k - 1's final features when the caller holds them: a frame-conditioned source continues
   * from them (read when the session runs, so they must stay put until it is done); others ignore it.
   */
  begin(k: number, settings: KeyframeSettings, previous?: Tensor): KeyframeSession;
  /** Records the decode of features [1, Cvae, P, P] into an image [1, 3, H, W] in [0, 1]. */
  decode(rec: Recorder, fHat: Tensor, image: Tensor): void;
  /** Frees what the source keeps between keyframes (a frame-conditioned source keeps its prompt's session). */
  dispose?(): void;
}

const GOLDEN = 0x9e3779b9;

/**
 * The sampling seed of keyframe `k` of a video with seed `seed`: the seed itself for keyframe 0 (so a
 * clip opens on the still image of the same settings), then a Weyl sequence, so nearby video seeds do
 * not share keyframes.
 *
 * @example
 *   keyframeSeed(7, 0); // 7
 *   keyframeSeed(7, 1); // 2654435776
 */
export function keyframeSeed(seed: number, k: number): number {
  return (seed + Math.imul(k, GOLDEN)) >>> 0;
}
