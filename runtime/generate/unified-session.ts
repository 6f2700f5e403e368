/**
 * One sequence of a unified model as a resumable state machine. Work is asked for in order
 * (`appendText`, `appendImage`, `generateImage`, `generateText`) and each `step()` records one unit of
 * it and submits it without waiting: a group of blocks of one pass, an image scale's sampling, a decode,
 * an encode, a text token. Nothing is read back between scales; generated text comes back in chunks,
 * read beside the steps. The sequence lives in the KV caches: whatever they hold is never encoded
 * again, so text to image, captioning and editing are continuations of one sequence.
 *
 * With guidance the session runs two rows, conditional and unconditional; the latter is the same
 * sequence with the prompt hidden by a key mask (README.md, "Guidance"). Some content is fed lazily,
 * when the sequence continues: the opening `<text>`, a generated image's full view BS and `</image>`,
 * and the last generated text token.
 */
import type { Gpu, Recorder, Submission, Tensor } from '../gpu/index.ts';
import { blockCausalLimits, type AttentionMask } from '../kernels/attention.ts';
import { guidance, sample } from '../kernels/sampling.ts';
import type { Tap } from '../models/tap.ts';
import { generatedBlockTokens, imageTokens, ropeAxes, viewTokens } from '../models/unified/config.ts';
import type { UnifiedModel } from '../models/unified/model.ts';
import { blocks, blockSides, embedBlock, embedRow, embedText, imageHead, keepLast, rotaryPositions, textHead, UnifiedActivations, type RotaryRun } from '../models/unified/transformer.ts';
import { tokenCount } from '../models/vqvae/config.ts';
import { addScale, downsampleTokens, QuantizerScratch } from '../models/vqvae/quantizer.ts';
import { decode } from '../models/vqvae/vqvae.ts';
import { checkTextSettings, ImageJob, imagePlanes, recordImageInput, TextJob, type ImageInput, type TextSettings } from './unified-jobs.ts';
import { checkSampling, type SamplingSettings } from './sampling.ts';
import type { UnifiedStepInfo, UnifiedStepKind } from './steps.ts';

export interface UnifiedSessionOptions {
  /** Run the unconditional row that guidance needs (cfg > 0). Default true. */
  guidance?: boolean;
  /** Transformer blocks per step (a frame's slice of work). Default: all of them. */
  blocksPerStep?: number;
  /** Debug hook: `scale{s}.logits|idx|f_hat`, `image`, `encoded.scale{s}.idx`, `text{k}.logits`, `layer{i}.out`, ... */
  tap?: Tap;
  /** Where warnings go (an image resized to the model's size). Default console.warn. */
  onWarning?: (message: string) => void;
}

/** Settings of `generateImage`: VAR's, with `cfg` the guidance scale of every scale. */
export type ImageSettings = SamplingSettings;

/** Options of `generateImage`. */
export interface ImageOptions {
  /** Decode the finished features into the job's image. Default true; a caller that decodes `fHat` itself skips it. */
  decode?: boolean;
  /**
   * Accumulated features [1, Cvae, P, P] the image starts from instead of zero (read when its first unit
   * runs; may be `fHat` itself): a clip's next frame starts from the previous frame's, so its codes are
   * the residual between the frames (README.md, "Clips").
   */
  start?: Tensor;
}

/** A place in the sequence that `rewind` returns to (taken by `mark()`). */
export interface SequenceMark {
  readonly tokens: number;
  readonly position: number;
  readonly promptStart: number;
  readonly frames: readonly (readonly [number, number])[];
  readonly started: boolean;
  /** Jobs asked for before the mark. */
  readonly jobs: number;
}

/** Lazily fed content: the opening `<text>`, a generated image's close, a sampled token. */
type Pending = { kind: 'start' } | { kind: 'close'; at: number } | { kind: 'token'; job: TextJob; index: number };

