/**
 * The unified transformer: Qwen2 blocks (RMSNorm, fused biased qkv, rotate-half RoPE, grouped-query
 * attention, SwiGLU) over one sequence of text tokens and image blocks. Read it beside
 * training/nextscale/unified.py: the weight names are the same (`tok_embed`, `word_embed`,
 * `level_embed`, `pos_row`, `pos_col`, `layers.{i}.attn.qkv`, ...).
 *
 * A pass feeds G rows (B images side by side, then with guidance as many unconditional rows) of n new tokens each: the
 * session builds their inputs in `acts.x` (text ids through `tok_embed`, `<image>` and `</image>` as
 * precomputed rows, image blocks from features through `word_embed` plus a precomputed table of level
 * and position embeddings), runs `blocks` in groups, and reads logits from one of the two heads, which
 * are the rows of the stored head split at load: text [T, C] and image [V, C].
 */
import type { Gpu, Recorder, Tensor } from '../../gpu/index.ts';
import { appendKV, attention, KVCache, type AttentionMask } from '../../kernels/attention.ts';
import { broadcastAdd } from '../../kernels/broadcast-add.ts';
import { embedding } from '../../kernels/embedding.ts';
import { linear, linearSwiglu } from '../../kernels/linear.ts';
import { rmsNorm } from '../../kernels/rms-norm.ts';
import type { WeightLoader } from '../loader.ts';
import type { Tap } from '../tap.ts';
import { headDim, ropeAxes, type UnifiedConfig } from './config.ts';

export type { Tap };

export interface UnifiedLayer {
  inputNorm: Tensor; // [C]
  qkvW: Tensor; // [(H + 2·Hkv)·hd, C]: q rows, then k, then v
  qkvB: Tensor; // [(H + 2·Hkv)·hd]
  oW: Tensor; // [C, H·hd]
  postAttnNorm: Tensor; // [C]
  gateW: Tensor; // [F, C]
  upW: Tensor; // [F, C]
  downW: Tensor; // [C, F]
}

export interface UnifiedWeights {
  tokEmbed: Tensor; // [T, C]
  /** tok_embed[<image>] + level_embed[0], summed at load time: [C] */
  imageStart: Tensor;
  /** tok_embed[</image>]: [C] */
  imageEnd: Tensor;
  wordEmbedW: Tensor; // [C, Cvae]
  wordEmbedB: Tensor; // [C]
  /** level_embed[s] + pos_row[r(i)] + pos_col[r(j)] (+ pos_grid[r(i) P + r(j)]) (+ pos_scale[t]) for every token t of blocks B1 .. BS: [Lb, C] */
  blockPos: Tensor;
  /** First row of block s in blockPos (s = 1 .. S; entry 0 unused). */
  blockOffsets: number[];
  layers: UnifiedLayer[];
  norm: Tensor; // [C]
  textHead: Tensor; // [T, C]: head rows 0 .. T-1
  imageHead: Tensor; // [V, C]: head rows T .. T+V-1
}

/** Row of the full P x P map under the centre of cell i of a pn x pn block: floor((2i + 1)·P / (2·pn)). */
export function fullRow(i: number, pn: number, P: number): number {
  return Math.floor(((2 * i + 1) * P) / (2 * pn));
}

/** Tokens of a pass by rotary position: `count` text tokens (default 1) from `text` on, or a block's pn² at `block`. */
export type RotaryRun = { text: number; count?: number } | { block: number; pn: number };

/**
 * The rotary positions of a pass's tokens, laid out as `acts.positions` holds them: one per token, or
 * with rope_2d three: (position, position + row, position + column), a block token's row and column
 * being those of the full map under its cell's centre (`fullRow`) and other tokens' being 0.
 */
export function rotaryPositions(cfg: UnifiedConfig, runs: readonly RotaryRun[]): number[] {
  const axes = ropeAxes(cfg);
  const P = cfg.patchNums[cfg.patchNums.length - 1];
  const out: number[] = [];
  const push = (at: number, row: number, col: number) => (axes === 1 ? out.push(at) : out.push(at, at + row, at + col));
  for (const run of runs) {
    if ('text' in run) {
      for (let i = 0; i < (run.count ?? 1); i++) push(run.text + i, 0, 0);
    } else {
      for (let i = 0; i < run.pn; i++) {
        for (let j = 0; j < run.pn; j++) push(run.block, fullRow(i, run.pn, P), fullRow(j, run.pn, P));
      }
    }
  }
  return out;
}

/** Sides of blocks B1 .. BS (BS being the full P x P view). */
export function blockSides(patchNums: readonly number[]): number[] {
  return [...patchNums.slice(1), patchNums[patchNums.length - 1]];
}

