/**
 * Unified family configuration: a model folder's `config.json` with `"family": "unified"`, the VQVAE
 * (`"vae"`, VAR's section, parsed by VAR's parser) and the decoder-only transformer (`"unified"`, see
 * README.md in this folder). Checks refuse what the runtime cannot run, naming the values found.
 */
import { checkedFileSync } from '../../io/model-file-error.ts';
import { asObject, field, LIMITS, type Json } from '../config-fields.ts';
import { checkVaeConfig, parseVaeConfig, serializeVaeConfig, vaeImageSize, type VaeConfig } from '../vqvae/config.ts';

/** The transformer's hyperparameters (example values: the conformance fixture unified-tiny). */
export interface UnifiedConfig {
  textVocabSize: number; // 443 (T: text ids 0 .. T-1; image code c is id T + c)
  depth: number; // 2
  embedDim: number; // 64 (C)
  numHeads: number; // 4 (H)
  numKvHeads: number; // 2 (Hkv)
  intermediateSize: number; // 160 (F)
  rmsNormEps: number; // 1e-6
  ropeTheta: number; // 10000
  patchNums: number[]; // [1, 2, 3, 4]
  contextLength: number; // 256: the most tokens one sequence holds, text and image together
  /** Trained on clips: a frame continues from the previous frame's full view (README.md, "Clips"). */
  frameConditioned: boolean; // false
  /** Reads an image it captions by its full view only, `<image> BS </image>` (README.md, "Captions"). */
  captionView: boolean; // false
  /**
   * Block tokens also turn by their row and column: rotary pair i reads axis i mod 3 of (position,
   * position + row, position + column) (README.md, "Inputs of each position").
   */
  rope2d: boolean; // false
  /**
   * Block tokens also add `pos_grid[r(i) * P + r(j)]`, a learned vector per cell of the finest grid
   * (README.md, "Inputs of each position").
   */
  pos2d: boolean; // false
  /**
   * Block tokens also add `pos_scale[t]`, a learned vector per token of blocks B1 .. BS in sequence
   * order (README.md, "Inputs of each position").
   */
  posScales: boolean; // false
}

export interface UnifiedModelConfig {
  family: 'unified';
  vae: VaeConfig;
  unified: UnifiedConfig;
}

/** Largest head dim the attention kernel takes. */
const MAX_HEAD_DIM = 128;

export function headDim(cfg: UnifiedConfig): number {
  return cfg.embedDim / cfg.numHeads;
}

/** Pixels per side of the model's images. */
export function imageSize(cfg: UnifiedModelConfig): number {
  return vaeImageSize(cfg.vae);
}

/** Rotary positions per token: 3 with rope_2d (position; position + row; position + column), else 1. */
export function ropeAxes(cfg: UnifiedConfig): number {
  return cfg.rope2d ? 3 : 1;
}

/** Tokens of blocks B1 .. B(S-1): what one generated image feeds before its full view. */
export function generatedBlockTokens(patchNums: readonly number[]): number {
  return patchNums.slice(1).reduce((n, pn) => n + pn * pn, 0);
}

/** Tokens of a whole image in the sequence: `<image>`, B1 .. B(S-1), the full view BS (P²), `</image>`. */
export function imageTokens(patchNums: readonly number[]): number {
  return generatedBlockTokens(patchNums) + viewTokens(patchNums);
}

/** Tokens of an image given by its full view only: `<image>`, BS (P²), `</image>`. */
export function viewTokens(patchNums: readonly number[]): number {
  const P = patchNums[patchNums.length - 1];
  return 1 + P * P + 1;
}

/** Parses a model folder's config.json with clear errors. */
export function parseUnifiedConfig(json: unknown, source = 'config.json'): UnifiedModelConfig {
  return checkedFileSync(source, () => parseUnifiedConfigUnchecked(json, source));
}