type Unit = Generator<UnifiedStepKind, void, void>;

/** Least tokens per pass (text longer than a pass is prefilled in chunks). */
const TEXT_CHUNK = 256;

export class UnifiedSession {
  readonly rows: number;
  /** Accumulated features of the current image [1, Cvae, P, P]. */
  readonly fHat: Tensor;
  private tokens = 0;
  private position = 0;
  private readonly gpu: Gpu;
  private readonly acts: UnifiedActivations;
  private readonly scratch: QuantizerScratch;
  private readonly features: Tensor; // [1, Cvae, P, P]: encoder output
  private readonly rest: Tensor; // [1, Cvae, P, P]: quantizer residual
  private readonly guided: Tensor | undefined; // [1, P², V]
  private readonly sampled: Tensor; // i32 [1]
  private readonly keyMaskHost: Uint32Array | undefined;
  private readonly per: number;
  private readonly queue: (() => Unit)[] = [];
  private readonly jobs: (ImageJob | TextJob)[] = [];
  private readonly pending: Pending[] = [{ kind: 'start' }];
  private current: { unit: Unit; kind: UnifiedStepKind } | undefined;
  private rec: Recorder | undefined;
  private imageJob: ImageJob | undefined;
  /** The text job whose read-back the session waits on before going further. */
  private waitingOn: TextJob | undefined;
  /** Cache row where the prompt starts: after the last `</image>`, or after `<text>`. */
  private promptStart = 1;
  /** Cache rows [from, to) of clip frames fed since the prompt started: guidance never hides them. */
  private frames: [number, number][] = [];
  /** Tokens the sequence will hold once the work asked for is done (text jobs counted at their most). */
  private planned = 1;

  constructor(readonly model: UnifiedModel, readonly options: UnifiedSessionOptions = {}) {
    const { unified: u, vae } = model.config;
    this.gpu = model.gpu;
    const per = options.blocksPerStep ?? u.depth;
    if (!Number.isInteger(per) || per < 1) throw new Error(`blocksPerStep must be a whole number >= 1, found ${per}`);
    this.per = Math.min(per, u.depth);
    this.rows = options.guidance === false ? 1 : 2;
    const P = u.patchNums[u.patchNums.length - 1];
    const maxTokens = Math.min(u.contextLength, Math.max(imageTokens(u.patchNums), TEXT_CHUNK));
    const gpu = this.gpu;
    this.acts = new UnifiedActivations(gpu, u, vae.vocabSize, this.rows, maxTokens, u.contextLength);
    this.scratch = new QuantizerScratch(gpu, vae, 1);
    this.fHat = gpu.tensor([1, vae.zChannels, P, P], 'f32', 'f_hat');
    this.features = gpu.tensor([1, vae.zChannels, P, P], 'f32', 'features');
    this.rest = gpu.tensor([1, vae.zChannels, P, P], 'f32', 'f_rest');
    this.guided = this.rows > 1 ? gpu.tensor([1, P * P, vae.vocabSize], 'f32', 'guided_logits') : undefined;
    this.sampled = gpu.tensor([1], 'i32', 'sampled');
    if (this.acts.keyMask) {
      this.keyMaskHost = new Uint32Array(this.rows * u.contextLength).fill(1);
      gpu.write(this.acts.keyMask, this.keyMaskHost);
    }
  }

  /** Tokens the KV caches hold (as recorded so far). */
  get length(): number {
    return this.tokens;
  }

  /** Most new tokens one pass feeds: longer text is prefilled in several passes. */
  get passTokens(): number {
    return this.acts.maxTokens;
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
    this.reserve('appendText', ids.length, 0);
    this.queue.push(() => this.prefillText(ids));
  }

