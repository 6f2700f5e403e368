/**
 * Infers a VAR configuration from the tensors of the public checkpoints (`vae_ch160v4096z32.pth`,
 * `var_d16.pth` ... `var_d36.pth`), which ship without one: depth from the block count, width from
 * `class_emb`, heads from `scale_mul_1H11`, vocabulary from `head`, Cvae from `word_embed`, and the
 * scale schedule from the length of `pos_1LC`.
 */
import type { TensorSource } from '../loader.ts';
import { tokenCount } from '../vqvae/config.ts';
import { checkConfig, KNOWN_SCHEDULES, type VarModelConfig } from './config.ts';

export interface InferOptions {
  /** Overrides the schedule (must hold as many tokens as pos_1LC). */
  patchNums?: number[];
  vaeName?: string;
  varName?: string;
}

export function inferVarConfig(vae: TensorSource, v: TensorSource, opts: InferOptions = {}): VarModelConfig {
  const vaeName = opts.vaeName ?? 'VQVAE checkpoint';
  const varName = opts.varName ?? 'VAR checkpoint';
  const shape = (src: TensorSource, file: string, name: string, rank: number): readonly number[] => {
    const info = src.tensors.get(name);
    if (!info) {
      throw new Error(`${file}: tensor '${name}' not found: is this a ${file === vaeName ? 'VQVAE' : 'VAR'} state dict? (it has ${src.tensors.size} tensors, e.g. ${[...src.tensors.keys()].slice(0, 3).join(', ')})`);
    }
    if (info.shape.length !== rank) throw new Error(`${file}: tensor '${name}' has shape [${info.shape}], expected ${rank} dims`);
    return info.shape;
  };

  const [classRows, C] = shape(v, varName, 'class_emb.weight', 2);
  let depth = 0;
  while (v.tensors.has(`blocks.${depth}.attn.mat_qkv.weight`)) depth++;
  if (depth === 0) throw new Error(`${varName}: no transformer blocks found (expected 'blocks.0.attn.mat_qkv.weight')`);
  const attnL2Norm = v.tensors.has('blocks.0.attn.scale_mul_1H11');
  const numHeads = attnL2Norm ? shape(v, varName, 'blocks.0.attn.scale_mul_1H11', 4)[1] : Math.max(1, Math.round(C / 64));
  const [V] = shape(v, varName, 'head.weight', 2);
  const [, cvae] = shape(v, varName, 'word_embed.weight', 2);
  const [hidden] = shape(v, varName, 'blocks.0.ffn.fc1.weight', 2);
  const [, L] = shape(v, varName, 'pos_1LC', 3);

  let patchNums = opts.patchNums;
  if (patchNums) {
    if (tokenCount(patchNums) !== L) {
      throw new Error(`--patch-nums ${patchNums.join(',')} holds ${tokenCount(patchNums)} tokens, but the checkpoint's pos_1LC has ${L}`);
    }
  } else {
    patchNums = KNOWN_SCHEDULES[L];
    if (!patchNums) {
      throw new Error(`${varName}: pos_1LC has ${L} tokens, which matches no known schedule (680: 256 px, 2240: 512 px); pass --patch-nums`);
    }
  }
  const [lvls] = shape(v, varName, 'lvl_embed.weight', 2);
  if (lvls !== patchNums.length) throw new Error(`${varName}: lvl_embed has ${lvls} levels, the schedule [${patchNums}] has ${patchNums.length}`);

  const [vocab, zChannels] = shape(vae, vaeName, 'quantize.embedding.weight', 2);
  if (vocab !== V || zChannels !== cvae) {
    throw new Error(`${vaeName} and ${varName} do not belong together: the VQVAE has vocabulary ${vocab} and Cvae ${zChannels}, the VAR expects ${V} and ${cvae}`);
  }
  const [ch] = shape(vae, vaeName, 'encoder.conv_in.weight', 4);
  const chMult: number[] = [];
  while (vae.tensors.has(`decoder.up.${chMult.length}.block.0.conv1.weight`)) {
    chMult.push(shape(vae, vaeName, `decoder.up.${chMult.length}.block.0.conv1.weight`, 4)[0] / ch);
  }
  let numResBlocks = 0;
  while (vae.tensors.has(`decoder.up.0.block.${numResBlocks}.conv1.weight`)) numResBlocks++;
  let shareQuantResi = 0;
  while (vae.tensors.has(`quantize.quant_resi.qresi_ls.${shareQuantResi}.weight`)) shareQuantResi++;
  if (shareQuantResi === 0 && vae.tensors.has('quantize.quant_resi.qresi.weight')) shareQuantResi = 1;
  const quantConvKs = shape(vae, vaeName, 'quant_conv.weight', 4)[2];

  const cfg: VarModelConfig = {
    family: 'var',
    vae: {
      vocabSize: vocab, zChannels, ch, chMult, numResBlocks: numResBlocks - 1,
      usingSa: vae.tensors.has(`decoder.up.${chMult.length - 1}.attn.0.qkv.weight`),
      usingMidSa: vae.tensors.has('decoder.mid.attn_1.qkv.weight'),
      quantConvKs, quantResi: 0.5, shareQuantResi, vPatchNums: patchNums, padding: 'zeros',
    },
    var: {
      numClasses: classRows - 1, depth, embedDim: C, numHeads, mlpRatio: hidden / C, normEps: 1e-6,
      sharedAln: v.tensors.has('shared_ada_lin.1.weight'), attnL2Norm, patchNums,
    },
  };
  checkConfig(cfg, varName);
  return cfg;
}
