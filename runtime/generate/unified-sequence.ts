/**
 * The state of one unified-model sequence: the KV caches (in the activations) and what the runtime
 * knows of them — tokens held, the next rotary position, where the prompt starts, which rows are clip
 * frames, the content still to be fed lazily, the tokens the queued work will need — and the passes
 * that grow it. Unit generators (unified-units.ts) drive it; `UnifiedSession` is its public face.
 *
 * A pass is a generator: each `yield` ends a unit of work and names the next, and the recorder of the
 * unit being recorded is `rec`, set by the session around each step.
 */
import type { Gpu, Recorder, Tensor } from '../gpu/index.ts';
import type { AttentionMask } from '../kernels/attention.ts';
import type { Tap } from '../models/tap.ts';
import { imageTokens, ropeAxes } from '../models/unified/config.ts';
import type { UnifiedModel } from '../models/unified/model.ts';
import { blocks, embedBlock, embedRow, embedText, keepLast, rotaryPositions, UnifiedActivations, type RotaryRun } from '../models/unified/transformer.ts';
import { downsampleTokens, QuantizerScratch } from '../models/vqvae/quantizer.ts';
import type { UnifiedStepKind } from './steps.ts';
import type { ImageJob, TextJob } from './unified-jobs.ts';

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
export type Pending = { kind: 'start' } | { kind: 'close'; at: number } | { kind: 'token'; job: TextJob; index: number };

/** A unit generator: each `yield` ends a unit and names the next. */
export type Unit = Generator<UnifiedStepKind, void, void>;

/** Least tokens per pass (text longer than a pass is prefilled in chunks). */
const TEXT_CHUNK = 256;

/** Most images of one batch: each adds rows to every activation and KV cache. */
export const MAX_BATCH = 64;

export class UnifiedSequence {
  readonly gpu: Gpu;
  /** Images generated side by side (variations); every other kind of work needs 1. */
  readonly batch: number;
  /** Rows of the transformer: the batch's conditional rows, then with guidance as many unconditional ones. */
  readonly rows: number;
  /** Transformer blocks per unit. */
  readonly per: number;
  readonly acts: UnifiedActivations;
  readonly scratch: QuantizerScratch;
  /** Accumulated features of the current images. */
  readonly fHat: Tensor; // [B, Cvae, P, P]
  readonly features: Tensor; // [1, Cvae, P, P]: encoder output
  readonly rest: Tensor; // [1, Cvae, P, P]: quantizer residual
  readonly guided: Tensor | undefined; // [B, P², V]
  readonly sampled: Tensor; // i32 [1]
  /** Every job asked for, in order (disposed with the sequence, or by `rewind`). */
  readonly jobs: (ImageJob | TextJob)[] = [];
  readonly pending: Pending[] = [{ kind: 'start' }];
  /** The recorder of the unit being recorded. */
  rec: Recorder | undefined;
  /** Tokens the KV caches hold (as recorded so far), and the next rotary position. */
  tokens = 0;
  position = 0;
  /** Cache row where the prompt starts: after the last `</image>`, or after `<text>`. */
  promptStart = 1;
  /** Cache rows [from, to) of clip frames fed since the prompt started: guidance never hides them. */
  frames: [number, number][] = [];
  /** Tokens the sequence will hold once the work asked for is done (text jobs counted at their most). */
  planned = 1;
  /** The image being generated (what `preview` decodes into). */
  imageJob: ImageJob | undefined;
  /** The text job whose read-back the sequence waits on before going further. */
  waitingOn: TextJob | undefined;
  private readonly keyMaskHost: Uint32Array | undefined;

  constructor(readonly model: UnifiedModel, guidance: boolean, blocksPerStep: number | undefined, readonly tap: Tap | undefined, batch = 1) {
    const { unified: u, vae } = model.config;
    this.gpu = model.gpu;
    const per = blocksPerStep ?? u.depth;
    if (!Number.isInteger(per) || per < 1) throw new Error(`blocksPerStep must be a whole number >= 1, found ${per}`);
    if (!Number.isInteger(batch) || batch < 1 || batch > MAX_BATCH) throw new Error(`batch must be a whole number from 1 to ${MAX_BATCH}, found ${batch}`);
    this.per = Math.min(per, u.depth);
    this.batch = batch;
    this.rows = (guidance ? 2 : 1) * batch;
    const P = u.patchNums[u.patchNums.length - 1];
    const maxTokens = Math.min(u.contextLength, Math.max(imageTokens(u.patchNums), TEXT_CHUNK));
    const gpu = this.gpu;
    this.acts = new UnifiedActivations(gpu, u, vae.vocabSize, this.rows, maxTokens, u.contextLength);
    this.scratch = new QuantizerScratch(gpu, vae, batch);
    this.fHat = gpu.tensor([batch, vae.zChannels, P, P], 'f32', 'f_hat');
    this.features = gpu.tensor([1, vae.zChannels, P, P], 'f32', 'features');
    this.rest = gpu.tensor([1, vae.zChannels, P, P], 'f32', 'f_rest');
    this.guided = guidance ? gpu.tensor([batch, P * P, vae.vocabSize], 'f32', 'guided_logits') : undefined;
    this.sampled = gpu.tensor([1], 'i32', 'sampled');
    if (this.acts.keyMask) {
      this.keyMaskHost = new Uint32Array(this.rows * u.contextLength).fill(1);
      gpu.write(this.acts.keyMask, this.keyMaskHost);
    }
  }

