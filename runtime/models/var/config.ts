/**
 * VAR family configuration: the constructor arguments of the reference's VQVAE and VAR, read from a
 * model folder's `config.json` or inferred from the tensors of a public checkpoint.
 */
import { PADDING_MODES, type PaddingMode } from '../../kernels/conv2d.ts';

/** VQVAE hyperparameters (example values: the public vae_ch160v4096z32). */
export interface VaeConfig {
  vocabSize: number; // 4096
  zChannels: number; // 32 (Cvae)
  ch: number; // 160
  chMult: number[]; // [1, 1, 2, 2, 4]
  numResBlocks: number; // 2
  usingSa: boolean; // true
  usingMidSa: boolean; // true
  quantConvKs: number; // 3
  quantResi: number; // 0.5: phi(h) = (1 - 0.5) h + 0.5 conv(h)
  shareQuantResi: number; // 4 shared phi convolutions
  vPatchNums: number[]; // [1, 2, 3, 4, 5, 6, 8, 10, 13, 16]
  /**
   * The decode path's padding: the quantizer's upsampling of each token map and its phi convolutions,
   * post_quant_conv and the decoder. 'zeros' is VAR's (bicubic taps clamped at the edges, convolutions
   * padded with zeros); 'circular' puts them all on the torus, so any tokens decode to a texture that
   * tiles without a seam. The encoder pads with zeros either way.
   */
  padding: PaddingMode; // 'zeros'
}

/** VAR transformer hyperparameters (example values: var_d16). */
export interface VarConfig {
  numClasses: number; // 1000
  depth: number; // 16
  embedDim: number; // 1024
  numHeads: number; // 16
  mlpRatio: number; // 4
  normEps: number; // 1e-6
  sharedAln: boolean; // false
  attnL2Norm: boolean; // true
  patchNums: number[]; // [1, 2, 3, 4, 5, 6, 8, 10, 13, 16]
}

export interface VarModelConfig {
  family: 'var';
  vae: VaeConfig;
  var: VarConfig;
}

/** The 256-px and 512-px schedules of the public checkpoints, by their token count. */
export const KNOWN_SCHEDULES: Record<number, number[]> = {
  680: [1, 2, 3, 4, 5, 6, 8, 10, 13, 16],
  2240: [1, 2, 3, 4, 6, 9, 13, 18, 24, 32],
};

export function tokenCount(patchNums: readonly number[]): number {
  return patchNums.reduce((n, pn) => n + pn * pn, 0);
}

/** Pixels per side of generated images: last patch number times the VQVAE's downsampling. */
export function imageSize(cfg: VarModelConfig): number {
  return cfg.var.patchNums[cfg.var.patchNums.length - 1] * 2 ** (cfg.vae.chMult.length - 1);
}

export type Json = Record<string, unknown>;

/** Readers of config.json fields; errors name the section, the key and what was found. */
export const field = {
  num(o: Json, k: string, where: string, dflt?: number): number {
    const x = o[k] ?? dflt;
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`${where}: expected a number for "${k}", found ${JSON.stringify(o[k])}`);
    return x;
  },
  bool(o: Json, k: string, dflt: boolean): boolean {
    return typeof o[k] === 'boolean' ? (o[k] as boolean) : dflt;
  },
  ints(o: Json, k: string, where: string): number[] {
    const x = o[k];
    if (!Array.isArray(x) || x.length === 0 || !x.every((n) => Number.isInteger(n) && n > 0)) {
      throw new Error(`${where}: expected "${k}" as a list of positive integers, found ${JSON.stringify(x)}`);
    }
    return x as number[];
  },
};

/** Parses a config.json's "vae" section (`where` names it in errors); `patchNums` is the default of v_patch_nums. */
export function parseVaeConfig(vae: Json, where: string, patchNums: number[]): VaeConfig {
  const { num, bool, ints } = field;
  return {
    vocabSize: num(vae, 'vocab_size', where),
    zChannels: num(vae, 'z_channels', where),
    ch: num(vae, 'ch', where),
    chMult: Array.isArray(vae.ch_mult) ? ints(vae, 'ch_mult', where) : [1, 1, 2, 2, 4],
    numResBlocks: num(vae, 'num_res_blocks', where, 2),
    usingSa: bool(vae, 'using_sa', true),
    usingMidSa: bool(vae, 'using_mid_sa', true),
    quantConvKs: num(vae, 'quant_conv_ks', where, 3),
    quantResi: num(vae, 'quant_resi', where, 0.5),
    shareQuantResi: num(vae, 'share_quant_resi', where, 4),
    vPatchNums: Array.isArray(vae.v_patch_nums) ? ints(vae, 'v_patch_nums', where) : patchNums,
    padding: paddingMode(vae, where),
  };
}

