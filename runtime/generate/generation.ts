/**
 * One image generation, whatever the model family, as the engine runs it: a session that knows its
 * plan of units (so a scheduler can price a frame's units before running them), is stepped one unit at
 * a time, previewed after a scale, and read through its image tensor. VAR generations condition on a
 * class label (`VarSession` is one as it is); unified generations on a text prompt (`<text> prompt
 * <image>`, then the image scale by scale).
 */
import type { Tensor } from '../gpu/index.ts';
import type { AnyModel } from '../models/load.ts';
import { UnifiedModel } from '../models/unified/model.ts';
import type { SamplingSettings } from './sampling.ts';
import { planLength, plannedUnit, type PlannedUnit, type StepInfo, type UnitPlan } from './steps.ts';
import type { ImageJob } from './unified-jobs.ts';
import { UnifiedSession } from './unified-session.ts';
import { VarSession } from './var-session.ts';

/** The conditioning of a generation: VAR reads the class label, unified models the prompt. */
export interface Conditioning {
  classLabel: number;
  prompt: string | undefined;
}

export interface ImageGeneration {
  readonly model: AnyModel;
  readonly scales: number;
  /** The units of the whole generation, in order. */
  readonly plan: UnitPlan;
  /** Units in the plan. */
  readonly totalSteps: number;
  /** Unit number `i` of the plan (the next one is number `stepsTaken`). */
  unit(i: number): PlannedUnit;
  readonly stepsTaken: number;
  /** Every unit has been submitted. */
  readonly done: boolean;
  /** The decoded image [1, 3, H, W] in [0, 1]: final once done, a preview after `preview()`. */
  readonly image: Tensor;
  /** Records and submits the next unit. Never waits on the GPU. */
  step(timing?: boolean): StepInfo;
  /** Decodes the features of the scales finished so far into `image`. */
  preview(timing?: boolean): StepInfo;
  /** The token maps of the scales sampled so far, [pn²] per scale (awaits the GPU: not for a frame). */
  readTokens(): Promise<Int32Array[]>;
  dispose(): void;
}

/**
 * A generation of one image by `model`: validates the settings (errors name what was expected and
 * what was found) and asks for all the work; nothing is recorded until the first `step`. A frame's
 * slice of transformer work is `blocksPerUnit` blocks.
 */
export function createGeneration(model: AnyModel, cond: Conditioning, sampling: Required<SamplingSettings>, blocksPerUnit: number): ImageGeneration {
  if (model instanceof UnifiedModel) return new PromptGeneration(model, cond.prompt, sampling, blocksPerUnit);
  return new VarSession(model, { labels: [cond.classLabel], ...sampling, blocksPerStep: Math.min(blocksPerUnit, model.config.var.depth) });
}

/**
 * Text to image on a unified model. Its plan: the opening `<text>` and the prompt, one pass each (a
 * pass per chunk of a prompt longer than a pass), every pass in ⌈depth / blocksPerUnit⌉ units; then
 * the image scale by scale and its decode. Each step checks that the session ran the planned unit.
 */
class PromptGeneration implements ImageGeneration {
  readonly plan: UnitPlan;
  readonly totalSteps: number;
  readonly scales: number;
  readonly image: Tensor;
  private readonly session: UnifiedSession;
  private readonly job: ImageJob;
  stepsTaken = 0;

  constructor(readonly model: UnifiedModel, prompt: string | undefined, sampling: Required<SamplingSettings>, blocksPerUnit: number) {
    if (prompt === undefined || prompt.trim() === '') throw new Error('prompt: a unified model generates from a text prompt, found none');
    const depth = model.config.unified.depth;
    const per = Math.min(blocksPerUnit, depth);
    const session = new UnifiedSession(model, { guidance: sampling.cfg > 0, blocksPerStep: per });
    try {
      const ids = model.tokenizer.encode(prompt);
      session.appendText(ids);
      this.job = session.generateImage(sampling);
      this.image = this.job.image;
      const passes = 1 + Math.ceil(ids.length / session.passTokens);
      const blocksUnits = Math.ceil(depth / per);
      this.scales = model.config.unified.patchNums.length;
      this.plan = { conditionUnits: passes * blocksUnits, blocksUnits, scales: this.scales };
      this.totalSteps = planLength(this.plan);
    } catch (e) {
      session.dispose();
      throw e;
    }
    this.session = session;
  }

  unit(i: number): PlannedUnit {
    return plannedUnit(this.plan, i);
  }

  get done(): boolean {
    return this.session.idle;
  }

  step(timing = false): StepInfo {
    const i = this.stepsTaken++;
    const planned = this.unit(i);
    const info = this.session.step(timing);
    if ((info.kind === 'sample') !== (planned.kind === 'sample') || (info.kind === 'decode') !== (planned.kind === 'decode')) {
      throw new Error(`unified generation: unit ${i} was '${info.kind}', the plan expected '${planned.kind}'`);
    }
    return { ...info, ...planned };
  }

  preview(timing = false): StepInfo {
    return { ...this.session.preview(timing), kind: 'decode', scale: this.scales };
  }

  readTokens(): Promise<Int32Array[]> {
    return this.job.readTokens();
  }

  dispose(): void {
    this.session.dispose();
  }
}