  /**
   * Appends a clip's previous frame as context, `<image> BS </image>`: only the full view, fed from the
   * frame's final accumulated features [1, Cvae, P, P] (read when the unit runs). The prompt before it
   * stays the prompt of the next image, and guidance never hides the frame. README.md, "Clips".
   */
  appendFrame(features: Tensor): void {
    const P = this.checkFeatures('appendFrame', features);
    this.reserve('appendFrame', P * P + 2, 0);
    this.queue.push(() => this.frameUnits(features));
  }

  /**
   * Where the sequence stands now, for `rewind`: only when idle and with nothing fed lazily still to
   * come (mark after appending, not right after generating).
   */
  mark(): SequenceMark {
    if (!this.idle) throw new Error('mark: work is still waiting (step until idle first)');
    if (this.pending.some((p) => p.kind !== 'start')) {
      throw new Error('mark: a generated image or text is still to be fed to the sequence; mark after appending, before generating');
    }
    return {
      tokens: this.tokens, position: this.position, promptStart: this.promptStart,
      frames: this.frames.map((f) => [f[0], f[1]] as const), started: this.pending.length === 0, jobs: this.jobs.length,
    };
  }

  /**
   * Forgets everything after `mark`: the KV caches keep their first `mark.tokens` rows and later work
   * overwrites the rest, so a clip slides its window of frames past a prompt that is prefilled once.
   * The jobs asked for after the mark are disposed (read what they hold first), so memory stays flat.
   */
  rewind(mark: SequenceMark): void {
    if (!this.idle) throw new Error('rewind: work is still waiting (step until idle first)');
    if (!(mark.tokens <= this.tokens)) throw new Error(`rewind: the mark is at ${mark.tokens} tokens, past the sequence's ${this.tokens}`);
    this.tokens = mark.tokens;
    this.position = mark.position;
    this.promptStart = mark.promptStart;
    this.frames = mark.frames.map((f) => [f[0], f[1]]);
    for (const job of this.jobs.splice(mark.jobs)) job.dispose();
    this.pending.length = 0;
    if (!mark.started) this.pending.push({ kind: 'start' });
    this.planned = mark.tokens + (mark.started ? 0 : 1);
    for (const c of this.acts.caches) c.length = mark.tokens;
    if (this.keyMaskHost && this.acts.keyMask) {
      const ctx = this.model.config.unified.contextLength;
      for (let g = 0; g < this.rows; g++) this.keyMaskHost.fill(1, g * ctx + mark.tokens, (g + 1) * ctx);
      this.gpu.write(this.acts.keyMask, this.keyMaskHost);
    }
  }

  /** Generates an image after the sequence (its prompt: the text since the last image), with guidance when cfg > 0. */
  generateImage(settings: ImageSettings = {}, options: ImageOptions = {}): ImageJob {
    const { unified: u, vae } = this.model.config;
    const s = checkSampling(settings, vae.vocabSize, 'unified');
    if (s.cfg > 0 && this.rows === 1) throw new Error(`generateImage: cfg ${s.cfg} needs the unconditional row; this session was made with guidance: false`);
    const P = u.patchNums[u.patchNums.length - 1];
    this.reserve('generateImage', 1 + generatedBlockTokens(u.patchNums), P * P + 1);
    const job = this.track(new ImageJob(this.gpu, 'generated', u.patchNums, this.model.imageSize));
    if (options.start) this.checkFeatures('generateImage: start', options.start);
    this.queue.push(() => this.imageUnits(job, s, options.decode ?? true, options.start));
    return job;
  }

  /**
   * Appends an image (resized to the model's size, with a warning, when it differs): VQVAE encode and
   * quantize, then `<image> B1..BS </image>` in one block-causal prefill, or with `view` only its full
   * view, `<image> BS </image>` (how a `caption_view` model reads an image it captions; README.md, "Captions").
   */
  appendImage(image: ImageInput, options: { view?: boolean } = {}): ImageJob {
    const planes = imagePlanes(image);
    const u = this.model.config.unified;
    const size = this.model.imageSize;
    if (image.width !== size || image.height !== size) {
      (this.options.onWarning ?? console.warn)(`appendImage: the image is ${image.width}x${image.height}, the model reads ${size}x${size}: resized`);
    }
    const view = options.view ?? false;
    this.reserve('appendImage', view ? viewTokens(u.patchNums) : imageTokens(u.patchNums), 0);
    const job = this.track(new ImageJob(this.gpu, 'appended', u.patchNums, size));
    this.queue.push(() => this.appendImageUnits(job, { ...image, data: planes }, view));
    return job;
  }

