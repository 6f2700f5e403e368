/**
 * A VAR generation as a resumable state machine (`autoregressive_infer_cfg` of the reference, cut into
 * units of work). Each `step()` records one unit and submits it without waiting:
 *
 *   condition → [blocks × ⌈depth / blocksPerStep⌉ → sample] × scales → decode
 *
 * `sample` runs the head, classifier-free guidance, sampling, the f_hat update and the next scale's
 * input. Nothing is read back between scales; the tokens depend only on the seed and the settings,
 * never on how the steps are spread across frames.
 */
import type { Gpu, SectionTiming, Tensor } from '../gpu/index.ts';
import { guidance, sample } from '../kernels/sampling.ts';
import type { Tap } from '../models/tap.ts';
import type { VarModel } from '../models/var/model.ts';
import { blocks, condition, firstInput, head, nextInput, VarActivations } from '../models/var/transformer.ts';
import { tokenCount } from '../models/vqvae/config.ts';
import { addScale, downsampleTokens, QuantizerScratch } from '../models/vqvae/quantizer.ts';
import { decode } from '../models/vqvae/vqvae.ts';
import { checkSampling, type SamplingSettings } from './sampling.ts';
import { planLength, plannedUnit, type PlannedUnit, type StepInfo, type StepKind, type UnitPlan } from './steps.ts';

export interface VarSessionOptions extends SamplingSettings {
  /** Class labels, one image each. */
  labels: number[];
  /** Transformer blocks per `blocks` step (a frame's slice of work). Default: all of them. */
  blocksPerStep?: number;
  /** Debug hook, called with intermediates named `scale{s}.logits`, `scale{s}.idx`, `scale{s}.f_hat`, ... */
  tap?: Tap;
  /**
   * Image b samples with seed + b, as a session of its label alone with that seed would (variations).
   * Default false: the batch shares one random stream, as VAR's reference samples a batch.
   */
  seedPerImage?: boolean;
}

export class VarSession {
  readonly batch: number;
  readonly scales: number;
  /** Token maps per scale, i32 [B, pn²]. */
  readonly idx: Tensor[];
  /** Accumulated features [B, Cvae, P, P]. */
  readonly fHat: Tensor;
  /** The decoded images [B, 3, H, W] in [0, 1]: final once `done`, a preview after `preview()`. */
  readonly image: Tensor;
  private readonly acts: VarActivations;
  private readonly scratch: QuantizerScratch;
  private readonly settings: Required<SamplingSettings>;
  private readonly guided: Tensor;
  private readonly gpu: Gpu;
  private phase: StepKind = 'condition';
  private block = 0;
  /** Index of the scale being generated (S when only the decode is left, S + 1 when done). */
  scale = 0;
  /** Units submitted so far. */
  stepsTaken = 0;
  /** The units of the whole generation, in the order `step` runs them. */
  readonly plan: UnitPlan;

  constructor(readonly model: VarModel, readonly options: VarSessionOptions) {
    const { var: v, vae } = model.config;
    this.gpu = model.gpu;
    this.settings = checkSampling(options, vae.vocabSize, 'var');
    const labels = options.labels;
    if (labels.length === 0) throw new Error('labels: expected at least one class label, found none');
    for (const l of labels) {
      if (!Number.isInteger(l) || l < 0 || l >= v.numClasses) throw new Error(`class label ${l} is out of range: this model has classes 0..${v.numClasses - 1}`);
    }
    const per = options.blocksPerStep ?? v.depth;
    if (!Number.isInteger(per) || per < 1) throw new Error(`blocksPerStep must be a whole number >= 1, found ${per}`);
    const B = (this.batch = labels.length);
    this.scales = v.patchNums.length;
    this.plan = { conditionUnits: 1, blocksUnits: Math.ceil(v.depth / Math.min(per, v.depth)), scales: this.scales };
    const P = v.patchNums[this.scales - 1];
    const gpu = this.gpu;
    this.acts = new VarActivations(gpu, v, vae.vocabSize, 2 * B, P * P, tokenCount(v.patchNums));
    this.scratch = new QuantizerScratch(gpu, vae, B);
    this.guided = gpu.tensor([B, P * P, vae.vocabSize], 'f32', 'guided_logits');
    this.idx = v.patchNums.map((pn, s) => gpu.tensor([B, pn * pn], 'i32', `idx.${s}`));
    this.fHat = gpu.tensor([B, vae.zChannels, P, P], 'f32', 'f_hat');
    this.image = gpu.tensor([B, 3, model.imageSize, model.imageSize], 'f32', 'image');
    // Conditional rows first, then the unconditional ones (label = numClasses).
    gpu.write(this.acts.labels, [...labels, ...labels.map(() => v.numClasses)]);
  }

  get done(): boolean {
    return this.scale > this.scales;
  }

  /** Total steps of a whole generation with these options. */
  get totalSteps(): number {
    return planLength(this.plan);
  }