/** Token counts of blocks B1 .. BS. */
export function blockSizes(patchNums: readonly number[]): number[] {
  return blockSides(patchNums).map((pn) => pn * pn);
}

/**
 * Loads the transformer's tensors (names without the `unified.` prefix, which the loader adds).
 * `specials` gives the ids of `<image>` and `</image>`, whose input rows are summed here.
 */
export async function loadUnifiedWeights(w: WeightLoader, cfg: UnifiedConfig, specials: { image: number; endImage: number }, V: number, cvae: number): Promise<UnifiedWeights> {
  const { textVocabSize: T, embedDim: C, numHeads: H, numKvHeads: Hkv, intermediateSize: F } = cfg;
  const hd = headDim(cfg);
  const S = cfg.patchNums.length;
  const P = cfg.patchNums[S - 1];

  const tokEmbedHost = await w.host('tok_embed.weight', [T, C]);
  const levelEmbed = await w.host('level_embed.weight', [S + 1, C]);
  const posRow = await w.host('pos_row.weight', [P, C]);
  const posCol = await w.host('pos_col.weight', [P, C]);
  const posGrid = cfg.pos2d ? await w.host('pos_grid.weight', [P * P, C]) : undefined;
  const sizes = blockSizes(cfg.patchNums);
  const blockTokens = sizes.reduce((a, b) => a + b, 0);
  const posScale = cfg.posScales ? await w.host('pos_scale.weight', [blockTokens, C]) : undefined;
  const imageStart = Float32Array.from({ length: C }, (_, c) => tokEmbedHost[specials.image * C + c] + levelEmbed[c]);
  const imageEnd = tokEmbedHost.slice(specials.endImage * C, (specials.endImage + 1) * C);

  const blockOffsets = [0];
  const blockPos = new Float32Array(blockTokens * C);
  let t = 0;
  for (let s = 1; s <= S; s++) {
    blockOffsets[s] = t;
    const pn = s < S ? cfg.patchNums[s] : P;
    for (let i = 0; i < pn; i++) {
      for (let j = 0; j < pn; j++, t++) {
        const r = fullRow(i, pn, P);
        const k = fullRow(j, pn, P);
        for (let c = 0; c < C; c++) {
          blockPos[t * C + c] = levelEmbed[s * C + c] + posRow[r * C + c] + posCol[k * C + c] + (posGrid ? posGrid[(r * P + k) * C + c] : 0) + (posScale ? posScale[t * C + c] : 0);
        }
      }
    }
  }

  const layers: UnifiedLayer[] = [];
  const qkvRows = (H + 2 * Hkv) * hd;
  for (let i = 0; i < cfg.depth; i++) {
    const p = `layers.${i}.`;
    layers.push({
      inputNorm: await w.tensor(`${p}input_norm.weight`, [C]),
      qkvW: await w.tensor(`${p}attn.qkv.weight`, [qkvRows, C], { matrix: true }),
      qkvB: await w.tensor(`${p}attn.qkv.bias`, [qkvRows]),
      oW: await w.tensor(`${p}attn.o.weight`, [C, H * hd], { matrix: true }),
      postAttnNorm: await w.tensor(`${p}post_attn_norm.weight`, [C]),
      gateW: await w.tensor(`${p}mlp.gate.weight`, [F, C], { matrix: true }),
      upW: await w.tensor(`${p}mlp.up.weight`, [F, C], { matrix: true }),
      downW: await w.tensor(`${p}mlp.down.weight`, [C, F], { matrix: true }),
    });
  }
  const head = await w.host('head.weight', [T + V, C]);
  return {
    tokEmbed: w.upload('tok_embed.weight', tokEmbedHost, [T, C], true),
    imageStart: w.upload('image_start', imageStart, [C]),
    imageEnd: w.upload('image_end', imageEnd, [C]),
    wordEmbedW: await w.tensor('word_embed.weight', [C, cvae], { matrix: true }),
    wordEmbedB: await w.tensor('word_embed.bias', [C]),
    blockPos: w.upload('block_pos', blockPos, [t, C]),
    blockOffsets,
    layers,
    norm: await w.tensor('norm.weight', [C]),
    textHead: w.upload('head.text', head.subarray(0, T * C), [T, C], true),
    imageHead: w.upload('head.image', head.subarray(T * C), [V, C], true),
  };
}

/**
 * Activations for G rows of up to `maxTokens` new tokens per pass, and the KV caches of a sequence of
 * up to `capacity` tokens, allocated once per session: every pass uses views of their first elements.
 */
