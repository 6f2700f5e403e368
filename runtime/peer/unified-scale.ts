/**
 * One scale of a unified model's image as a pass that can be recorded again and again: the block of
 * the last generated scale (on the built-in model, 16 x 16 = 256 tokens) attending to the KV cache of
 * `<text> prompt <image>` and the coarser scales. This is what the peer bench times and checks against
 * ONNX Runtime.
 *
 * The features come from a real generation (unguided, as UNIFIED_SAMPLING): a session makes the image
 * and a tap keeps f_hat after every scale. The cache is then refilled pass by pass exactly as the
 * session fills it (`<text>` and the prompt causally, `<image>`, then each coarser scale's block
 * seeing the whole cache), and the timed pass is the last scale's block: word_embed of its input
 * features plus the block table, every transformer block (appending its keys and values), and the
 * image head. Before each run the caches forget that block, so every run does the same work.
 */
import type { Gpu, Recorder, Tensor } from '../gpu/index.ts';
import { UnifiedSession } from '../generate/unified-session.ts';
import { UNIFIED_SAMPLING } from '../generate/unified-tasks.ts';
import { ropeAxes } from '../models/unified/config.ts';
import type { UnifiedModel } from '../models/unified/model.ts';
import { blocks, embedBlock, embedRow, embedText, imageHead, rotaryPositions, UnifiedActivations, type PassAttention, type RotaryRun } from '../models/unified/transformer.ts';
import { downsampleTokens, QuantizerScratch } from '../models/vqvae/quantizer.ts';

export class UnifiedScalePass {
  /** Block index s of the timed pass (its scale is s; patchNums[s] = pn). */
  readonly s: number;
  readonly pn: number;
  /** Cached tokens before the timed block: `<text>`, the prompt, `<image>`, the coarser blocks. */
  readonly pastLength: number;
  /** Rotary positions of the timed block's tokens, as the attention kernel reads them ([pn², axes]). */
  readonly positions: number[];
  /** The timed block's input: f_hat after scales 0 .. s-1, downsampled, token-major: [1, pn², Cvae]. */
  readonly features: Tensor;
  /** The generated image's final f_hat [1, Cvae, P, P] (what the decoder turns into the image). */
  readonly fHat: Tensor;
  /** The session's own logits of the timed scale [1, pn², V], kept by its tap. */
  readonly sessionLogits: Tensor;

  private constructor(
    readonly model: UnifiedModel,
    private readonly acts: UnifiedActivations,
    private readonly fHats: Tensor[],
    private readonly attn: PassAttention,
    init: { s: number; pastLength: number; positions: number[]; features: Tensor; sessionLogits: Tensor },
  ) {
    this.s = init.s;
    this.pn = model.config.unified.patchNums[init.s];
    this.pastLength = init.pastLength;
    this.positions = init.positions;
    this.features = init.features;
    this.fHat = fHats[fHats.length - 1];
    this.sessionLogits = init.sessionLogits;
  }