function parseUnifiedConfigUnchecked(json: unknown, source: string): UnifiedModelConfig {
  const root = asObject(json, source);
  if (root.family !== 'unified') throw new Error(`${source}: expected "family": "unified", found ${JSON.stringify(root.family)}`);
  const u = asObject(root.unified, `${source} "unified"`);
  const w = `${source} "unified"`;
  const { int, num, bool, ints, only } = field;
  only(u, ['text_vocab_size', 'depth', 'embed_dim', 'num_heads', 'num_kv_heads', 'intermediate_size', 'rms_norm_eps', 'rope_theta', 'patch_nums', 'context_length', 'frame_conditioned', 'caption_view', 'rope_2d', 'pos_2d', 'pos_scales'], w);
  const patchNums = ints(u, 'patch_nums', w, LIMITS.side);
  const cfg: UnifiedModelConfig = {
    family: 'unified',
    vae: parseVaeConfig(asObject(root.vae, `${source} "vae"`), `${source} "vae"`, patchNums),
    unified: {
      textVocabSize: int(u, 'text_vocab_size', w, LIMITS.vocab),
      depth: int(u, 'depth', w, LIMITS.depth),
      embedDim: int(u, 'embed_dim', w, LIMITS.channels),
      numHeads: int(u, 'num_heads', w, LIMITS.heads),
      numKvHeads: int(u, 'num_kv_heads', w, LIMITS.heads),
      intermediateSize: int(u, 'intermediate_size', w, { min: 1, max: 65536 }),
      rmsNormEps: num(u, 'rms_norm_eps', w, LIMITS.eps, 1e-6),
      ropeTheta: num(u, 'rope_theta', w, { min: 0, max: 1e12, above: true }, 10000),
      patchNums,
      contextLength: int(u, 'context_length', w, { min: 1, max: 65536 }),
      frameConditioned: bool(u, 'frame_conditioned', w, false),
      captionView: bool(u, 'caption_view', w, false),
      rope2d: bool(u, 'rope_2d', w, false),
      pos2d: bool(u, 'pos_2d', w, false),
      posScales: bool(u, 'pos_scales', w, false),
    },
  };
  checkUnifiedConfig(cfg, source);
  return cfg;
}

/** The config.json a model folder holds for this configuration (inverse of parseUnifiedConfig). */
export function serializeUnifiedConfig(cfg: UnifiedModelConfig): Json {
  const u = cfg.unified;
  return {
    family: 'unified',
    vae: serializeVaeConfig(cfg.vae),
    unified: {
      text_vocab_size: u.textVocabSize, depth: u.depth, embed_dim: u.embedDim, num_heads: u.numHeads,
      num_kv_heads: u.numKvHeads, intermediate_size: u.intermediateSize, rms_norm_eps: u.rmsNormEps,
      rope_theta: u.ropeTheta, patch_nums: u.patchNums, context_length: u.contextLength,
      ...(u.frameConditioned ? { frame_conditioned: true } : {}),
      ...(u.captionView ? { caption_view: true } : {}),
      ...(u.rope2d ? { rope_2d: true } : {}),
      ...(u.pos2d ? { pos_2d: true } : {}),
      ...(u.posScales ? { pos_scales: true } : {}),
    },
  };
}

/** Refuses configurations the runtime cannot run, naming the offending values. */
export function checkUnifiedConfig(cfg: UnifiedModelConfig, source: string): void {
  const u = cfg.unified;
  const where = `${source} "unified"`;
  for (const k of ['textVocabSize', 'depth', 'embedDim', 'numHeads', 'numKvHeads', 'intermediateSize', 'contextLength'] as const) {
    if (!Number.isInteger(u[k]) || u[k] < 1) throw new Error(`${where}: ${snake(k)} must be a whole number >= 1, found ${u[k]}`);
  }
  if (u.embedDim % u.numHeads !== 0) throw new Error(`${where}: embed_dim ${u.embedDim} is not divisible by num_heads ${u.numHeads}`);
  if (u.numHeads % u.numKvHeads !== 0) throw new Error(`${where}: num_kv_heads ${u.numKvHeads} does not divide num_heads ${u.numHeads}`);
  const hd = headDim(u);
  if (hd % 4 !== 0 || hd > MAX_HEAD_DIM) {
    throw new Error(`${where}: the head dim embed_dim / num_heads = ${hd} must be a multiple of 4 and at most ${MAX_HEAD_DIM}`);
  }
  if (u.rope2d && hd < 6) throw new Error(`${where}: rope_2d needs a head dim of at least 6 (3 rotary pairs), found ${hd}`);
  if (!(u.rmsNormEps > 0) || !(u.ropeTheta > 0)) throw new Error(`${where}: rms_norm_eps and rope_theta must be > 0, found ${u.rmsNormEps} and ${u.ropeTheta}`);
  const pns = u.patchNums;
  if (pns[0] !== 1) throw new Error(`${where}: patch_nums must start at 1 (<image> predicts scale 0's single token), found [${pns}]`);
  if (pns.length < 2) throw new Error(`${where}: patch_nums needs at least 2 scales, found [${pns}]`);
  for (let i = 1; i < pns.length; i++) {
    if (pns[i] <= pns[i - 1]) throw new Error(`${where}: patch_nums must increase, found [${pns}]`);
  }
  checkVaeConfig(cfg.vae, pns, source);
  const least = 1 + imageTokens(pns);
  if (u.contextLength < least) {
    throw new Error(`${where}: context_length ${u.contextLength} cannot hold one image (<text> and an image of scales [${pns}] take ${least} tokens)`);
  }
}

function snake(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
