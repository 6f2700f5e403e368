/**
 * VAR family configuration: the constructor arguments of the reference's VQVAE and VAR, read from a
 * model folder's `config.json` or inferred from the tensors of a public checkpoint.
 */
import { checkedFileSync } from '../../io/model-file-error.ts';
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

/** Inclusive bounds of a numeric key; `above` makes the lower one exclusive (eps > 0). */
export interface Bounds {
  min: number;
  max: number;
  above?: boolean;
}

const show = (x: unknown) => (x === undefined ? 'nothing' : JSON.stringify(x));

/**
 * Readers of config.json keys, strict: a key that is absent takes its default (a key without one is
 * required); a key that is present must have the right type and lie in its bounds (`null` is not
 * absent). Errors name the section, the key, the value found and what is allowed.
 */
export const field = {
  /** A whole number in bounds. */
  int(o: Json, k: string, where: string, b: Bounds, dflt?: number): number {
    const x = o[k] === undefined ? dflt : o[k];
    if (!Number.isInteger(x) || (x as number) < b.min || (x as number) > b.max) {
      throw new Error(`${where}: "${k}" must be a whole number from ${b.min} to ${b.max}, found ${show(o[k])}`);
    }
    return x as number;
  },
  /** A finite number in bounds. */
  num(o: Json, k: string, where: string, b: Bounds, dflt?: number): number {
    const x = o[k] === undefined ? dflt : o[k];
    if (typeof x !== 'number' || !Number.isFinite(x) || (b.above ? x <= b.min : x < b.min) || x > b.max) {
      throw new Error(`${where}: "${k}" must be a number ${b.above ? 'above' : 'from'} ${b.min} ${b.above ? 'and at most' : 'to'} ${b.max}, found ${show(o[k])}`);
    }
    return x;
  },
  /** true or false. */
  bool(o: Json, k: string, where: string, dflt: boolean): boolean {
    const x = o[k] === undefined ? dflt : o[k];
    if (typeof x !== 'boolean') throw new Error(`${where}: "${k}" must be true or false, found ${show(o[k])}`);
    return x;
  },
  /** A list of 1 to `maxLength` whole numbers from 1 to `max`. */
  ints(o: Json, k: string, where: string, max: number, maxLength = 32): number[] {
    const x = o[k];
    if (!Array.isArray(x) || x.length === 0 || x.length > maxLength || !x.every((n) => Number.isInteger(n) && n >= 1 && n <= max)) {
      throw new Error(`${where}: "${k}" must be a list of 1 to ${maxLength} whole numbers from 1 to ${max}, found ${show(x)}`);
    }
    return x as number[];
  },
  /** Refuses keys outside `known` (a misspelt key would otherwise silently take its default). */
  only(o: Json, known: readonly string[], where: string): void {
    const unknown = Object.keys(o).filter((k) => !known.includes(k));
    if (unknown.length) throw new Error(`${where}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${known.join(', ')})`);
  },
};

/** Bounds of the sizes a config may declare: generous for real models, far from what would exhaust memory. */
export const LIMITS = {
  vocab: { min: 1, max: 1 << 20 },
  channels: { min: 1, max: 8192 },
  depth: { min: 1, max: 256 },
  heads: { min: 1, max: 256 },
  side: 1024,
  eps: { min: 0, max: 1, above: true },
} as const;

const VAE_KEYS = ['vocab_size', 'z_channels', 'ch', 'ch_mult', 'num_res_blocks', 'using_sa', 'using_mid_sa', 'quant_conv_ks', 'quant_resi', 'share_quant_resi', 'v_patch_nums', 'padding'];

/** Parses a config.json's "vae" section (`where` names it in errors); `patchNums` is the default of v_patch_nums. */
export function parseVaeConfig(vae: Json, where: string, patchNums: number[]): VaeConfig {
  const { int, num, bool, ints, only } = field;
  only(vae, VAE_KEYS, where);
  return {
    vocabSize: int(vae, 'vocab_size', where, LIMITS.vocab),
    zChannels: int(vae, 'z_channels', where, LIMITS.channels),
    ch: int(vae, 'ch', where, LIMITS.channels),
    chMult: vae.ch_mult === undefined ? [1, 1, 2, 2, 4] : ints(vae, 'ch_mult', where, 64, 8),
    numResBlocks: int(vae, 'num_res_blocks', where, { min: 1, max: 16 }, 2),
    usingSa: bool(vae, 'using_sa', where, true),
    usingMidSa: bool(vae, 'using_mid_sa', where, true),
    quantConvKs: int(vae, 'quant_conv_ks', where, { min: 1, max: 7 }, 3),
    quantResi: num(vae, 'quant_resi', where, { min: -1, max: 1 }, 0.5),
    shareQuantResi: int(vae, 'share_quant_resi', where, { min: 0, max: 64 }, 4),
    vPatchNums: vae.v_patch_nums === undefined ? patchNums : ints(vae, 'v_patch_nums', where, LIMITS.side),
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
  return checkedFileSync(source, () => parseVarConfigUnchecked(json, source));
}

function parseVarConfigUnchecked(json: unknown, source: string): VarModelConfig {
  const root = asObject(json, source);
  if (root.family !== 'var') throw new Error(`${source}: expected "family": "var", found ${JSON.stringify(root.family)}`);
  const vae = asObject(root.vae, `${source} "vae"`);
  const v = asObject(root.var, `${source} "var"`);
  const { int, num, bool, ints, only } = field;
  const w = `${source} "var"`;
  only(v, ['num_classes', 'depth', 'embed_dim', 'num_heads', 'mlp_ratio', 'norm_eps', 'shared_aln', 'attn_l2_norm', 'patch_nums'], w);
  const patchNums = ints(v, 'patch_nums', w, LIMITS.side);
  const cfg: VarModelConfig = {
    family: 'var',
    vae: parseVaeConfig(vae, `${source} "vae"`, patchNums),
    var: {
      numClasses: int(v, 'num_classes', w, { min: 1, max: 1_000_000 }),
      depth: int(v, 'depth', w, LIMITS.depth),
      embedDim: int(v, 'embed_dim', w, LIMITS.channels),
      numHeads: int(v, 'num_heads', w, LIMITS.heads),
      mlpRatio: num(v, 'mlp_ratio', w, { min: 0, max: 64, above: true }, 4),
      normEps: num(v, 'norm_eps', w, LIMITS.eps, 1e-6),
      sharedAln: bool(v, 'shared_aln', w, false),
      attnL2Norm: bool(v, 'attn_l2_norm', w, true),
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