  /** Generates an image of `prompt`, then fills the caches up to the last scale's block. */
  static async prepare(model: UnifiedModel, prompt: string): Promise<UnifiedScalePass> {
    const gpu = model.gpu;
    const { unified: u, vae } = model.config;
    const S = u.patchNums.length;
    const s = S - 1;
    const P = u.patchNums[s];
    const fHats = u.patchNums.map((_, si) => gpu.tensor([1, vae.zChannels, P, P], 'f32', `peer.f_hat${si}`));
    const sessionLogits = gpu.tensor([1, P * P, vae.vocabSize], 'f32', 'peer.session_logits');
    const session = new UnifiedSession(model, {
      guidance: false,
      tap: (rec, name, t) => {
        const f = /^scale(\d+)\.f_hat$/.exec(name);
        if (f) rec.copy(t.buffer, 0, fHats[Number(f[1])].buffer, 0, fHats[0].byteLength);
        if (name === `scale${s}.logits`) rec.copy(t.buffer, 0, sessionLogits.buffer, 0, sessionLogits.byteLength);
      },
    });
    try {
      session.appendText(prompt);
      session.generateImage({ ...UNIFIED_SAMPLING, seed: 1 }, { decode: false });
      await session.run();
    } finally {
      session.dispose();
    }

    const ids = [model.tokenizer.specials.text, ...model.tokenizer.encode(prompt)];
    const maxTokens = Math.max(ids.length, P * P);
    const acts = new UnifiedActivations(gpu, u, vae.vocabSize, 1, maxTokens, u.contextLength);
    const scratch = new QuantizerScratch(gpu, vae, 1);
    const w = model.transformer;
    const axes = ropeAxes(u);
    const pass = (n: number, rotary: RotaryRun[], mask: 'causal' | 'none', input: (rec: Recorder, x: Tensor) => void) => {
      gpu.write(acts.positions, rotaryPositions(u, rotary));
      const rec = gpu.recorder('peer prefix');
      const x = acts.xOf(n);
      input(rec, x);
      blocks(rec, u, w, acts, x, 0, u.depth, { positions: acts.positions.view(axes === 1 ? [n] : [n, axes]), mask });
      rec.submit();
      rec.dispose();
    };
    const at = ids.length;
    pass(ids.length, [{ text: 0, count: ids.length }], 'causal', (rec, x) => {
      gpu.write(acts.ids, ids);
      embedText(rec, w, acts, x);
    });
    pass(1, [{ text: at }], 'none', (rec, x) => embedRow(rec, x, 0, w.imageStart));
    for (let si = 1; si < s; si++) {
      const pn = u.patchNums[si];
      pass(pn * pn, [{ block: at + si, pn }], 'none', (rec, x) => embedBlock(rec, w, acts, x, si, downsampleTokens(rec, vae, scratch, fHats[si - 1], pn), 0));
    }
    const pastLength = acts.caches[0].length;

    const features = gpu.tensor([1, P * P, vae.zChannels], 'f32', 'peer.features');
    gpu.run('peer features', (rec) => rec.copy(downsampleTokens(rec, vae, scratch, fHats[s - 1], P).buffer, 0, features.buffer, 0, features.byteLength));
    await gpu.device.queue.onSubmittedWorkDone();
    scratch.dispose();
    const positions = rotaryPositions(u, [{ block: at + s, pn: P }]);
    const attn: PassAttention = { positions: acts.positions.view(axes === 1 ? [P * P] : [P * P, axes]), mask: 'none' };
    return new UnifiedScalePass(model, acts, fHats, attn, { s, pastLength, positions, features, sessionLogits });
  }

  /**
   * Records the timed pass (the caches first forget any earlier run of it); returns the logits
   * [1, pn², V], valid once the recording has run.
   */
  record(rec: Recorder): Tensor {
    const gpu: Gpu = this.model.gpu;
    const u = this.model.config.unified;
    for (const c of this.acts.caches) c.length = this.pastLength;
    gpu.write(this.acts.positions, this.positions);
    const x = this.acts.xOf(this.pn * this.pn);
    embedBlock(rec, this.model.transformer, this.acts, x, this.s, this.features, 0);
    blocks(rec, u, this.model.transformer, this.acts, x, 0, u.depth, this.attn);
    return imageHead(rec, u, this.model.transformer, this.acts, x);
  }

  /** Each layer's cached keys and values before the timed block: [Hkv, pastLength, hd] each. */
  async past(): Promise<{ k: Float32Array; v: Float32Array }[]> {
    const out: { k: Float32Array; v: Float32Array }[] = [];
    for (const c of this.acts.caches) {
      const rows = (t: Float32Array) => {
        const kept = new Float32Array(c.kvHeads * this.pastLength * c.headDim);
        for (let h = 0; h < c.kvHeads; h++) kept.set(t.subarray(h * c.capacity * c.headDim, (h * c.capacity + this.pastLength) * c.headDim), h * this.pastLength * c.headDim);
        return kept;
      };
      out.push({ k: rows((await this.model.gpu.read(c.k)) as Float32Array), v: rows((await this.model.gpu.read(c.v)) as Float32Array) });
    }
    return out;
  }

  dispose(): void {
    this.acts.dispose();
    for (const t of [...this.fHats, this.features, this.sessionLogits]) t.dispose();
  }
}
