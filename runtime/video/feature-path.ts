/**
 * Video in feature space, for any model family: keyframes are ordinary generations (one session per
 * keyframe, from a `KeyframeSource`), and a frame between keyframes k and k + 1 decodes a blend of
 * their accumulated features f_hat, so a clip costs one generation per N frames plus one decode per
 * frame. A keyframe's own frame decodes its features unblended, so it is exactly the still image.
 *
 * Blend: per-position slerp by default (see kernels/feature-slerp.ts). A plain lerp of two unrelated
 * feature maps shrinks them towards the middle of a segment (to 0.78 of the keyframes' length on
 * var-tiny), so in-between frames would decode from weaker features than keyframes; slerp keeps every
 * position's vector as long as its ends (`npm run bench -- --video` compares; README.md has numbers).
 *
 * Storage is fixed when the path is made: a few keyframe feature slots, one blend map and one image;
 * keyframe sessions come from the buffer pool and give their buffers back when their features are
 * stored. Which keyframes a slot may drop is decided by the window of frames the caller will ask for
 * next (`setWindow`). Nothing here waits on the GPU or reads back.
 */
import type { StepInfo } from '../generate/steps.ts';
import type { Recorder, Tensor } from '../gpu/index.ts';
import { featureSlerp, type BlendMode } from '../kernels/feature-slerp.ts';
import type { KeyframeSession, KeyframeSettings, KeyframeSource, KeyframeUnit } from './keyframes.ts';
import { checkTimeline, frameAfter, segmentOf, type Timeline } from './timeline.ts';

/** Settings for every keyframe, or per keyframe (a clip that changes class along the way). */
export type KeyframeSettingsOf = KeyframeSettings | ((k: number) => KeyframeSettings);

export interface FeaturePathOptions {
  timeline: Timeline;
  settings: KeyframeSettingsOf;
  /** Keyframe feature slots. Default: enough for a window of 8 frames (`keyframeSlots(8, N)`). */
  slots?: number;
  /** How in-between features are made. Default 'slerp'. */
  blend?: BlendMode;
}

/**
 * Keyframe slots enough for a window of `frames` frames with a keyframe every `keyframeEvery`: such a
 * window blends at most ⌈(frames - 1) / keyframeEvery⌉ + 2 keyframes, so storing the one it needs
 * next always finds a slot no frame of the window uses.
 */
export function keyframeSlots(frames: number, keyframeEvery: number): number {
  return Math.ceil(frames / keyframeEvery) + 2;
}

export class FeaturePath {
  /** The last frame or preview recorded, [1, 3, H, W] in [0, 1]. */
  readonly image: Tensor;
  /** Keyframe held by each slot (-1: empty). */
  private readonly held: Int32Array;
  private readonly lastUse: Float64Array;
  private readonly features: Tensor[];
  private readonly blended: Tensor;
  private session: { k: number; keyframe: KeyframeSession } | undefined;
  private tl: Timeline;
  private settingsOf: KeyframeSettingsOf;
  private window = { frame: 0, direction: 1 as 1 | -1, count: 1 };
  private uses = 0;
  readonly blend: BlendMode;

  constructor(readonly source: KeyframeSource, options: FeaturePathOptions) {
    checkTimeline(options.timeline);
    this.tl = { ...options.timeline };
    this.settingsOf = options.settings;
    this.blend = options.blend ?? 'slerp';
    const slots = options.slots ?? keyframeSlots(8, this.tl.keyframeEvery);
    if (!Number.isInteger(slots) || slots < 2) throw new Error(`slots must be a whole number >= 2, found ${slots}`);
    const gpu = source.gpu;
    const size = source.imageSize;
    this.held = new Int32Array(slots).fill(-1);
    this.lastUse = new Float64Array(slots);
    this.features = Array.from({ length: slots }, (_, i) => gpu.tensor(source.featureShape, 'f32', `video.keyframe${i}`));
    this.blended = gpu.tensor(source.featureShape, 'f32', 'video.blend');
    this.image = gpu.tensor([1, 3, size, size], 'f32', 'video.frame');
  }

  get timeline(): Readonly<Timeline> {
    return this.tl;
  }

  /** A new timeline: every stored keyframe and the keyframe in progress are dropped. */
  setTimeline(tl: Timeline): void {
    checkTimeline(tl);
    this.tl = { ...tl };
    this.reset();
  }

  /** New settings, used from the next keyframe that starts; stored keyframes and the one in progress keep theirs. */
  setSettings(settings: KeyframeSettingsOf): void {
    this.settingsOf = settings;
  }

  /** Drops every stored keyframe and the keyframe in progress. */
  reset(): void {
    this.held.fill(-1);
    this.session?.keyframe.dispose();
    this.session = undefined;
  }

  /** The frames the caller will ask for next: `count` frames from `frame` in `direction`. Their keyframes are kept. */
  setWindow(frame: number, direction: 1 | -1, count: number): void {
    this.window.frame = frame;
    this.window.direction = direction;
    this.window.count = count;
  }

  /** Whether keyframe k's final features are stored. */
  hasKeyframe(k: number): boolean {
    return this.slotOf(k) >= 0;
  }

  /** Keyframe k's stored features [1, Cvae, P, P] (owned by the path: valid until its slot is reused), if stored. */
  keyframeFeatures(k: number): Tensor | undefined {
    const slot = this.slotOf(k);
    return slot < 0 ? undefined : this.features[slot];
  }

  /** The keyframe `frame` still lacks (its earlier one first), or -1 when it can be decoded. A keyframe's own frame needs only it. */
  missingKeyframe(frame: number): number {
    const { from, to, t } = segmentOf(this.tl, frame);
    if (!this.hasKeyframe(from)) return from;
    return t === 0 || this.hasKeyframe(to) ? -1 : to;
  }

