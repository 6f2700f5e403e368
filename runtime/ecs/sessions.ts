/**
 * What the engine runs for a generation, whatever the model family: a session with a known plan of
 * units (so the scheduler can price a frame's units before running them), stepped one unit at a time,
 * previewed after a scale, and read through its image tensor. VAR generations condition on a class
 * label; unified generations on a text prompt (`<text> prompt <image>`, then the image scale by scale).
 * Both adapters are thin: the sessions do the work, the adapters only name each unit in the plan's terms.
 */
import type { ImageJob } from '../generate/unified-jobs.ts';
import { UnifiedSession } from '../generate/unified-session.ts';
import { VarSession } from '../generate/var-session.ts';
import type { SamplingSettings } from '../generate/sampling.ts';
import type { StepInfo } from '../generate/steps.ts';
import type { Tensor } from '../gpu/index.ts';
import type { AnyModel } from '../models/load.ts';
import { UnifiedModel } from '../models/unified/model.ts';
import type { VarModel } from '../models/var/model.ts';
import { unitKind, unitScale, type UnitPlan } from './units.ts';

/** The conditioning of a generation: VAR reads the class label, unified models the prompt. */
export interface Conditioning {
  classLabel: number;
  prompt: string | undefined;
}

/** One generation's session as the engine's systems see it. */
export interface EngineSession {
  readonly model: AnyModel;
  readonly scales: number;
  /** The units of the whole generation, in order (see units.ts). */
  readonly plan: UnitPlan;
  /** Units in the plan. */
  readonly totalSteps: number;
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
 * The session of a generation of `model`: validates the settings (errors name what was expected and
 * what was found) and asks for all the work; nothing is recorded until the first `step`.
 */
export function createSession(model: AnyModel, cond: Conditioning, sampling: Required<SamplingSettings>, blocksPerUnit: number): EngineSession {
  if (model instanceof UnifiedModel) return new UnifiedGeneration(model, cond.prompt, sampling, blocksPerUnit);
  return new VarGeneration(model, cond.classLabel, sampling, blocksPerUnit);
}

/** The transformer depth of a model of either family. */
function depthOf(model: AnyModel): number {
  return model instanceof UnifiedModel ? model.config.unified.depth : model.config.var.depth;
}

function blocksUnits(model: AnyModel, blocksPerUnit: number): number {
  const depth = depthOf(model);
  return Math.ceil(depth / Math.min(blocksPerUnit, depth));
}

class VarGeneration implements EngineSession {
  readonly plan: UnitPlan;
  private readonly session: VarSession;

  constructor(readonly model: VarModel, classLabel: number, sampling: Required<SamplingSettings>, blocksPerUnit: number) {
    this.session = new VarSession(model, { labels: [classLabel], ...sampling, blocksPerStep: Math.min(blocksPerUnit, model.config.var.depth) });
    this.plan = { conditionUnits: 1, blocksUnits: blocksUnits(model, blocksPerUnit), scales: this.session.scales };
  }

  get scales(): number {
    return this.session.scales;
  }

  get totalSteps(): number {
    return this.session.totalSteps;
  }

  get done(): boolean {
    return this.session.done;
  }

  get image(): Tensor {
    return this.session.image;
  }

  step(timing = false): StepInfo {
    return this.session.step(timing);
  }

  preview(timing = false): StepInfo {
    return this.session.preview(timing);
  }

  readTokens(): Promise<Int32Array[]> {
    return this.session.readTokens();
  }

  dispose(): void {
    this.session.dispose();
  }
}

/**
 * Text to image on a unified model. Its units: the opening `<text>` and the prompt, one pass each
 * (a pass per chunk of a prompt longer than a pass), every pass in `blocksUnits` units; then per scale
 * `blocksUnits` units of blocks and a sample; then the decode.
 */
class UnifiedGeneration implements EngineSession {
  readonly plan: UnitPlan;
  readonly scales: number;
  readonly image: Tensor;
  private readonly session: UnifiedSession;
  private readonly job: ImageJob;
  private unit = 0;

  constructor(readonly model: UnifiedModel, prompt: string | undefined, sampling: Required<SamplingSettings>, blocksPerUnit: number) {
    if (prompt === undefined || prompt.trim() === '') throw new Error('prompt: a unified model generates from a text prompt, found none');
    const per = Math.min(blocksPerUnit, model.config.unified.depth);
    const session = new UnifiedSession(model, { guidance: sampling.cfg > 0, blocksPerStep: per });
    try {
      const ids = model.tokenizer.encode(prompt);
      session.appendText(ids);
      this.job = session.generateImage(sampling);
      this.image = this.job.image;
      const passes = 1 + Math.ceil(ids.length / session.passTokens);
      const units = blocksUnits(model, blocksPerUnit);
      this.scales = model.config.unified.patchNums.length;
      this.plan = { conditionUnits: passes * units, blocksUnits: units, scales: this.scales };
    } catch (e) {
      session.dispose();
      throw e;
    }
    this.session = session;
  }

  get totalSteps(): number {
    const p = this.plan;
    return p.conditionUnits + p.scales * (p.blocksUnits + 1) + 1;
  }

  get done(): boolean {
    return this.session.idle;
  }

  step(timing = false): StepInfo {
    const i = this.unit++;
    const kind = unitKind(this.plan, i);
    const info = this.session.step(timing);
    if ((info.kind === 'sample') !== (kind === 'sample') || (info.kind === 'decode') !== (kind === 'decode')) {
      throw new Error(`unified generation: unit ${i} was '${info.kind}', the plan expected '${kind}'`);
    }
    return { ...info, kind, scale: unitScale(this.plan, i) };
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