  /** Generates text token by token (stopping at `<eos>`, at maxTokens, or when the context is full). */
  generateText(settings: TextSettings = {}): TextJob {
    const s = checkTextSettings(settings, this.model.config.unified.textVocabSize);
    const room = this.model.config.unified.contextLength - this.planned;
    if (room < 1) throw new Error(`generateText: the sequence already holds the model's context_length ${this.model.config.unified.contextLength} tokens`);
    s.maxTokens = Math.min(s.maxTokens, room);
    this.reserve('generateText', s.maxTokens - 1, 1);
    const job = this.track(new TextJob(this.gpu, s, this.model.tokenizer, settings.onTokens));
    this.queue.push(() => this.textUnits(job));
    return job;
  }

  /** Records and submits the next unit of work. Never waits on the GPU; 'wait' when text is still being read back. */
  step(timing = false): UnifiedStepInfo {
    if (this.idle) throw new Error('step: no work is waiting (ask for text or an image first)');
    const rec = (this.rec = this.gpu.recorder('unified', timing));
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
    this.rec = undefined;
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
      if (info.kind === 'wait') await this.waitingOn?.whenSettled();
      n++;
    }
    return n;
  }

  /** Decodes the current image's features so far into its `image` (a preview); submitted like a step. */
  preview(timing = false): UnifiedStepInfo {
    const job = this.imageJob;
    if (!job) throw new Error('preview: no image is being generated');
    const rec = this.gpu.recorder('unified preview', timing);
    decode(rec, this.gpu, this.model.decoder, this.fHat, job.image);
    return submitted('decode', rec, rec.submit());
  }

  dispose(): void {
    this.acts.dispose();
    this.scratch.dispose();
    for (const t of [this.fHat, this.features, this.rest, this.sampled]) t.dispose();
    this.guided?.dispose();
    for (const j of this.jobs) j.dispose();
  }

  /** Refuses features that are not [1, Cvae, P, P]; returns P. */
  private checkFeatures(what: string, features: Tensor): number {
    const { unified: u, vae } = this.model.config;
    const P = u.patchNums[u.patchNums.length - 1];
    const want = [1, vae.zChannels, P, P];
    if (features.shape.length !== 4 || features.shape.some((d, i) => d !== want[i])) {
      throw new Error(`${what}: expected a frame's features [${want.join(', ')}], found [${features.shape.join(', ')}]`);
    }
    return P;
  }

  private track<J extends ImageJob | TextJob>(job: J): J {
    this.jobs.push(job);
    return job;
  }

  /**
   * Checks that `tokens` more fit the context, then books them and the `lazyAfter` tokens fed only if
   * the sequence continues (which the next work must find room for first).
   */
  private reserve(op: string, tokens: number, lazyAfter: number): void {
    const ctx = this.model.config.unified.contextLength;
    const need = this.planned + tokens;
    if (need > ctx) {
      throw new Error(`${op}: the sequence would hold ${need} tokens, more than the model's context_length ${ctx} (${this.planned} with the work already asked for, ${tokens} more)`);
    }
    this.planned = need + lazyAfter;
  }

  // ---- units (generators: each `yield` ends a unit and names the next) ----

  /**
   * One pass of n new tokens per row: `input` writes x [G, n, C] in the current unit, which also runs
   * the first group of blocks; each further group is a unit of its own ('blocks').
   */
  private *pass(n: number, rotary: readonly RotaryRun[], mask: AttentionMask | Uint32Array, input: (rec: Recorder, x: Tensor) => void): Unit {
    const { unified: u } = this.model.config;
    const axes = ropeAxes(u);
    const w = this.model.transformer;
    const acts = this.acts;
    const x = acts.xOf(n);
    for (let from = 0; from < u.depth; from += this.per) {
      if (from > 0) yield 'blocks';
      const rec = this.rec!;
      if (from === 0) {
        this.gpu.write(acts.positions, rotaryPositions(u, rotary));
        if (mask instanceof Uint32Array) this.gpu.write(acts.limits, mask);
        input(rec, x);
      }
      const attn = { positions: acts.positions.view(axes === 1 ? [n] : [n, axes]), mask: mask instanceof Uint32Array ? { limits: acts.limits.view([n]) } : mask, keyMask: acts.keyMask };
      const to = Math.min(from + this.per, u.depth);
      blocks(rec, u, w, acts, x, from, to, attn, this.options.tap);
      if (to === u.depth) keepLast(rec, acts, x);
    }
    this.tokens += n;
  }

  /** Text ids [n] from the host in causal passes, both rows fed the same ids. */
  private *textPass(ids: readonly number[]): Unit {
    for (let at = 0; at < ids.length; at += this.acts.maxTokens) {
      const chunk = ids.slice(at, at + this.acts.maxTokens);
      if (at > 0) yield 'prefill';
      const rotary = [{ text: this.position, count: chunk.length }];
      this.position += chunk.length;
      yield* this.pass(chunk.length, rotary, 'causal', (rec, x) => {
        this.gpu.write(this.acts.ids, Array.from({ length: this.rows }, () => chunk).flat());
        embedText(rec, this.model.transformer, this.acts, x);
      });
    }
  }

  /** Feeds the token a text job sampled at `index` (still on the GPU) to every row. */
  private *feedSampled(job: TextJob, index: number): Unit {
    yield* this.pass(1, [{ text: this.position++ }], 'none', (rec, x) => {
      for (let g = 0; g < this.rows; g++) rec.copy(job.history.buffer, 4 * index, this.acts.ids.buffer, 4 * g, 4);
      embedText(rec, this.model.transformer, this.acts, x);
    });
  }

  /** Feeds the lazy content, each piece its own pass, in the order it arose. */
  private *flushPending(next: UnifiedStepKind): Unit {
    const { patchNums } = this.model.config.unified;
    const S = patchNums.length;
    const P = patchNums[S - 1];
    for (let p = this.pending.shift(); p; p = this.pending.shift()) {
      yield 'prefill';
      if (p.kind === 'start') {
        yield* this.textPass([this.model.tokenizer.specials.text]);
        this.promptStart = this.tokens;
      } else if (p.kind === 'token') {
        yield* this.feedSampled(p.job, p.index);
      } else {
        // BS (the full view: every scale) and `</image>` after a generated image.
        const limits = Uint32Array.from([...Array(P * P).fill(this.tokens + P * P), this.tokens + P * P + 1]);
        yield* this.pass(P * P + 1, [{ block: p.at + S, pn: P }, { text: p.at + S + 1 }], limits, (rec, x) => {
          const tokens = downsampleTokens(rec, this.model.config.vae, this.scratch, this.fHat, P);
          embedBlock(rec, this.model.transformer, this.acts, x, S, tokens, 0);
          embedRow(rec, x, P * P, this.model.transformer.imageEnd);
        });
        this.position = p.at + S + 2;
        this.promptStart = this.tokens;
        this.frames = [];
      }
    }
    yield next;
  }

  private *prefillText(ids: number[]): Unit {
    yield* this.flushPending('prefill');
    yield* this.textPass(ids);
  }

  private *frameUnits(features: Tensor): Unit {
    yield* this.flushPending('prefill');
    const from = this.tokens;
    yield* this.viewPass(features);
    this.frames.push([from, this.tokens]);
  }

  /**
   * `<image> BS </image>` in one block-causal pass: a full view fed from accumulated features
   * [1, Cvae, P, P], at the positions of a closed image's ends and full view.
   */
  private *viewPass(features: Tensor): Unit {
    const { unified: u, vae } = this.model.config;
    const w = this.model.transformer;
    const S = u.patchNums.length;
    const P = u.patchNums[S - 1];
    const from = this.tokens;
    const at = this.position;
    const limits = Uint32Array.from([from + 1, ...Array(P * P).fill(from + 1 + P * P), from + P * P + 2]);
    yield* this.pass(P * P + 2, [{ text: at }, { block: at + S, pn: P }, { text: at + S + 1 }], limits, (rec, x) => {
      embedRow(rec, x, 0, w.imageStart);
      embedBlock(rec, w, this.acts, x, S, downsampleTokens(rec, vae, this.scratch, features, P), 1);
      embedRow(rec, x, P * P + 1, w.imageEnd);
    });
    this.position = at + S + 2;
  }

  private *imageUnits(job: ImageJob, s: Required<SamplingSettings>, decodeImage: boolean, start: Tensor | undefined): Unit {
    const { unified: u, vae } = this.model.config;
    const w = this.model.transformer;
    const tap = this.options.tap;
    const S = u.patchNums.length;
    const V = vae.vocabSize;
    yield* this.flushPending('blocks');
    this.imageJob = job;
    const at = this.position;
    // Guidance hides the prompt from the unconditional row (and keeps it hidden from then on).
    if (this.keyMaskHost && this.acts.keyMask) {
      this.keyMaskHost.fill(0, u.contextLength + this.promptStart, u.contextLength + this.tokens);
      for (const [from, to] of this.frames) this.keyMaskHost.fill(1, u.contextLength + from, u.contextLength + to);
      this.gpu.write(this.acts.keyMask, this.keyMaskHost);
    }
    if (!start) this.rec!.clear(this.fHat.buffer, 0, this.fHat.byteLength);
    else if (start !== this.fHat) this.rec!.copy(start.buffer, 0, this.fHat.buffer, 0, this.fHat.byteLength);
    for (let si = 0; si < S; si++) {
      const pn = u.patchNums[si];
      const l = pn * pn;
      if (si > 0) yield 'blocks';
      yield* this.pass(l, [si === 0 ? { text: at } : { block: at + si, pn }], 'none', (rec, x) => {
        if (si === 0) return embedRow(rec, x, 0, w.imageStart);
        embedBlock(rec, w, this.acts, x, si, downsampleTokens(rec, vae, this.scratch, this.fHat, pn), 0);
      });
      yield 'sample';
      const rec = this.rec!;
      const logits = imageHead(rec, u, w, this.acts, this.acts.xOf(l));
      let guided = logits;
      if (this.guided) {
        guided = this.guided.view([1, l, V]);
        guidance(rec, guided, logits, s.cfg);
      }
      tap?.(rec, `scale${si}.logits`, guided);
      sample(rec, job.idx[si].view([l]), guided, { topK: s.topK, topP: s.topP, temperature: s.temperature, seed: s.seed, counter: tokenCount(u.patchNums.slice(0, si)) * V });
      tap?.(rec, `scale${si}.idx`, job.idx[si]);
      addScale(rec, vae, this.model.quantizer, this.scratch, [{ tensor: this.fHat, sign: 1 }], job.idx[si], si);
      tap?.(rec, `scale${si}.f_hat`, this.fHat);
    }
    if (decodeImage) {
      yield 'decode';
      decode(this.rec!, this.gpu, this.model.decoder, this.fHat, job.image);
      tap?.(this.rec!, 'image', job.image);
    }
    job.done = true;
    this.imageJob = undefined;
    this.pending.push({ kind: 'close', at });
  }

  private *appendImageUnits(job: ImageJob, image: ImageInput & { data: Float32Array }, view: boolean): Unit {
    const { unified: u, vae } = this.model.config;
    const w = this.model.transformer;
    const S = u.patchNums.length;
    yield* this.flushPending('encode');
    const temporaries = recordImageInput(this.rec!, this.model, image, job, { scratch: this.scratch, features: this.features, rest: this.rest, fHat: this.fHat });
    job.idx.forEach((t, si) => this.options.tap?.(this.rec!, `encoded.scale${si}.idx`, t));
    yield 'prefill';
    for (const t of temporaries) t.dispose();
    if (view) {
      // The quantizer left f_hat at the sum of every scale's contribution: the full view's input.
      yield* this.viewPass(this.fHat);
    } else {
      const sides = blockSides(u.patchNums);
      const n = imageTokens(u.patchNums);
      const limits = blockCausalLimits([1, ...sides.map((pn) => pn * pn), 1]).map((k) => k + this.tokens);
      const at = this.position;
      const scales = sides.map((pn, i) => ({ block: at + i + 1, pn }));
      yield* this.pass(n, [{ text: at }, ...scales, { text: at + S + 1 }], limits, (rec, x) => {
        embedRow(rec, x, 0, w.imageStart);
        rec.clear(this.fHat.buffer, 0, this.fHat.byteLength);
        let row = 1;
        for (let si = 0; si < S; si++) {
          addScale(rec, vae, this.model.quantizer, this.scratch, [{ tensor: this.fHat, sign: 1 }], job.idx[si], si);
          const pn = sides[si];
          embedBlock(rec, w, this.acts, x, si + 1, downsampleTokens(rec, vae, this.scratch, this.fHat, pn), row);
          row += pn * pn;
        }
        embedRow(rec, x, n - 1, w.imageEnd);
      });
      this.position = at + S + 2;
    }
    this.promptStart = this.tokens;
    this.frames = [];
    job.done = true;
  }

  private *textUnits(job: TextJob): Unit {
    const u = this.model.config.unified;
    const { topK, topP, temperature, seed, maxTokens } = job.settings;
    void job.whenSettled();
    yield* this.flushPending('text');
    const start = { length: this.tokens, position: this.position };
    for (let k = 0; k < maxTokens; k++) {
      if (k > 0) {
        yield 'text';
        if (job.eosAt !== undefined) break;
        yield* this.feedSampled(job, k - 1);
      }
      const rec = this.rec!;
      const logits = textHead(rec, u, this.model.transformer, this.acts);
      this.options.tap?.(rec, `text${k}.logits`, logits);
      sample(rec, this.sampled, logits, { topK, topP, temperature, seed, counter: k * u.textVocabSize });
      rec.copy(this.sampled.buffer, 0, job.history.buffer, 4 * k, 4);
      job.submitted = k + 1;
      job.notify();
    }
    job.recorded = true;
    job.notify();
    this.waitingOn = job;
    while (job.settings.stopAtEos && !job.settled) yield 'wait';
    this.waitingOn = undefined;
    // Tokens after `<eos>` are undone: the caches forget them (their rows are overwritten later).
    const last = (job.eosAt ?? job.submitted - 1);
    const unused = job.submitted - 1 - last;
    this.tokens = start.length + last;
    this.position = start.position + last;
    for (const c of this.acts.caches) c.length = this.tokens;
    this.planned -= unused + (maxTokens - job.submitted);
    this.pending.push({ kind: 'token', job, index: last });
    job.finish();
  }
}

function submitted(kind: UnifiedStepKind, rec: Recorder, sub: Submission): UnifiedStepInfo {
  rec.dispose();
  return { kind, dispatches: sub.dispatches, weightBytesRead: rec.weightBytesRead, weightBytesStreamed: rec.weightBytesStreamed, gpuDone: sub.done };
}
