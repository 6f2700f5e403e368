/**
 * VAR's keyframes: each keyframe is an ordinary class-conditional generation (a `VarSession`) stopped
 * once its features are final, before the session's own decode; frames are decoded by the VQVAE's
 * decoder from blends of those features.
 */
import { checkSampling } from '../generate/sampling.ts';
import { VarSession } from '../generate/var-session.ts';
import type { StepInfo } from '../generate/steps.ts';
import type { Recorder, Tensor } from '../gpu/index.ts';
import type { VarModel } from '../models/var/model.ts';
import { decode } from '../models/vqvae/vqvae.ts';
import { keyframeSeed, type KeyframeSession, type KeyframeSettings, type KeyframeSource, type KeyframeUnit } from './keyframes.ts';

export interface VarKeyframeOptions {
  /** Transformer blocks per step (the grain of the schedule). Default: all of them. */
  blocksPerStep?: number;
}

/**
 * Keyframes of a loaded VAR model.
 *
 * @example
 *   const source = varKeyframeSource(model, { blocksPerStep: 1 });
 *   const session = source.begin(2, { classLabel: 3, seed: 7, cfg: 1.5, topK: 900, topP: 0.96, temperature: 1 });
 *   while (!session.done) session.step();
 */
export function varKeyframeSource(model: VarModel, options: VarKeyframeOptions = {}): KeyframeSource {
  const { var: v, vae } = model.config;
  const P = v.patchNums[v.patchNums.length - 1];
  const blocksPerStep = Math.min(options.blocksPerStep ?? v.depth, v.depth);
  return {
    gpu: model.gpu,
    featureShape: [1, vae.zChannels, P, P],
    imageSize: model.imageSize,
    scales: v.patchNums.length,
    check(s: KeyframeSettings): void {
      checkLabel(s.classLabel, v.numClasses);
      checkSampling(s, vae.vocabSize, 'var');
    },
    begin(k: number, s: KeyframeSettings): KeyframeSession {
      checkLabel(s.classLabel, v.numClasses);
      const session = new VarSession(model, {
        labels: [s.classLabel],
        seed: keyframeSeed(s.seed, k),
        cfg: s.cfg,
        topK: s.topK,
        topP: s.topP,
        temperature: s.temperature,
        blocksPerStep,
      });
      return new VarKeyframe(session, Math.ceil(v.depth / blocksPerStep));
    },
    decode(rec: Recorder, fHat: Tensor, image: Tensor): void {
      decode(rec, model.gpu, model.decoder, fHat, image);
    },
  };
}

function checkLabel(label: number, classes: number): void {
  if (!Number.isInteger(label) || label < 0 || label >= classes) throw new Error(`class label ${label} is out of range: this model has classes 0..${classes - 1}`);
}

/** A VarSession seen as a keyframe: done when the last scale is sampled, its decode never run. */
class VarKeyframe implements KeyframeSession {
  private steps = 0;

  constructor(
    private readonly session: VarSession,
    /** Blocks steps per scale. */
    private readonly blocksUnits: number,
  ) {}

  get fHat(): Tensor {
    return this.session.fHat;
  }

  get scale(): number {
    return Math.min(this.session.scale, this.session.scales);
  }

  get done(): boolean {
    return this.session.scale >= this.session.scales;
  }

  /** Condition, then per scale the blocks steps and a sample (the session's own order). */
  next(): KeyframeUnit {
    if (this.steps === 0) return { kind: 'condition', scale: -1 };
    const j = this.steps - 1;
    const perScale = this.blocksUnits + 1;
    return { kind: j % perScale < this.blocksUnits ? 'blocks' : 'sample', scale: Math.floor(j / perScale) };
  }

  step(timing = false): StepInfo {
    if (this.done) throw new Error('step: the keyframe is already done');
    this.steps++;
    return this.session.step(timing);
  }

  dispose(): void {
    this.session.dispose();
  }
}
