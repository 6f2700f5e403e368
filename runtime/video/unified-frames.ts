/**
 * Frame-conditioned video for unified models trained on clips (`frame_conditioned` in their config):
 * keyframe k is generated after `<text> prompt <image> BS(k - 1) </image>`, its accumulated features
 * starting from keyframe k - 1's, so it continues the keyframe before it rather than starting afresh
 * (models/unified/README.md, "Clips"). With a
 * keyframe every frame, every frame is generated; with one every N, the feature path blends between
 * frames that follow each other.
 *
 * One `UnifiedSession` serves the keyframes in turn as a sliding window over its KV cache: the prompt is
 * prefilled once and marked, and each keyframe rewinds to the mark, feeds the previous keyframe's full
 * view and generates. Memory stays flat however long the clip runs, and nothing is allocated per frame.
 * A keyframe whose previous one the path does not hold (the first, or after a seek) is text to image.
 *
 * A keyframe that continues the one before draws its finest scale with `nextFrameTopK` (default greedy):
 * its coarser scales sample as any image's, so colours and layout vary as the model learned them, while
 * the fine detail, which carries a slow motion (a scroll of one pixel is a quarter of a 16x16 token),
 * follows the frame before instead of being drawn afresh each frame (docs/builtin-model.md, "Clips").
 */
import { checkSampling, checkTopK } from '../generate/sampling.ts';
import { UnifiedSession, type SequenceMark } from '../generate/unified-session.ts';
import type { UnifiedStepKind } from '../generate/steps.ts';
import type { Tensor } from '../gpu/index.ts';
import type { UnifiedModel } from '../models/unified/model.ts';
import { keyframeSeed, NEXT_FRAME_TOP_K, type KeyframeSession, type KeyframeSettings, type KeyframeSource, type KeyframeUnit } from './keyframes.ts';
import { checkPrompt, UNIT_KINDS, unifiedSourceBase, type UnifiedKeyframeOptions } from './unified-keyframes.ts';

/** The session kept between keyframes, with the prompt it has prefilled. */
interface Window {
  session: UnifiedSession;
  prompt: string;
  guidance: boolean;
  /** The sequence right after the prompt (set once its prefill has run). */
  mark?: SequenceMark;
  /** A keyframe is using the session. */
  busy: boolean;
}

/**
 * Keyframes of a unified model trained on clips, each continuing from the one before.
 *
 * @example
 *   const source = unifiedFrameSource(model); // model.config.unified.frameConditioned
 *   const path = new FeaturePath(source, { timeline: { frames: 48, keyframeEvery: 1, loop: false }, settings });
 */
export function unifiedFrameSource(model: UnifiedModel, options: UnifiedKeyframeOptions = {}): KeyframeSource {
  const { unified: u, vae } = model.config;
  if (!u.frameConditioned) throw new Error('unifiedFrameSource: the model was not trained on clips ("frame_conditioned" is not set in its config.json)');
  let window: Window | undefined;

  /** The window for these settings: the kept one when its prompt and guidance match and it is free. */
  const windowFor = (prompt: string, guidance: boolean): Window => {
    if (window && !window.busy && window.prompt === prompt && window.guidance === guidance && window.mark) {
      window.session.rewind(window.mark);
      window.busy = true;
      return window;
    }
    const session = new UnifiedSession(model, { guidance, blocksPerStep: options.blocksPerStep });
    try {
      session.appendText(prompt);
    } catch (e) {
      session.dispose();
      throw e;
    }
    const fresh: Window = { session, prompt, guidance, busy: true };
    if (!window?.busy) {
      window?.session.dispose();
      window = fresh;
    }
    return fresh;
  };

  /** A keyframe's end: an unfinished session cannot be rewound, so it goes; a finished one waits for the next keyframe. */
  const release = (w: Window, finished: boolean): void => {
    w.busy = false;
    if (finished && w.mark && w === window) return;
    w.session.dispose();
    if (w === window) window = undefined;
  };

  const base = unifiedSourceBase(model);
  return {
    ...base,
    begin(k: number, s: KeyframeSettings, previous?: Tensor): KeyframeSession {
      const prompt = checkPrompt(s.prompt);
      const sampling = { seed: keyframeSeed(s.seed, k), cfg: s.cfg, topK: s.topK, topP: s.topP, temperature: s.temperature };
      checkSampling(sampling, vae.vocabSize, 'unified');
      const finestTopK = previous ? nextFrameTopK(s, vae.vocabSize) : undefined;
      const w = windowFor(prompt, s.cfg > 0);
      return new FrameKeyframe(w, () => {
        if (!w.mark) w.mark = w.session.mark();
        if (previous) w.session.appendFrame(previous);
        w.session.generateImage({ ...sampling, finestTopK }, { decode: false, start: previous });
      }, release);
    },
    check(s: KeyframeSettings): void {
      base.check(s);
      nextFrameTopK(s, vae.vocabSize);
    },
    dispose(): void {
      window?.session.dispose();
      window = undefined;
    },
  };
}

/** The settings' top-k for the finest scale of a frame that continues the one before, checked. */
function nextFrameTopK(s: KeyframeSettings, vocab: number): number {
  return checkTopK('next-frame top-k', s.nextFrameTopK ?? NEXT_FRAME_TOP_K, vocab);
}

/** One keyframe on a window: the prompt's prefill first when the window is new, then the frame's work. */
class FrameKeyframe implements KeyframeSession {
  private scales = 0;
  private last: UnifiedStepKind | undefined;
  private queued = false;
  private ended = false;

  constructor(private readonly w: Window, private readonly queue: () => void, private readonly release: (w: Window, finished: boolean) => void) {
    if (w.session.idle) this.start();
  }

  get fHat(): Tensor {
    return this.w.session.fHat;
  }

  get scale(): number {
    return this.scales;
  }

  get done(): boolean {
    return this.queued && this.w.session.idle;
  }

  /** Conditioning (the prompt, the previous frame) first; then blocks until each scale's sample. */
  next(): KeyframeUnit {
    if (this.last === undefined || this.last === 'prefill') return { kind: 'condition', scale: -1 };
    return { kind: this.last === 'blocks' ? 'sample' : 'blocks', scale: this.scales };
  }

  step(timing = false) {
    if (this.done) throw new Error('step: the keyframe is already done');
    const info = this.w.session.step(timing);
    const scale = info.kind === 'prefill' ? -1 : this.scales;
    this.last = info.kind;
    if (info.kind === 'sample') this.scales++;
    if (!this.queued && this.w.session.idle) this.start();
    return { ...info, kind: UNIT_KINDS[info.kind], scale };
  }

  dispose(): void {
    if (this.ended) return;
    this.ended = true;
    this.release(this.w, this.done);
  }

  private start(): void {
    this.queue();
    this.queued = true;
  }
}
