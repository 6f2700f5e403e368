/**
 * VAR family configuration: the constructor arguments of the reference's VQVAE and VAR, read from a
 * model folder's `config.json` or inferred from the tensors of a public checkpoint.
 */
import { checkedFileSync } from '../../io/model-file-error.ts';
import { asObject, field, LIMITS, type Json } from '../config-fields.ts';
import { checkVaeConfig, parseVaeConfig, serializeVaeConfig, type VaeConfig } from '../vqvae/config.ts';

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

/** Pixels per side of generated images: last patch number times the VQVAE's downsampling. */
export function imageSize(cfg: VarModelConfig): number {
  return cfg.var.patchNums[cfg.var.patchNums.length - 1] * 2 ** (cfg.vae.chMult.length - 1);
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