  /** Most new tokens one pass feeds: longer text is prefilled in several passes. */
  get passTokens(): number {
    return this.acts.maxTokens;
  }

  /**
   * Checks that `tokens` more fit the context, then books them and the `lazyAfter` tokens fed only if
   * the sequence continues (which the next work must find room for first).
   */
  reserve(op: string, tokens: number, lazyAfter: number): void {
    const ctx = this.model.config.unified.contextLength;
    const need = this.planned + tokens;
    if (need > ctx) {
      throw new Error(`${op}: the sequence would hold ${need} tokens, more than the model's context_length ${ctx} (${this.planned} with the work already asked for, ${tokens} more)`);
    }
    this.planned = need + lazyAfter;
  }

  /** Where the sequence stands, for `rewind`: only with nothing fed lazily still to come. */
  mark(): SequenceMark {
    if (this.pending.some((p) => p.kind !== 'start')) {
      throw new Error('mark: a generated image or text is still to be fed to the sequence; mark after appending, before generating');
    }
    return {
      tokens: this.tokens, position: this.position, promptStart: this.promptStart,
      frames: this.frames.map((f) => [f[0], f[1]] as const), started: this.pending.length === 0, jobs: this.jobs.length,
    };
  }

  /** Forgets everything after `mark`: the caches keep their first `mark.tokens` rows; later jobs are disposed. */
  rewind(mark: SequenceMark): void {
    if (!(mark.tokens <= this.tokens)) throw new Error(`rewind: the mark is at ${mark.tokens} tokens, past the sequence's ${this.tokens}`);
    this.tokens = mark.tokens;
    this.position = mark.position;
    this.promptStart = mark.promptStart;
    this.frames = mark.frames.map((f) => [f[0], f[1]]);
    for (const job of this.jobs.splice(mark.jobs)) job.dispose();
    this.pending.length = 0;
    if (!mark.started) this.pending.push({ kind: 'start' });
    this.planned = mark.tokens + (mark.started ? 0 : 1);
    this.truncate(mark.tokens);
    if (this.keyMaskHost && this.acts.keyMask) {
      const ctx = this.model.config.unified.contextLength;
      for (let g = 0; g < this.rows; g++) this.keyMaskHost.fill(1, g * ctx + mark.tokens, (g + 1) * ctx);
      this.gpu.write(this.acts.keyMask, this.keyMaskHost);
    }
  }

  /** The caches forget rows from `tokens` on (later passes overwrite them). */
  truncate(tokens: number): void {
    this.tokens = tokens;
    for (const c of this.acts.caches) c.length = tokens;
  }

  /** Guidance hides the prompt from the unconditional rows (and keeps it hidden from then on), never the clip frames. */
  hidePrompt(): void {
    if (!this.guided || !this.keyMaskHost || !this.acts.keyMask) return;
    const ctx = this.model.config.unified.contextLength;
    for (let g = this.batch; g < this.rows; g++) {
      this.keyMaskHost.fill(0, g * ctx + this.promptStart, g * ctx + this.tokens);
      for (const [from, to] of this.frames) this.keyMaskHost.fill(1, g * ctx + from, g * ctx + to);
    }
    this.gpu.write(this.acts.keyMask, this.keyMaskHost);
  }

  /**
   * One pass of n new tokens per row: `input` writes x [G, n, C] in the current unit, which also runs
   * the first group of blocks; each further group is a unit of its own ('blocks').
   */
  *pass(n: number, rotary: readonly RotaryRun[], mask: AttentionMask | Uint32Array, input: (rec: Recorder, x: Tensor) => void): Unit {
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
      blocks(rec, u, w, acts, x, from, to, attn, this.tap);
      if (to === u.depth) keepLast(rec, acts, x);
    }
    this.tokens += n;
  }

  /** Text ids [n] from the host in causal passes, both rows fed the same ids. */
  *textPass(ids: readonly number[]): Unit {
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
  *feedSampled(job: TextJob, index: number): Unit {
    yield* this.pass(1, [{ text: this.position++ }], 'none', (rec, x) => {
      for (let g = 0; g < this.rows; g++) rec.copy(job.history.buffer, 4 * index, this.acts.ids.buffer, 4 * g, 4);
      embedText(rec, this.model.transformer, this.acts, x);
    });
  }

  /**
   * `<image> BS </image>` in one block-causal pass: a full view fed from accumulated features
   * [1, Cvae, P, P], at the positions of a closed image's ends and full view.
   */
  *viewPass(features: Tensor): Unit {
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

  /** Feeds the lazy content, each piece its own pass, in the order it arose; then names the next unit. */
  *flushPending(next: UnifiedStepKind): Unit {
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
        this.startPrompt();
      }
    }
    yield next;
  }

  /** The next prompt starts here (after an image): clip frames before it no longer count. */
  startPrompt(): void {
    this.promptStart = this.tokens;
    this.frames = [];
  }

  dispose(): void {
    this.acts.dispose();
    this.scratch.dispose();
    for (const t of [this.fHat, this.features, this.rest, this.sampled]) t.dispose();
    this.guided?.dispose();
    for (const j of this.jobs) j.dispose();
  }
}