export class UnifiedActivations {
  readonly ids: Tensor; // i32 [G·maxTokens]: text ids of a pass, row-major over (g, token)
  readonly positions: Tensor; // i32 [maxTokens · axes]: rotary positions of each new token (`rotaryPositions`)
  readonly limits: Tensor; // u32 [maxTokens]: keys [0, limit) each new token may see
  /** u32 [G, capacity]: keys hidden from a row (the prompt, in the unconditional rows); with G > 1 only. */
  readonly keyMask: Tensor | undefined;
  readonly x: Tensor; // [G, maxTokens, C]: the residual stream
  readonly h: Tensor; // [G, maxTokens, C]: normed
  readonly qkv: Tensor; // [G, maxTokens, (H + 2·Hkv)·hd]
  readonly attnOut: Tensor; // [G, maxTokens, H·hd]
  readonly y: Tensor; // [G, maxTokens, C]: a scale's embedded features, before its position offsets
  readonly gate: Tensor; // [G, maxTokens, F]
  readonly up: Tensor; // [G, maxTokens, F]
  readonly act: Tensor; // [G, maxTokens, F]
  readonly hidden: Tensor; // [1, 1, C]: the conditional row's last token after the blocks
  readonly hiddenNormed: Tensor; // [1, 1, C]
  readonly textLogits: Tensor; // [1, T]
  readonly imageLogits: Tensor; // [G, P², V]
  readonly caches: KVCache[];

  constructor(gpu: Gpu, cfg: UnifiedConfig, V: number, readonly rows: number, readonly maxTokens: number, readonly capacity: number) {
    const { embedDim: C, numHeads: H, numKvHeads: Hkv, intermediateSize: F } = cfg;
    const hd = headDim(cfg);
    const G = rows;
    const n = maxTokens;
    const P = cfg.patchNums[cfg.patchNums.length - 1];
    this.ids = gpu.tensor([G * n], 'i32', 'ids');
    this.positions = gpu.tensor([n * ropeAxes(cfg)], 'i32', 'positions');
    this.limits = gpu.tensor([n], 'u32', 'limits');
    this.keyMask = G > 1 ? gpu.tensor([G, capacity], 'u32', 'key_mask') : undefined;
    this.x = gpu.tensor([G, n, C], 'f32', 'x');
    this.h = gpu.tensor([G, n, C], 'f32', 'h');
    this.qkv = gpu.tensor([G, n, (H + 2 * Hkv) * hd], 'f32', 'qkv');
    this.attnOut = gpu.tensor([G, n, H * hd], 'f32', 'attn_out');
    this.y = gpu.tensor([G, n, C], 'f32', 'y');
    this.gate = gpu.tensor([G, n, F], 'f32', 'gate');
    this.up = gpu.tensor([G, n, F], 'f32', 'up');
    this.act = gpu.tensor([G, n, F], 'f32', 'act');
    this.hidden = gpu.tensor([1, 1, C], 'f32', 'hidden');
    this.hiddenNormed = gpu.tensor([1, 1, C], 'f32', 'hidden_normed');
    this.textLogits = gpu.tensor([1, cfg.textVocabSize], 'f32', 'text_logits');
    this.imageLogits = gpu.tensor([G, P * P, V], 'f32', 'image_logits');
    this.caches = Array.from({ length: cfg.depth }, () => new KVCache(gpu, { batch: G, kvHeads: Hkv, headDim: hd, capacity }));
  }

  /** The residual stream of a pass of n tokens: [G, n, C]. */
  xOf(n: number): Tensor {
    return this.x.view([this.rows, n, this.x.shape[2]]);
  }

  dispose(): void {
    const own = [this.ids, this.positions, this.limits, this.x, this.h, this.qkv, this.attnOut, this.y, this.gate, this.up, this.act, this.hidden, this.hiddenNormed, this.textLogits, this.imageLogits];
    for (const t of own) t.dispose();
    this.keyMask?.dispose();
    for (const c of this.caches) c.dispose();
  }
}

/** x [G, n, C] = tok_embed[ids], with `acts.ids` holding the G·n ids. */
export function embedText(rec: Recorder, w: UnifiedWeights, acts: UnifiedActivations, x: Tensor): void {
  const [G, n] = x.shape;
  embedding(rec, x, w.tokEmbed, acts.ids.view([G * n]));
}

/** Copies a precomputed input row `vector` [C] into row `row` of every batch entry of x [G, n, C]. */
export function embedRow(rec: Recorder, x: Tensor, row: number, vector: Tensor): void {
  const [G, n, C] = x.shape;
  for (let g = 0; g < G; g++) rec.copy(vector.buffer, 0, x.buffer, (g * n + row) * C * 4, C * 4);
}

