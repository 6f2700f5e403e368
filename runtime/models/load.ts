/**
 * One entry point for model folders of any family: reads `config.json`'s "family" and hands the folder
 * to that family's loader (VAR or unified).
 */
import type { Gpu } from '../gpu/index.ts';
import type { ProgressFn } from '../io/index.ts';
import type { WeightDType } from './loader.ts';
import { readJson } from './read-json.ts';
import { loadUnifiedFolder } from './unified/load.ts';
import type { UnifiedModel } from './unified/model.ts';
import { loadVarFolder } from './var/load.ts';
import type { VarModel } from './var/model.ts';

export type AnyModel = VarModel | UnifiedModel;

export interface ModelFolderOptions {
  dtype?: WeightDType;
  onProgress?: ProgressFn;
}

/** The families a model folder may hold. */
export const FAMILIES = ['var', 'unified'] as const;

/**
 * Loads a model folder (Node path or URL) of whichever family its config.json names.
 *
 * @example
 *   const model = await loadModelFolder(gpu, 'tests/fixtures/unified-tiny');
 *   model.config.family; // 'unified'
 */
export async function loadModelFolder(gpu: Gpu, dir: string, opts: ModelFolderOptions = {}): Promise<AnyModel> {
  const base = dir.replace(/\/+$/, '');
  const json = await readJson(`${base}/config.json`);
  const family = typeof json === 'object' && json !== null ? (json as { family?: unknown }).family : undefined;
  if (family === 'var') return loadVarFolder(gpu, base, opts);
  if (family === 'unified') return loadUnifiedFolder(gpu, base, opts);
  throw new Error(`${base}/config.json: expected "family" to be one of ${FAMILIES.map((f) => `"${f}"`).join(', ')}, found ${JSON.stringify(family)}`);
}
