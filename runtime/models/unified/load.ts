/**
 * Loading unified models from a model folder (`config.json`, `tokenizer.json`, `weights.safetensors`;
 * the conformance fixture is one) at a Node path or an http(s) URL.
 */
import type { Gpu } from '../../gpu/index.ts';
import { openSafetensors, openSource, type ProgressFn } from '../../io/index.ts';
import { readJson } from '../read-json.ts';
import { parseUnifiedConfig } from './config.ts';
import { UnifiedModel, type UnifiedLoadOptions } from './model.ts';
import { UnifiedTokenizer } from './tokenizer.ts';

export interface UnifiedFolderOptions extends UnifiedLoadOptions {
  /** Download progress of the weights (bytes loaded, bytes in all). */
  onProgress?: ProgressFn;
}

/** Loads a unified model folder from a Node path or an http(s) URL. */
export async function loadUnifiedFolder(gpu: Gpu, dir: string, opts: UnifiedFolderOptions = {}): Promise<UnifiedModel> {
  const base = dir.replace(/\/+$/, '');
  const config = parseUnifiedConfig(await readJson(`${base}/config.json`), `${base}/config.json`);
  const tokenizer = UnifiedTokenizer.fromJson(await readJson(`${base}/tokenizer.json`), `${base}/tokenizer.json`, config.unified.textVocabSize);
  const name = `${base}/weights.safetensors`;
  const weights = await openSafetensors(await openSource(name, { onProgress: opts.onProgress }));
  return UnifiedModel.load(gpu, config, tokenizer, { weights, vaePrefix: 'vae.', unifiedPrefix: 'unified.', name }, opts);
}
