/**
 * The VAR transformer: AdaLN self-attention blocks conditioned on a class embedding, predicting the
 * token map of each scale from the coarser ones. Read it beside the reference's `models/var.py` and
 * `models/basic_var.py`: the names are theirs (`class_emb`, `pos_1LC`, `lvl_embed`, `ada_lin`, ...).
 *
 * Everything per generation (the conditioning of every block) is computed once by `condition`; each
 * scale then runs `blocks` (in groups, so a frame can take a few at a time) and `head`.
 */
import type { Gpu, Recorder, Tensor } from '../../gpu/index.ts';
import { addGated, geluTanh, silu } from '../../kernels/activation.ts';
import { attention, appendKV, KVCache } from '../../kernels/attention.ts';
import { broadcastAdd } from '../../kernels/broadcast-add.ts';
import { embedding } from '../../kernels/embedding.ts';
import { layerNorm } from '../../kernels/layer-norm.ts';
import { linear } from '../../kernels/linear.ts';
import type { WeightLoader } from '../loader.ts';
import type { Tap } from '../tap.ts';
import { tokenCount } from '../vqvae/config.ts';
import type { VarConfig } from './config.ts';

/** Chunks of a block's ada_lin output [G, 6C], in the reference's order. */
const GAMMA1 = 0, GAMMA2 = 1, SCALE1 = 2, SCALE2 = 3, SHIFT1 = 4, SHIFT2 = 5;

export interface VarBlock {
  adaLinW: Tensor; // [6C, D]
  adaLinB: Tensor; // [6C]
  matQkvW: Tensor; // [3C, C]
  qkvBias: Tensor; // [3C]: cat(q_bias, zeros, v_bias)
  scaleMul: Tensor; // [H]
  projW: Tensor; // [C, C]
  projB: Tensor; // [C]
  fc1W: Tensor; // [hidden, C]
  fc1B: Tensor; // [hidden]
  fc2W: Tensor; // [C, hidden]
  fc2B: Tensor; // [C]
}

export interface VarWeights {
  classEmb: Tensor; // [numClasses + 1, D]
  /** pos_start + lvl_embed[0] + pos_1LC[:first_l], summed at load time: [first_l, C] */
  startPos: Tensor;
  /** lvl_embed[level(t)] + pos_1LC[t] for every token t, summed at load time: [L, C] */
  lvlPos: Tensor;
  wordEmbedW: Tensor; // [C, Cvae]
  wordEmbedB: Tensor; // [C]
  blocks: VarBlock[];
  headAdaW: Tensor; // [2C, D]
  headAdaB: Tensor; // [2C]
  headW: Tensor; // [V, C]
  headB: Tensor; // [V]
}

export async function loadVarWeights(w: WeightLoader, cfg: VarConfig, vocab: number, cvae: number): Promise<VarWeights> {
  const C = cfg.embedDim;
  const D = C;
  const H = cfg.numHeads;
  const L = tokenCount(cfg.patchNums);
  const firstL = cfg.patchNums[0] ** 2;
  const hidden = Math.round(C * cfg.mlpRatio);
  if (cfg.sharedAln) throw new Error('VAR with shared_aln=True is not supported yet (public 256/512-px checkpoints use shared_aln=False)');

  const pos1LC = await w.host('pos_1LC', [1, L, C]);
  const lvlEmbed = await w.host('lvl_embed.weight', [cfg.patchNums.length, C]);
  const posStart = await w.host('pos_start', [1, firstL, C]);
  const lvlPos = new Float32Array(L * C);
  let t = 0;
  cfg.patchNums.forEach((pn, level) => {
    for (let i = 0; i < pn * pn; i++, t++) {
      for (let c = 0; c < C; c++) lvlPos[t * C + c] = lvlEmbed[level * C + c] + pos1LC[t * C + c];
    }
  });
  const startPos = Float32Array.from({ length: firstL * C }, (_, i) => posStart[i] + lvlPos[i]);

  const blocks: VarBlock[] = [];
  for (let i = 0; i < cfg.depth; i++) {
    const p = `blocks.${i}.`;
    const qBias = await w.host(`${p}attn.q_bias`, [C]);
    const vBias = await w.host(`${p}attn.v_bias`, [C]);
    const qkvBias = new Float32Array(3 * C);
    qkvBias.set(qBias, 0);
    qkvBias.set(vBias, 2 * C);
    blocks.push({
      adaLinW: await w.tensor(`${p}ada_lin.1.weight`, [6 * C, D], { matrix: true }),
      adaLinB: await w.tensor(`${p}ada_lin.1.bias`, [6 * C]),
      matQkvW: await w.tensor(`${p}attn.mat_qkv.weight`, [3 * C, C], { matrix: true }),
      qkvBias: w.upload(`${p}attn.qkv_bias`, qkvBias, [3 * C]),
      scaleMul: w.upload(`${p}attn.scale_mul_1H11`, cfg.attnL2Norm ? await w.host(`${p}attn.scale_mul_1H11`, [1, H, 1, 1]) : new Float32Array(H), [H]),
      projW: await w.tensor(`${p}attn.proj.weight`, [C, C], { matrix: true }),
      projB: await w.tensor(`${p}attn.proj.bias`, [C]),
      fc1W: await w.tensor(`${p}ffn.fc1.weight`, [hidden, C], { matrix: true }),
      fc1B: await w.tensor(`${p}ffn.fc1.bias`, [hidden]),
      fc2W: await w.tensor(`${p}ffn.fc2.weight`, [C, hidden], { matrix: true }),
      fc2B: await w.tensor(`${p}ffn.fc2.bias`, [C]),
    });
  }
  return {
    classEmb: await w.tensor('class_emb.weight', [cfg.numClasses + 1, D]),
    startPos: w.upload('start_pos', startPos, [firstL, C]),
    lvlPos: w.upload('lvl_pos', lvlPos, [L, C]),
    wordEmbedW: await w.tensor('word_embed.weight', [C, cvae], { matrix: true }),
    wordEmbedB: await w.tensor('word_embed.bias', [C]),
    blocks,
    headAdaW: await w.tensor('head_nm.ada_lin.1.weight', [2 * C, D], { matrix: true }),
    headAdaB: await w.tensor('head_nm.ada_lin.1.bias', [2 * C]),
    headW: await w.tensor('head.weight', [vocab, C], { matrix: true }),
    headB: await w.tensor('head.bias', [vocab]),
  };
}