  /**
   * The keyframe to step so that `frame` can be decoded, or -1 when it can be: its missing keyframe,
   * unless a keyframe in progress is still needed by the window (that one is finished first rather
   * than given up).
   */
  keyframeToStep(frame: number): number {
    const missing = this.missingKeyframe(frame);
    const current = this.session?.k;
    if (missing < 0 || current === undefined || current === missing) return missing;
    return this.needed(current) ? current : missing;
  }

  /** The keyframe in progress, if any. */
  get generating(): number | undefined {
    return this.session?.k;
  }

  /** How far keyframe k has come: 0 not started, s scales done while generating, scales + 1 stored. */
  progressOf(k: number): number {
    if (this.hasKeyframe(k)) return this.source.scales + 1;
    return this.session?.k === k ? this.session.keyframe.scale : 0;
  }

  /**
   * The unit that stepping keyframe k runs next. Starts k's session if it has none (with the settings
   * in force now), giving up a session of another keyframe.
   */
  nextUnit(k: number): KeyframeUnit {
    return this.sessionFor(k).next();
  }

  /** Runs keyframe k's next unit; when its features are final, stores them and ends the session. */
  stepKeyframe(k: number, timing = false): StepInfo {
    if (this.hasKeyframe(k)) throw new Error(`stepKeyframe: keyframe ${k} is already stored`);
    const keyframe = this.sessionFor(k);
    const info = keyframe.step(timing);
    if (keyframe.done) {
      const slot = this.freeSlot();
      const rec = this.source.gpu.recorder('video keyframe');
      rec.copy(keyframe.fHat.buffer, 0, this.features[slot].buffer, 0, keyframe.fHat.byteLength);
      rec.submit();
      rec.dispose();
      this.held[slot] = k;
      this.lastUse[slot] = ++this.uses;
      keyframe.dispose();
      this.session = undefined;
    }
    return info;
  }

  /** Records frame `frame` (its keyframes stored) into `image`: the blend of its keyframes' features, decoded. */
  recordFrame(rec: Recorder, frame: number): void {
    this.checkFrame(frame);
    const { from, to, t } = segmentOf(this.tl, frame);
    const a = this.stored(from, frame);
    this.source.decode(rec, t === 0 ? a : this.mix(rec, a, this.stored(to, frame), t), this.image);
  }

  /**
   * Records a preview of `frame` into `image` from whatever exists of its keyframes (stored, or partial
   * in the session in progress). Returns false, recording nothing, when neither has begun.
   */
  recordPreview(rec: Recorder, frame: number): boolean {
    this.checkFrame(frame);
    const { from, to, t } = segmentOf(this.tl, frame);
    const a = this.partial(from);
    const b = this.partial(to);
    if (!a && !b) return false;
    this.source.decode(rec, a && b ? this.mix(rec, a, b, t) : (a ?? b)!, this.image);
    return true;
  }

  /** Frees the path's storage and ends the keyframe in progress. */
  dispose(): void {
    this.reset();
    for (const t of [...this.features, this.blended, this.image]) t.dispose();
  }

  private mix(rec: Recorder, a: Tensor, b: Tensor, t: number): Tensor {
    if (t === 0 || a === b) return a;
    featureSlerp(rec, this.blended, a, b, t, this.blend);
    return this.blended;
  }

  private sessionFor(k: number): KeyframeSession {
    if (this.session?.k === k) return this.session.keyframe;
    this.session?.keyframe.dispose();
    this.session = undefined;
    const s = this.settingsOf;
    const keyframe = this.source.begin(k, typeof s === 'function' ? s(k) : s, this.keyframeFeatures(k - 1));
    this.session = { k, keyframe };
    return keyframe;
  }

  /** The slot holding keyframe k, or -1 (empty slots hold -1, so a negative k is never held). */
  private slotOf(k: number): number {
    return k < 0 ? -1 : this.held.indexOf(k);
  }

  private stored(k: number, frame: number): Tensor {
    const slot = this.slotOf(k);
    if (slot < 0) throw new Error(`recordFrame: frame ${frame} needs keyframe ${k}, which is not stored yet (step it first)`);
    this.lastUse[slot] = ++this.uses;
    return this.features[slot];
  }

  private partial(k: number): Tensor | undefined {
    const slot = this.slotOf(k);
    if (slot >= 0) return this.features[slot];
    return this.session?.k === k && this.session.keyframe.scale > 0 ? this.session.keyframe.fHat : undefined;
  }

  /** An empty slot, else one whose keyframe the window does not need, else the least recently used. */
  private freeSlot(): number {
    let best = -1;
    for (let i = 0; i < this.held.length; i++) {
      if (this.held[i] < 0) return i;
      if (!this.needed(this.held[i]) && (best < 0 || this.lastUse[i] < this.lastUse[best])) best = i;
    }
    if (best >= 0) return best;
    let oldest = 0;
    for (let i = 1; i < this.held.length; i++) if (this.lastUse[i] < this.lastUse[oldest]) oldest = i;
    return oldest;
  }

  private needed(k: number): boolean {
    const { frame, direction, count } = this.window;
    for (let j = 0; j < count; j++) {
      const f = frameAfter(this.tl, frame, j, direction);
      if (f < 0) break;
      const seg = segmentOf(this.tl, f);
      if (seg.from === k || seg.to === k) return true;
    }
    return false;
  }

  private checkFrame(frame: number): void {
    if (!Number.isInteger(frame) || frame < 0 || frame >= this.tl.frames) throw new Error(`frame must be a whole number in [0, ${this.tl.frames - 1}], found ${frame}`);
  }
}