/** The "padding" of a "vae" section: "zeros" (also when absent, as in VAR's configs) or "circular". */
function paddingMode(vae: Json, where: string): PaddingMode {
  const x = vae.padding ?? 'zeros';
  if (!PADDING_MODES.includes(x as PaddingMode)) {
    throw new Error(`${where}: expected "padding" to be ${PADDING_MODES.map((m) => JSON.stringify(m)).join(' or ')}, found ${JSON.stringify(vae.padding)}`);
  }
  return x as PaddingMode;
}

/** Parses a model folder's config.json (snake_case constructor arguments) with clear errors. */
export function parseVarConfig(json: unknown, source = 'config.json'): VarModelConfig {
  const root = asObject(json, source);
  if (root.family !== 'var') throw new Error(`${source}: expected "family": "var", found ${JSON.stringify(root.family)}`);
  const vae = asObject(root.vae, `${source} "vae"`);
  const v = asObject(root.var, `${source} "var"`);
  const { num, bool, ints } = field;
  const w = `${source} "var"`;
  const patchNums = ints(v, 'patch_nums', w);
  const cfg: VarModelConfig = {
    family: 'var',
    vae: parseVaeConfig(vae, `${source} "vae"`, patchNums),
    var: {
      numClasses: num(v, 'num_classes', w),
      depth: num(v, 'depth', w),
      embedDim: num(v, 'embed_dim', w),
      numHeads: num(v, 'num_heads', w),
      mlpRatio: num(v, 'mlp_ratio', w, 4),
      normEps: num(v, 'norm_eps', w, 1e-6),
      sharedAln: bool(v, 'shared_aln', false),
      attnL2Norm: bool(v, 'attn_l2_norm', true),
      patchNums,
    },
  };
  checkConfig(cfg, source);
  return cfg;
}

/** The config.json a model folder holds for this configuration (inverse of parseVarConfig). */
export function serializeVarConfig(cfg: VarModelConfig): Json {
  const { vae, var: v } = cfg;
  return {
    family: 'var',
    vae: serializeVaeConfig(vae),
    var: {
      num_classes: v.numClasses, depth: v.depth, embed_dim: v.embedDim, num_heads: v.numHeads,
      mlp_ratio: v.mlpRatio, norm_eps: v.normEps, shared_aln: v.sharedAln, attn_l2_norm: v.attnL2Norm,
      patch_nums: v.patchNums,
    },
  };
}

/** config.json's "vae" section for this VQVAE (inverse of parseVaeConfig). */
export function serializeVaeConfig(vae: VaeConfig): Json {
  return {
    vocab_size: vae.vocabSize, z_channels: vae.zChannels, ch: vae.ch, ch_mult: vae.chMult,
    num_res_blocks: vae.numResBlocks, using_sa: vae.usingSa, using_mid_sa: vae.usingMidSa,
    quant_conv_ks: vae.quantConvKs, quant_resi: vae.quantResi, share_quant_resi: vae.shareQuantResi,
    v_patch_nums: vae.vPatchNums, padding: vae.padding,
  };
}

/** Refuses configurations the runtime cannot run, naming the offending values. */
export function checkConfig(cfg: VarModelConfig, source: string): void {
  const { vae, var: v } = cfg;
  if (v.embedDim % v.numHeads !== 0) throw new Error(`${source}: embed_dim ${v.embedDim} is not divisible by num_heads ${v.numHeads}`);
  for (let i = 1; i < v.patchNums.length; i++) {
    if (v.patchNums[i] <= v.patchNums[i - 1]) throw new Error(`${source}: patch_nums must increase, found [${v.patchNums}]`);
  }
  if (v.patchNums.length < 2) throw new Error(`${source}: patch_nums needs at least 2 scales, found [${v.patchNums}]`);
  checkVaeConfig(vae, v.patchNums, source);
}

/** Refuses a VQVAE the runtime cannot run with a transformer of scales `patchNums`. */
export function checkVaeConfig(vae: VaeConfig, patchNums: readonly number[], source: string): void {
  if (vae.vPatchNums.join() !== patchNums.join()) {
    throw new Error(`${source}: the VQVAE's v_patch_nums [${vae.vPatchNums}] differ from the transformer's patch_nums [${patchNums}]`);
  }
  if (vae.ch % 32 !== 0) throw new Error(`${source}: VQVAE ch ${vae.ch} must be a multiple of 32 (GroupNorm with 32 groups)`);
}

/** Pixels per side of the VQVAE's images: its full token map times its downsampling. */
export function vaeImageSize(vae: VaeConfig): number {
  return vae.vPatchNums[vae.vPatchNums.length - 1] * 2 ** (vae.chMult.length - 1);
}

export function asObject(x: unknown, where: string): Json {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new Error(`${where}: expected an object, found ${JSON.stringify(x)}`);
  return x as Json;
}
