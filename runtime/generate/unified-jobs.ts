/**
 * What a unified session hands back: a `UnifiedStepInfo` per step, and for each piece of work it is
 * asked for an `ImageJob` (an image generated scale by scale, or one read in through the VQVAE) or a
 * `TextJob` (tokens generated one by one, read back in chunks). Also the image input: RGBA bytes or
 * float planes, checked on the host so that bad input fails when the work is asked for, before
 * anything is recorded, and recorded through the VQVAE's encoder and quantizer.
 */
import type { Gpu, Recorder, SectionTiming, Tensor } from '../gpu/index.ts';
import { clampAffine } from '../kernels/activation.ts';
import { resizeArea, resizeBicubic } from '../kernels/resize.ts';
import type { UnifiedModel } from '../models/unified/model.ts';
import type { UnifiedTokenizer } from '../models/unified/tokenizer.ts';
import { quantize, type QuantizerScratch } from '../models/vqvae/quantizer.ts';
import { encode } from '../models/vqvae/vqvae.ts';
import { checkSampling } from './sampling.ts';

/**
 * An image for `appendImage`: RGBA bytes (`Uint8Array` or `Uint8ClampedArray`, width·height·4, as in
 * an ImageData) or float planes (`Float32Array`, [3, height, width] in [0, 1], as runtime/io/png.ts
 * decodes them).
 */
export interface ImageInput {
  data: Uint8Array | Uint8ClampedArray | Float32Array;
  width: number;
  height: number;
}

/** The image as float planes [3, H, W] in [0, 1], refusing sizes and lengths that do not match. */
export function imagePlanes(image: ImageInput): Float32Array {
  const { data, width: W, height: H } = image;
  if (!Number.isInteger(W) || !Number.isInteger(H) || W < 1 || H < 1) throw new Error(`appendImage: width and height must be whole numbers >= 1, found ${W}x${H}`);
  if (data instanceof Float32Array) {
    if (data.length !== 3 * W * H) throw new Error(`appendImage: float image data must hold 3·${H}·${W} = ${3 * W * H} values ([3, H, W] in [0, 1]), found ${data.length}`);
    return data;
  }
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new Error('appendImage: image data must be RGBA bytes (Uint8Array, Uint8ClampedArray) or float planes (Float32Array)');
  }
  if (data.length !== 4 * W * H) throw new Error(`appendImage: RGBA image data must hold 4·${W}·${H} = ${4 * W * H} bytes, found ${data.length}`);
  const out = new Float32Array(3 * W * H);
  for (let i = 0; i < W * H; i++) for (let c = 0; c < 3; c++) out[c * W * H + i] = data[4 * i + c] / 255;
  return out;
}

/**
 * Records an image (float planes of any size) into `job.image` at the model's size (area-downsampled
 * or bicubic-upsampled when it differs), then the VQVAE encoder and the quantizer: `job.idx` gets its
 * codes and `work.fHat` its features. Returns the temporaries to dispose once the recording is submitted.
 */
export function recordImageInput(
  rec: Recorder, model: UnifiedModel, image: ImageInput & { data: Float32Array }, job: ImageJob,
  work: { scratch: QuantizerScratch; features: Tensor; rest: Tensor; fHat: Tensor },
): Tensor[] {
  const { gpu, imageSize: size } = model;
  const input = gpu.upload(image.data, [1, 3, image.height, image.width], 'f32', 'image_input');
  if (image.width === size && image.height === size) rec.copy(input.buffer, 0, job.image.buffer, 0, input.byteLength);
  else if (image.width >= size && image.height >= size) resizeArea(rec, job.image, input);
  else resizeBicubic(rec, job.image, input);
  const m11 = gpu.tensor([1, 3, size, size], 'f32', 'image_m11');
  clampAffine(rec, m11, job.image, { lo: 0, hi: 1, scale: 2, shift: -1 });
  encode(rec, gpu, model.encoder, m11, work.features);
  quantize(rec, model.config.vae, model.quantizer, work.scratch, work.features, work.rest, work.fHat, job.idx);
  return [input, m11];
}

/** An image of the sequence: generated (`generateImage`) or read in (`appendImage`). */
export class ImageJob {
  /** Codes per scale, i32 [B, pn²]. */
  readonly idx: Tensor[];
  /** [B, 3, H, W] in [0, 1]: the decoded images once generated, or the input as the model saw it (resized). */
  readonly image: Tensor;
  /** True once every unit of the job is recorded and submitted. */
  done = false;

  constructor(private readonly gpu: Gpu, readonly kind: 'generated' | 'appended', patchNums: readonly number[], size: number, readonly batch = 1) {
    this.idx = patchNums.map((pn, s) => gpu.tensor([batch, pn * pn], 'i32', `idx.${s}`));
    this.image = gpu.tensor([batch, 3, size, size], 'f32', 'image');
  }

  /** Reads the codes back (after the job is submitted): i32 [B·pn²] per scale. */
  async readTokens(): Promise<Int32Array[]> {
    return Promise.all(this.idx.map(async (t) => (await this.gpu.read(t)) as Int32Array));
  }

