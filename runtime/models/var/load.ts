/**
 * Loading VAR models: a model folder (`config.json` + `weights.safetensors`, names prefixed `vae.` and
 * `var.`; every conformance fixture folder is one) from a Node path or a URL, or the two public
 * `.pth` checkpoints with the configuration inferred from their tensors.
 */
import type { Gpu } from '../../gpu/index.ts';
import { openPth, openSafetensors, openSource, type ProgressFn } from '../../io/index.ts';
import { readJson } from '../read-json.ts';
import { parseVarConfig } from './config.ts';
import { inferVarConfig } from './infer.ts';
import { VarModel, type VarLoadOptions } from './model.ts';

export interface VarFolderOptions extends VarLoadOptions {
  /** Download progress of the weights (bytes loaded, bytes in all). */
  onProgress?: ProgressFn;
}

/** Loads a model folder from a Node path or an http(s) URL. */
export async function loadVarFolder(gpu: Gpu, dir: string, opts: VarFolderOptions = {}): Promise<VarModel> {
  const base = dir.replace(/\/+$/, '');
  const config = parseVarConfig(await readJson(`${base}/config.json`), `${base}/config.json`);
  const weights = await openSafetensors(await openSource(`${base}/weights.safetensors`, { onProgress: opts.onProgress }));
  return VarModel.load(gpu, config, { vae: weights, vaePrefix: 'vae.', var: weights, varPrefix: 'var.', name: `${base}/weights.safetensors` }, opts);
}

export interface VarCheckpointOptions extends VarFolderOptions {
  /** Overrides the scale schedule inferred from pos_1LC. */
  patchNums?: number[];
}

/** Loads the public checkpoints (`vae_ch160v4096z32.pth` + `var_d16.pth`, or safetensors of the same state dicts). */
export async function loadVarCheckpoints(gpu: Gpu, vaePath: string, varPath: string, opts: VarCheckpointOptions = {}): Promise<VarModel> {
  const open = async (path: string) => {
    const src = await openSource(path, { onProgress: opts.onProgress });
    return path.endsWith('.safetensors') ? openSafetensors(src) : openPth(src);
  };
  const vae = await open(vaePath);
  const v = await open(varPath);
  const config = inferVarConfig(vae, v, { patchNums: opts.patchNums, vaeName: vaePath, varName: varPath });
  return VarModel.load(gpu, config, { vae, vaePrefix: '', var: v, varPrefix: '', name: varPath }, opts);
}