/**
 * Rows [row, row + pn²) of x [G, n, C] = word_embed(features) + the block table of block s, for
 * features [B, pn², Cvae] (token-major); row g reads features g mod B (with guidance the unconditional
 * rows follow the conditional ones, so both halves read the same images).
 */
export function embedBlock(rec: Recorder, w: UnifiedWeights, acts: UnifiedActivations, x: Tensor, s: number, featuresBlC: Tensor, row: number): void {
  const [B, l] = featuresBlC.shape;
  const C = x.shape[2];
  const embedded = acts.y.view([B, l, C]);
  linear(rec, embedded, featuresBlC, w.wordEmbedW, w.wordEmbedB);
  broadcastAdd(rec, x, embedded, w.blockPos, { rows: l, outOffset: row, bOffset: w.blockOffsets[s] });
}

/** What the new tokens of a pass see: rotary positions [n] or [n, 3] (i32), a mask over the cache, a key mask. */
export interface PassAttention {
  positions: Tensor;
  mask: AttentionMask;
  keyMask?: Tensor;
}

/**
 * Blocks [from, to) on x [G, n, C], in place. Keys and values are appended to each layer's cache, so
 * the new tokens attend to everything cached before them and to each other under `attn.mask`.
 */
export function blocks(rec: Recorder, cfg: UnifiedConfig, w: UnifiedWeights, acts: UnifiedActivations, x: Tensor, from: number, to: number, attn: PassAttention, tap?: Tap): void {
  const [G, n, C] = x.shape;
  const { numHeads: H, numKvHeads: Hkv, intermediateSize: F, rmsNormEps: eps } = cfg;
  const hd = headDim(cfg);
  const h = acts.h.view([G, n, C]);
  const qkv = acts.qkv.view([G, n, (H + 2 * Hkv) * hd]);
  const attnOut = acts.attnOut.view([G, n, H * hd]);
  const gate = acts.gate.view([G, n, F]);
  const up = acts.up.view([G, n, F]);
  const act = acts.act.view([G, n, F]);
  const rope = { positions: attn.positions, theta: cfg.ropeTheta };
  for (let i = from; i < to; i++) {
    const layer = w.layers[i];
    rmsNorm(rec, h, x, { eps, weight: layer.inputNorm });
    linear(rec, qkv, h, layer.qkvW, layer.qkvB);
    appendKV(rec, acts.caches[i], qkv, { heads: H, rope });
    attention(rec, attnOut, qkv, acts.caches[i], { heads: H, scale: 1 / Math.sqrt(hd), rope, mask: attn.mask, keyMask: attn.keyMask });
    tap?.(rec, `layer${i}.attn_out`, attnOut);
    linear(rec, x, attnOut, layer.oW, undefined, { accumulate: true });
    rmsNorm(rec, h, x, { eps, weight: layer.postAttnNorm });
    linearSwiglu(rec, act, h, layer.gateW, layer.upW, { gate, up });
    linear(rec, x, act, layer.downW, undefined, { accumulate: true });
    tap?.(rec, `layer${i}.out`, x);
  }
}

/** Keeps the conditional row's last token of x [G, n, C] in `acts.hidden`, for the text head. */
export function keepLast(rec: Recorder, acts: UnifiedActivations, x: Tensor): void {
  const [, n, C] = x.shape;
  rec.copy(x.buffer, (n - 1) * C * 4, acts.hidden.buffer, 0, C * 4);
}

/** Text logits [1, T] = text head(rmsnorm(hidden) · norm) of the kept token. */
export function textHead(rec: Recorder, cfg: UnifiedConfig, w: UnifiedWeights, acts: UnifiedActivations): Tensor {
  rmsNorm(rec, acts.hiddenNormed, acts.hidden, { eps: cfg.rmsNormEps, weight: w.norm });
  linear(rec, acts.textLogits, acts.hiddenNormed, w.textHead);
  return acts.textLogits;
}

/** Image logits [G, n, V] = image head(rmsnorm(x) · norm) for every token of x [G, n, C]. */
export function imageHead(rec: Recorder, cfg: UnifiedConfig, w: UnifiedWeights, acts: UnifiedActivations, x: Tensor): Tensor {
  const [G, n, C] = x.shape;
  const h = acts.h.view([G, n, C]);
  rmsNorm(rec, h, x, { eps: cfg.rmsNormEps, weight: w.norm });
  const logits = acts.imageLogits.view([G, n, w.imageHead.shape[0]]);
  linear(rec, logits, h, w.imageHead);
  return logits;
}