  /** Reads the images back, [B, 3, H, W] in [0, 1]. */
  async readImage(): Promise<Float32Array> {
    if (!this.done) throw new Error('readImage: the image is not done yet (step the session until the job is done)');
    return (await this.gpu.read(this.image)) as Float32Array;
  }

  dispose(): void {
    for (const t of [...this.idx, this.image]) t.dispose();
  }
}

/** Settings of `generateText`. */
export interface TextSettings {
  /** Most tokens to generate (fewer when the context fills up). Default 32. */
  maxTokens?: number;
  /** Keep the k most likely tokens (1: greedy). Default 1. */
  topK?: number;
  /** Keep the smallest set of tokens with this much probability (0: off). Default 0. */
  topP?: number;
  /** Softmax temperature. Default 1. */
  temperature?: number;
  seed?: number;
  /** Stop at `<eos>` (found when a chunk of tokens is read back; the steps after it are undone). Default true. */
  stopAtEos?: boolean;
  /** Called with each chunk of new ids as it is read back. */
  onTokens?: (ids: number[]) => void;
}

export function checkTextSettings(s: TextSettings, vocab: number): Required<Omit<TextSettings, 'onTokens'>> {
  const maxTokens = s.maxTokens ?? 32;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new Error(`maxTokens must be a whole number >= 1, found ${maxTokens}`);
  // Text has no guidance; the filters, temperature and seed are checked as for images.
  const { topK, topP, temperature, seed } = checkSampling({ cfg: 0, topK: s.topK ?? 1, topP: s.topP ?? 0, temperature: s.temperature, seed: s.seed }, vocab, 'unified');
  return { maxTokens, topK, topP, temperature, seed, stopAtEos: s.stopAtEos ?? true };
}

/** Text generated token by token. The ids live on the GPU and come back in chunks, never inside a step. */
export class TextJob {
  /** i32 [maxTokens]: the sampled ids, in order. */
  readonly history: Tensor;
  /** Tokens sampled so far (recorded and submitted). */
  submitted = 0;
  /** Every token unit is recorded. */
  recorded = false;
  /** Tokens read back so far, and where `<eos>` was found. */
  readonly read: number[] = [];
  eosAt: number | undefined;
  /** The read-back has caught up with everything recorded (or found `<eos>`). */
  settled = false;
  /** True once the job is over and every token it kept is read back. */
  done = false;
  /** All ids generated (`<eos>` included when it ended the text). */
  readonly ids: Promise<number[]>;
  private resolve!: (ids: number[]) => void;
  private reject!: (e: Error) => void;
  private wake?: () => void;

  constructor(
    private readonly gpu: Gpu,
    readonly settings: ReturnType<typeof checkTextSettings>,
    private readonly tokenizer: UnifiedTokenizer,
    private readonly onTokens?: (ids: number[]) => void,
    /** Tokens per read-back. */
    private readonly chunk = 8,
  ) {
    this.history = gpu.tensor([settings.maxTokens], 'i32', 'text_ids');
    this.ids = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.ids.catch(() => undefined);
  }

  /** The generated text (`<eos>` left out). */
  async text(): Promise<string> {
    const ids = await this.ids;
    return this.tokenizer.decode(ids[ids.length - 1] === this.tokenizer.specials.eos ? ids.slice(0, -1) : ids);
  }

  /** Called by the session after each token unit, and once more when every unit is recorded. */
  notify(): void {
    this.wake?.();
  }

  private reading?: Promise<void>;

  /** Starts reading the ids back beside the steps (once); resolves when the read-back has settled. */
  whenSettled(): Promise<void> {
    this.reading ??= this.readBack();
    return this.reading;
  }

  /** Reads the ids back in chunks as they are submitted, and finds `<eos>`. */
  private async readBack(): Promise<void> {
    try {
      while (this.eosAt === undefined) {
        while (!this.recorded && this.submitted - this.read.length < this.chunk) await new Promise<void>((r) => (this.wake = r));
        const upTo = this.submitted;
        const all = (await this.gpu.read(this.history)) as Int32Array;
        const fresh = Array.from(all.subarray(this.read.length, upTo));
        const eos = this.settings.stopAtEos ? fresh.indexOf(this.tokenizer.specials.eos) : -1;
        const kept = eos >= 0 ? fresh.slice(0, eos + 1) : fresh;
        if (eos >= 0) this.eosAt = this.read.length + eos;
        this.read.push(...kept);
        if (kept.length) this.onTokens?.(kept);
        if (this.recorded && this.read.length >= this.submitted) break;
      }
      this.settled = true;
    } catch (e) {
      this.settled = true;
      this.reject(e as Error);
    }
  }

  /** Ends the job: its ids resolve once everything recorded is read back. */
  finish(): void {
    void this.whenSettled().then(() => {
      this.done = true;
      this.resolve(this.read.slice());
    });
  }

  dispose(): void {
    this.history.dispose();
  }
}
