/**
 * The multi-scale VQVAE's configuration, shared by both families: the constructor arguments of VAR's
 * VQVAE (the "vae" section of a model folder's config.json), and what follows from them.
 */
import { PADDING_MODES, type PaddingMode } from '../../kernels/conv2d.ts';
import { field, LIMITS, type Json } from '../config-fields.ts';

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

export function tokenCount(patchNums: readonly number[]): number {
  return patchNums.reduce((n, pn) => n + pn * pn, 0);
}

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

/** config.json's "vae" section for this VQVAE (inverse of parseVaeConfig). */
export function serializeVaeConfig(vae: VaeConfig): Json {
  return {
    vocab_size: vae.vocabSize, z_channels: vae.zChannels, ch: vae.ch, ch_mult: vae.chMult,
    num_res_blocks: vae.numResBlocks, using_sa: vae.usingSa, using_mid_sa: vae.usingMidSa,
    quant_conv_ks: vae.quantConvKs, quant_resi: vae.quantResi, share_quant_resi: vae.shareQuantResi,
    v_patch_nums: vae.vPatchNums, padding: vae.padding,
  };
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
