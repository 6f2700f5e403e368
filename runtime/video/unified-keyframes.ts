/**
 * The unified family's keyframes: each keyframe is a text-to-image generation (`<text> prompt
 * <image>` in a `UnifiedSession` of its own) whose accumulated features the feature path blends; the
 * class label of the settings is ignored. The session's own decode of the finished keyframe runs too
 * (it is one of the keyframe's units), so a keyframe is done when its session is idle.
 */
import type { StepKind } from '../generate/steps.ts';
import { checkSampling } from '../generate/sampling.ts';
import { UnifiedSession } from '../generate/unified-session.ts';
import type { UnifiedStepKind } from '../generate/steps.ts';
import type { Recorder, Tensor } from '../gpu/index.ts';
import type { UnifiedModel } from '../models/unified/model.ts';
import { decode } from '../models/vqvae/vqvae.ts';
import { keyframeSeed, type KeyframeSession, type KeyframeSettings, type KeyframeSource, type KeyframeUnit } from './keyframes.ts';

export interface UnifiedKeyframeOptions {
  /** Transformer blocks per step (the grain of the schedule). Default: all of them. */
  blocksPerStep?: number;
}

/**
 * Keyframes of a loaded unified model, prompted by `settings.prompt`.
 *
 * @example
 *   const source = unifiedKeyframeSource(model);
 *   const key = source.begin(0, { classLabel: 0, prompt: 'red and blue waves, coarse', seed: 7, cfg: 0, topK: 16, topP: 0.9, temperature: 1 });
 *   while (!key.done) key.step();
 */
export function unifiedKeyframeSource(model: UnifiedModel, options: UnifiedKeyframeOptions = {}): KeyframeSource {
  return {
    ...unifiedSourceBase(model),
    begin(k: number, s: KeyframeSettings): KeyframeSession {
      const prompt = checkPrompt(s.prompt);
      const session = new UnifiedSession(model, { guidance: s.cfg > 0, blocksPerStep: options.blocksPerStep });
      try {
        session.appendText(prompt);
        session.generateImage({ seed: keyframeSeed(s.seed, k), cfg: s.cfg, topK: s.topK, topP: s.topP, temperature: s.temperature });
      } catch (e) {
        session.dispose();
        throw e;
      }
      return new UnifiedKeyframe(session);
    },
  };
}

/** What every unified keyframe source shares: the feature shape, the image size, prompt checks, the decoder. */
export function unifiedSourceBase(model: UnifiedModel): Omit<KeyframeSource, 'begin'> {
  const { unified: u, vae } = model.config;
  const P = u.patchNums[u.patchNums.length - 1];
  return {
    gpu: model.gpu,
    featureShape: [1, vae.zChannels, P, P],
    imageSize: model.imageSize,
    scales: u.patchNums.length,
    check(s: KeyframeSettings): void {
      checkPrompt(s.prompt);
      checkSampling(s, vae.vocabSize, 'unified');
    },
    decode(rec: Recorder, fHat: Tensor, image: Tensor): void {
      decode(rec, model.gpu, model.decoder, fHat, image);
    },
  };
}

/** The prompt of keyframe settings, refused when missing. */
export function checkPrompt(prompt: string | undefined): string {
  if (prompt === undefined || prompt.trim() === '') throw new Error('prompt: a unified model makes keyframes from a text prompt, found none');
  return prompt;
}

/** Keyframe units in the scheduler's terms: the prompt's prefill prices like VAR's conditioning. */
export const UNIT_KINDS: Record<UnifiedStepKind, StepKind> = { prefill: 'condition', blocks: 'blocks', sample: 'sample', decode: 'decode', encode: 'condition', text: 'blocks', wait: 'blocks' };

class UnifiedKeyframe implements KeyframeSession {
  private scales = 0;
  private last: UnifiedStepKind | undefined;

  constructor(private readonly session: UnifiedSession) {}

  get fHat(): Tensor {
    return this.session.fHat;
  }

  get scale(): number {
    return this.scales;
  }

  get done(): boolean {
    return this.session.idle;
  }

  /** Prefill first; then blocks until a scale's sample (the session does not announce its next unit). */
  next(): KeyframeUnit {
    if (this.last === undefined) return { kind: 'condition', scale: -1 };
    return { kind: this.last === 'blocks' ? 'sample' : 'blocks', scale: this.scales };
  }

  step(timing = false) {
    if (this.done) throw new Error('step: the keyframe is already done');
    const info = this.session.step(timing);
    const scale = this.last === undefined ? -1 : this.scales;
    this.last = info.kind;
    if (info.kind === 'sample') this.scales++;
    return { ...info, kind: UNIT_KINDS[info.kind], scale };
  }

  dispose(): void {
    this.session.dispose();
  }
}