/**
 * Activations for G rows of up to `maxTokens` tokens each, allocated once per session: every scale
 * uses views of their first elements.
 */
export class VarActivations {
  readonly labels: Tensor; // i32 [G]
  readonly cond: Tensor; // [G, D]: class_emb[label]
  readonly condSilu: Tensor; // [G, D]
  readonly ada: Tensor[]; // per block [G, 6C]
  readonly headAda: Tensor; // [G, 2C]
  readonly x: Tensor; // [G, maxTokens, C]
  readonly h: Tensor; // [G, maxTokens, C]
  readonly qkv: Tensor; // [G, maxTokens, 3C]
  readonly attnOut: Tensor; // [G, maxTokens, C]
  readonly y: Tensor; // [G, maxTokens, C]
  readonly ffnPre: Tensor; // [G, maxTokens, hidden]
  readonly ffnAct: Tensor; // [G, maxTokens, hidden]
  readonly logits: Tensor; // [G, maxTokens, V]
  readonly caches: KVCache[];

  constructor(gpu: Gpu, cfg: VarConfig, vocab: number, readonly rows: number, readonly maxTokens: number, cacheTokens: number) {
    const C = cfg.embedDim;
    const hidden = Math.round(C * cfg.mlpRatio);
    const G = rows;
    const T = maxTokens;
    this.labels = gpu.tensor([G], 'i32', 'labels');
    this.cond = gpu.tensor([G, C], 'f32', 'cond');
    this.condSilu = gpu.tensor([G, C], 'f32', 'cond_silu');
    this.ada = Array.from({ length: cfg.depth }, (_, i) => gpu.tensor([G, 6 * C], 'f32', `ada.${i}`));
    this.headAda = gpu.tensor([G, 2 * C], 'f32', 'head_ada');
    this.x = gpu.tensor([G, T, C], 'f32', 'x');
    this.h = gpu.tensor([G, T, C], 'f32', 'h');
    this.qkv = gpu.tensor([G, T, 3 * C], 'f32', 'qkv');
    this.attnOut = gpu.tensor([G, T, C], 'f32', 'attn_out');
    this.y = gpu.tensor([G, T, C], 'f32', 'y');
    this.ffnPre = gpu.tensor([G, T, hidden], 'f32', 'ffn_pre');
    this.ffnAct = gpu.tensor([G, T, hidden], 'f32', 'ffn_act');
    this.logits = gpu.tensor([G, T, vocab], 'f32', 'logits');
    const headDim = C / cfg.numHeads;
    this.caches = Array.from({ length: cfg.depth }, () => new KVCache(gpu, { batch: G, kvHeads: cfg.numHeads, headDim, capacity: cacheTokens }));
  }

  dispose(): void {
    for (const t of [this.labels, this.cond, this.condSilu, ...this.ada, this.headAda, this.x, this.h, this.qkv, this.attnOut, this.y, this.ffnPre, this.ffnAct, this.logits]) t.dispose();
    for (const c of this.caches) c.dispose();
  }
}

/**
 * Conditioning, once per generation: cond = class_emb[label]; every block's ada_lin(SiLU(cond))
 * and the head's. `acts.labels` must hold the G labels.
 */
