/**
 * One sequence of a unified model as a resumable state machine. Work is asked for in order
 * (`appendText`, `appendImage`, `generateImage`, `generateText`) and each `step()` records one unit of
 * it and submits it without waiting: a group of blocks of one pass, an image scale's sampling, a decode,
 * an encode, a text token. Nothing is read back between scales; generated text comes back in chunks,
 * read beside the steps. The sequence lives in the KV caches: whatever they hold is never encoded
 * again, so text to image, captioning and editing are continuations of one sequence.
 *
 * With guidance the session runs two rows, conditional and unconditional; the latter is the same
 * sequence with the prompt hidden by a key mask (models/unified/README.md, "Guidance"). Some content is fed lazily,
 * when the sequence continues: the opening `<text>`, a generated image's full view BS and `</image>`,
 * and the last generated text token.
 */
import type { Recorder, Submission, Tensor } from '../gpu/index.ts';
import type { Tap } from '../models/tap.ts';
import { generatedBlockTokens, imageTokens, viewTokens } from '../models/unified/config.ts';
import type { UnifiedModel } from '../models/unified/model.ts';
import { decode } from '../models/vqvae/vqvae.ts';
import { checkSampling, checkTopK, type SamplingSettings } from './sampling.ts';
import type { UnifiedStepInfo, UnifiedStepKind } from './steps.ts';
import { checkTextSettings, ImageJob, imagePlanes, TextJob, type ImageInput, type TextSettings } from './unified-jobs.ts';
import { UnifiedSequence, type SequenceMark, type Unit } from './unified-sequence.ts';
import { appendImageUnits, frameUnits, imageUnits, prefillUnits, textUnits } from './unified-units.ts';

export type { SequenceMark } from './unified-sequence.ts';

export interface UnifiedSessionOptions {
  /** Run the unconditional row that guidance needs (cfg > 0). Default true. */
  guidance?: boolean;
  /** Transformer blocks per step (a frame's slice of work). Default: all of them. */
  blocksPerStep?: number;
  /**
   * Images generated side by side in one pass of the transformer (variations of one prompt): image b
   * samples with seed + b and comes out as it would alone with that seed. Text generation and image
   * input need 1. Default 1.
   */
  batch?: number;
  /** Debug hook: `scale{s}.logits|idx|f_hat`, `image`, `encoded.scale{s}.idx`, `text{k}.logits`, `layer{i}.out`, ... */
  tap?: Tap;
  /** Where warnings go (an image resized to the model's size). Default console.warn. */
  onWarning?: (message: string) => void;
}

/** Settings of `generateImage`: VAR's, with `cfg` the guidance scale of every scale. */
export interface ImageSettings extends SamplingSettings {
  /**
   * Top-k of the finest scale alone (1: greedy); the coarser scales keep `topK`. Default: `topK`. A clip's
   * next frame draws its fine detail greedily so that it follows the frame before instead of being drawn
   * afresh (runtime/video/unified-frames.ts).
   */
  finestTopK?: number;
}

/** Options of `generateImage`. */
export interface ImageOptions {
  /** Decode the finished features into the job's image. Default true; a caller that decodes `fHat` itself skips it. */
  decode?: boolean;
  /**
   * Accumulated features [1, Cvae, P, P] the image starts from instead of zero (read when its first unit
   * runs; may be `fHat` itself): a clip's next frame starts from the previous frame's, so its codes are
   * the residual between the frames (models/unified/README.md, "Clips").
   */
  start?: Tensor;
}

export class UnifiedSession {
  readonly rows: number;
  /** Images per generated image job (`batch`). */
  readonly batch: number;
  /** Accumulated features of the current images [B, Cvae, P, P]. */
  readonly fHat: Tensor;
  private readonly seq: UnifiedSequence;
  private readonly queue: (() => Unit)[] = [];
  private current: { unit: Unit; kind: UnifiedStepKind } | undefined;

  constructor(readonly model: UnifiedModel, readonly options: UnifiedSessionOptions = {}) {
    this.seq = new UnifiedSequence(model, options.guidance !== false, options.blocksPerStep, options.tap, options.batch);
    this.rows = this.seq.rows;
    this.batch = this.seq.batch;
    this.fHat = this.seq.fHat;
  }