  /** Unit number `i` of the plan (the next one is number `stepsTaken`). */
  unit(i: number): PlannedUnit {
    return plannedUnit(this.plan, i);
  }

  /** Records and submits the next unit of work. Never waits on the GPU. */
  step(timing = false): StepInfo {
    if (this.done) throw new Error('step: the generation is already done');
    const { var: v, vae } = this.model.config;
    const w = this.model.transformer;
    const kind = this.phase;
    const scale = kind === 'condition' ? -1 : this.scale;
    this.stepsTaken++;
    const rec = this.gpu.recorder(`var ${kind}`, timing);
    rec.section(`${kind} ${scale}`);
    const tap = this.options.tap;
    const B = this.batch;
    const pn = v.patchNums[Math.min(this.scale, this.scales - 1)];
    const x = this.acts.x.view([2 * B, pn * pn, v.embedDim]);
    switch (kind) {
      case 'condition':
        rec.clear(this.fHat.buffer, 0, this.fHat.byteLength);
        condition(rec, v, w, this.acts);
        firstInput(rec, v, w, this.acts);
        this.phase = 'blocks';
        break;
      case 'blocks': {
        const to = Math.min(this.block + (this.options.blocksPerStep ?? v.depth), v.depth);
        blocks(rec, v, w, this.acts, x, this.block, to, 'none', tap && ((r, name, t) => tap(r, `scale${scale}.${name}`, t)));
        this.block = to;
        if (to === v.depth) this.phase = 'sample';
        break;
      }
      case 'sample': {
        const s = this.scale;
        const logits = head(rec, v, w, this.acts, x);
        const guided = this.guided.view([B, pn * pn, vae.vocabSize]);
        guidance(rec, guided, logits, (this.settings.cfg * s) / (this.scales - 1));
        tap?.(rec, `scale${s}.logits`, guided);
        const { topK, topP, temperature, seed } = this.settings;
        const perImage = this.options.seedPerImage ?? false;
        const counter = (perImage ? 1 : B) * tokenCount(v.patchNums.slice(0, s)) * vae.vocabSize;
        sample(rec, this.idx[s].view([B * pn * pn]), guided, { topK, topP, temperature, seed, counter, sequenceRows: perImage ? pn * pn : B * pn * pn });
        tap?.(rec, `scale${s}.idx`, this.idx[s]);
        addScale(rec, vae, this.model.quantizer, this.scratch, [{ tensor: this.fHat, sign: 1 }], this.idx[s], s);
        tap?.(rec, `scale${s}.f_hat`, this.fHat);
        this.scale++;
        this.block = 0;
        if (this.scale < this.scales) {
          const tokens = downsampleTokens(rec, vae, this.scratch, this.fHat, v.patchNums[this.scale]);
          nextInput(rec, v, w, this.acts, this.scale, tokens);
          this.phase = 'blocks';
        } else {
          this.phase = 'decode';
        }
        break;
      }
      case 'decode':
        decode(rec, this.gpu, this.model.decoder, this.fHat, this.image);
        tap?.(rec, 'image', this.image);
        this.scale++;
        break;
    }
    const sub = rec.submit();
    rec.dispose();
    return { kind, scale, dispatches: sub.dispatches, weightBytesRead: rec.weightBytesRead, weightBytesStreamed: rec.weightBytesStreamed, gpuDone: sub.done };
  }

  /**
   * Decodes the features accumulated so far into `image` (a preview of the finished scales) without
   * advancing the generation. Submitted like a step; never waits.
   */
  preview(timing = false): StepInfo {
    const rec = this.gpu.recorder('var preview', timing);
    rec.section(`preview ${this.scale}`);
    decode(rec, this.gpu, this.model.decoder, this.fHat, this.image);
    const sub = rec.submit();
    rec.dispose();
    return { kind: 'decode', scale: this.scale, dispatches: sub.dispatches, weightBytesRead: rec.weightBytesRead, weightBytesStreamed: rec.weightBytesStreamed, gpuDone: sub.done };
  }

  /** Steps until done; returns the number of steps taken. */
  run(): number {
    let n = 0;
    while (!this.done) {
      this.step();
      n++;
    }
    return n;
  }

  /** Reads the token maps back (after the work is submitted): i32 [B, pn²] per scale. */
  async readTokens(): Promise<Int32Array[]> {
    return Promise.all(this.idx.map(async (t) => (await this.gpu.read(t)) as Int32Array));
  }

  async readImage(): Promise<Float32Array> {
    if (!this.done) throw new Error(`readImage: the generation is not done (scale ${this.scale} of ${this.scales})`);
    return (await this.gpu.read(this.image)) as Float32Array;
  }

  dispose(): void {
    this.acts.dispose();
    this.scratch.dispose();
    this.guided.dispose();
    for (const t of [...this.idx, this.fHat, this.image]) t.dispose();
  }
}