export function condition(rec: Recorder, cfg: VarConfig, w: VarWeights, acts: VarActivations): void {
  embedding(rec, acts.cond, w.classEmb, acts.labels);
  silu(rec, acts.condSilu, acts.cond);
  w.blocks.forEach((b, i) => linear(rec, acts.ada[i], acts.condSilu, b.adaLinW, b.adaLinB));
  linear(rec, acts.headAda, acts.condSilu, w.headAdaW, w.headAdaB);
  for (const c of acts.caches) c.reset();
}

/** Scale 0's input: cond broadcast over the first tokens + pos_start + lvl_pos. Writes acts.x. */
export function firstInput(rec: Recorder, cfg: VarConfig, w: VarWeights, acts: VarActivations): Tensor {
  const C = cfg.embedDim;
  const firstL = cfg.patchNums[0] ** 2;
  const x = acts.x.view([acts.rows, firstL, C]);
  broadcastAdd(rec, x, acts.cond.view([acts.rows, 1, C]), w.startPos, { rows: firstL });
  return x;
}

/**
 * Input of scale s > 0 from the area-downsampled features, token-major [B, pn², Cvae]:
 * word_embed(features) + lvl_pos of the scale's tokens, repeated over the G / B halves (CFG).
 */
export function nextInput(rec: Recorder, cfg: VarConfig, w: VarWeights, acts: VarActivations, scale: number, featuresBlC: Tensor): Tensor {
  const C = cfg.embedDim;
  const pn = cfg.patchNums[scale];
  const l = pn * pn;
  const B = featuresBlC.shape[0];
  const embedded = acts.y.view([B, l, C]);
  linear(rec, embedded, featuresBlC, w.wordEmbedW, w.wordEmbedB);
  const x = acts.x.view([acts.rows, l, C]);
  broadcastAdd(rec, x, embedded, w.lvlPos, { rows: l, bOffset: tokenCount(cfg.patchNums.slice(0, scale)) });
  return x;
}

export type AttentionMask = 'none' | { limits: Tensor };

/**
 * Blocks [from, to) on x [G, l, C], in place. Keys and values are appended to each block's cache, so
 * the tokens of this call attend to everything cached before them (and to each other, under `mask`).
 */
export function blocks(rec: Recorder, cfg: VarConfig, w: VarWeights, acts: VarActivations, x: Tensor, from: number, to: number, mask: AttentionMask = 'none', tap?: Tap): void {
  const [G, l, C] = x.shape;
  const hidden = Math.round(C * cfg.mlpRatio);
  const H = cfg.numHeads;
  const h = acts.h.view([G, l, C]);
  const qkv = acts.qkv.view([G, l, 3 * C]);
  const attnOut = acts.attnOut.view([G, l, C]);
  const y = acts.y.view([G, l, C]);
  const ffnPre = acts.ffnPre.view([G, l, hidden]);
  const ffnAct = acts.ffnAct.view([G, l, hidden]);
  const scale = cfg.attnL2Norm ? 1 : 0.25 / Math.sqrt(C / H);
  for (let i = from; i < to; i++) {
    const b = w.blocks[i];
    const ada = acts.ada[i];
    layerNorm(rec, h, x, { eps: cfg.normEps, modulation: { ada, scaleChunk: SCALE1, shiftChunk: SHIFT1 } });
    linear(rec, qkv, h, b.matQkvW, b.qkvBias);
    appendKV(rec, acts.caches[i], qkv, { heads: H, qkNorm: cfg.attnL2Norm });
    attention(rec, attnOut, qkv, acts.caches[i], {
      heads: H,
      scale,
      qkNorm: cfg.attnL2Norm ? { scaleMul: b.scaleMul } : undefined,
      mask,
    });
    tap?.(rec, `block${i}.attn_out`, attnOut);
    linear(rec, y, attnOut, b.projW, b.projB);
    addGated(rec, x, y, ada, { chunk: GAMMA1 });
    layerNorm(rec, h, x, { eps: cfg.normEps, modulation: { ada, scaleChunk: SCALE2, shiftChunk: SHIFT2 } });
    linear(rec, ffnPre, h, b.fc1W, b.fc1B);
    geluTanh(rec, ffnAct, ffnPre);
    linear(rec, y, ffnAct, b.fc2W, b.fc2B);
    addGated(rec, x, y, ada, { chunk: GAMMA2 });
    tap?.(rec, `block${i}.out`, x);
  }
}

/** The head: logits [G, l, V] = head(LN(x)·(1 + scale) + shift), with head_nm's scale and shift. */
export function head(rec: Recorder, cfg: VarConfig, w: VarWeights, acts: VarActivations, x: Tensor): Tensor {
  const [G, l, C] = x.shape;
  const V = w.headB.shape[0];
  const h = acts.h.view([G, l, C]);
  layerNorm(rec, h, x, { eps: cfg.normEps, modulation: { ada: acts.headAda, scaleChunk: 0, shiftChunk: 1 } });
  const logits = acts.logits.view([G, l, V]);
  linear(rec, logits, h, w.headW, w.headB);
  return logits;
}