  /** Tokens the KV caches hold (as recorded so far). */
  get length(): number {
    return this.seq.tokens;
  }

  /** Most new tokens one pass feeds: longer text is prefilled in several passes. */
  get passTokens(): number {
    return this.seq.passTokens;
  }

  /** No work is waiting: everything asked for is recorded, submitted and (for text) read back. */
  get idle(): boolean {
    return !this.current && this.queue.length === 0;
  }

  /**
   * Appends text (a string, or text ids) to the sequence in one causal prefill. Refused, with nothing
   * recorded, when the sequence would outgrow the model's context.
   */
  appendText(text: string | readonly number[]): void {
    const ids = typeof text === 'string' ? this.model.tokenizer.encode(text) : [...text];
    const T = this.model.config.unified.textVocabSize;
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= T);
    if (bad !== undefined) throw new Error(`appendText: text ids are 0..${T - 1}, found ${bad}`);
    this.seq.reserve('appendText', ids.length, 0);
    this.queue.push(() => prefillUnits(this.seq, ids));
  }

  /**
   * Appends a clip's previous frame as context, `<image> BS </image>`: only the full view, fed from the
   * frame's final accumulated features [1, Cvae, P, P] (read when the unit runs). The prompt before it
   * stays the prompt of the next image, and guidance never hides the frame. models/unified/README.md, "Clips".
   */
  appendFrame(features: Tensor): void {
    const P = this.checkFeatures('appendFrame', features);
    this.seq.reserve('appendFrame', P * P + 2, 0);
    this.queue.push(() => frameUnits(this.seq, features));
  }

  /**
   * Where the sequence stands now, for `rewind`: only when idle and with nothing fed lazily still to
   * come (mark after appending, not right after generating).
   */
  mark(): SequenceMark {
    if (!this.idle) throw new Error('mark: work is still waiting (step until idle first)');
    return this.seq.mark();
  }

  /**
   * Forgets everything after `mark`: the KV caches keep their first `mark.tokens` rows and later work
   * overwrites the rest, so a clip slides its window of frames past a prompt that is prefilled once.
   * The jobs asked for after the mark are disposed (read what they hold first), so memory stays flat.
   */
  rewind(mark: SequenceMark): void {
    if (!this.idle) throw new Error('rewind: work is still waiting (step until idle first)');
    this.seq.rewind(mark);
  }

  /** Generates an image after the sequence (its prompt: the text since the last image), with guidance when cfg > 0. */
  generateImage(settings: ImageSettings = {}, options: ImageOptions = {}): ImageJob {
    const { unified: u, vae } = this.model.config;
    const s = { ...checkSampling(settings, vae.vocabSize, 'unified'), finestTopK: settings.finestTopK === undefined ? undefined : checkTopK('finest top-k', settings.finestTopK, vae.vocabSize) };
    if (s.cfg > 0 && !this.seq.guided) throw new Error(`generateImage: cfg ${s.cfg} needs the unconditional row; this session was made with guidance: false`);
    const P = u.patchNums[u.patchNums.length - 1];
    this.seq.reserve('generateImage', 1 + generatedBlockTokens(u.patchNums), P * P + 1);
    const job = this.track(new ImageJob(this.model.gpu, 'generated', u.patchNums, this.model.imageSize, this.batch));
    if (options.start) this.checkFeatures('generateImage: start', options.start, this.batch);
    this.queue.push(() => imageUnits(this.seq, job, s, options.decode ?? true, options.start));
    return job;
  }

  /**
   * Appends an image (resized to the model's size, with a warning, when it differs): VQVAE encode and
   * quantize, then `<image> B1..BS </image>` in one block-causal prefill, or with `view` only its full
   * view, `<image> BS </image>` (how a `caption_view` model reads an image it captions; models/unified/README.md, "Captions").
   */
  appendImage(image: ImageInput, options: { view?: boolean } = {}): ImageJob {
    this.singleOnly('appendImage');
    const planes = imagePlanes(image);
    const u = this.model.config.unified;
    const size = this.model.imageSize;
    if (image.width !== size || image.height !== size) {
      (this.options.onWarning ?? console.warn)(`appendImage: the image is ${image.width}x${image.height}, the model reads ${size}x${size}: resized`);
    }
    const view = options.view ?? false;
    this.seq.reserve('appendImage', view ? viewTokens(u.patchNums) : imageTokens(u.patchNums), 0);
    const job = this.track(new ImageJob(this.model.gpu, 'appended', u.patchNums, size));
    this.queue.push(() => appendImageUnits(this.seq, job, { ...image, data: planes }, view));
    return job;
  }

  /** Generates text token by token (stopping at `<eos>`, at maxTokens, or when the context is full). */
  generateText(settings: TextSettings = {}): TextJob {
    this.singleOnly('generateText');
    const s = checkTextSettings(settings, this.model.config.unified.textVocabSize);
    const room = this.model.config.unified.contextLength - this.seq.planned;
    if (room < 1) throw new Error(`generateText: the sequence already holds the model's context_length ${this.model.config.unified.contextLength} tokens`);
    s.maxTokens = Math.min(s.maxTokens, room);
    this.seq.reserve('generateText', s.maxTokens - 1, 1);
    const job = this.track(new TextJob(this.model.gpu, s, this.model.tokenizer, settings.onTokens));
    this.queue.push(() => textUnits(this.seq, job));
    return job;
  }

  /** Records and submits the next unit of work. Never waits on the GPU; 'wait' when text is still being read back. */
  step(timing = false): UnifiedStepInfo {
    if (this.idle) throw new Error('step: no work is waiting (ask for text or an image first)');
    const rec = (this.seq.rec = this.model.gpu.recorder('unified', timing));
    let kind: UnifiedStepKind = 'wait';
    // Units that turn out to record nothing (text stopped at <eos>, a wait that just ended) give way to the next.
    while (rec.dispatches === 0) {
      if (!this.current) {
        const next = this.queue.shift();
        if (!next) break;
        const unit = next();
        const first = unit.next();
        if (first.done) continue;
        this.current = { unit, kind: first.value };
      }
      kind = this.current.kind;
      const r = this.current.unit.next();
      if (r.done) this.current = undefined;
      else this.current.kind = r.value;
      if (kind === 'wait' && this.current?.kind === 'wait') break;
    }
    this.seq.rec = undefined;
    return submitted(kind, rec, rec.submit());
  }

  /**
   * Steps until idle, awaiting only the read-back of generated text when a step has to wait for it;
   * `onStep` sees every step's info (`timing`: with GPU times where the adapter has them).
   */
  async run(options: { timing?: boolean; onStep?: (info: UnifiedStepInfo) => void } = {}): Promise<number> {
    let n = 0;
    while (!this.idle) {
      const info = this.step(options.timing);
      options.onStep?.(info);
      if (info.kind === 'wait') await this.seq.waitingOn?.whenSettled();
      n++;
    }
    return n;
  }

  /** Decodes the current image's features so far into its `image` (a preview); submitted like a step. */
  preview(timing = false): UnifiedStepInfo {
    const job = this.seq.imageJob;
    if (!job) throw new Error('preview: no image is being generated');
    const rec = this.model.gpu.recorder('unified preview', timing);
    decode(rec, this.model.gpu, this.model.decoder, this.fHat, job.image);
    return submitted('decode', rec, rec.submit());
  }

  dispose(): void {
    this.seq.dispose();
  }

  /** Refuses features that are not [batch, Cvae, P, P]; returns P. */
  private checkFeatures(what: string, features: Tensor, batch = 1): number {
    const { unified: u, vae } = this.model.config;
    const P = u.patchNums[u.patchNums.length - 1];
    const want = [batch, vae.zChannels, P, P];
    if (features.shape.length !== 4 || features.shape.some((d, i) => d !== want[i])) {
      throw new Error(`${what}: expected a frame's features [${want.join(', ')}], found [${features.shape.join(', ')}]`);
    }
    return P;
  }

  private singleOnly(op: string): void {
    if (this.batch > 1) throw new Error(`${op}: a session of ${this.batch} images side by side only generates images (make one with batch 1)`);
  }

  private track<J extends ImageJob | TextJob>(job: J): J {
    this.seq.jobs.push(job);
    return job;
  }
}

function submitted(kind: UnifiedStepKind, rec: Recorder, sub: Submission): UnifiedStepInfo {
  rec.dispose();
  return { kind, dispatches: sub.dispatches, weightBytesRead: rec.weightBytesRead, weightBytesStreamed: rec.weightBytesStreamed, gpuDone: sub.done };
}
