/** Command-line options that choose a model, shared by the tools. */
import { existsSync } from 'node:fs';
import type { Gpu } from '../gpu/index.ts';
import { loadModelFolder, type AnyModel } from '../models/load.ts';
import { decodeOnTorus } from '../models/vqvae/vqvae.ts';
import type { WeightDType } from '../models/loader.ts';
import { loadVarCheckpoints } from '../models/var/load.ts';
import { BUILTIN_MODEL } from './builtin.ts';

export const MODEL_OPTIONS = {
  model: { type: 'string' },
  vae: { type: 'string' },
  var: { type: 'string' },
  dtype: { type: 'string', default: 'f32' },
  'patch-nums': { type: 'string' },
  seamless: { type: 'boolean' },
} as const;

export interface ModelArgs {
  model?: string;
  vae?: string;
  var?: string;
  dtype?: string;
  'patch-nums'?: string;
  /** Decode on the torus (circular padding), whatever padding the model was trained with. */
  seamless?: boolean;
}

export function usageError(message: string, usage: string): Error {
  return new Error(`${message}\n${usage}`);
}

/** "3,7" → [3, 7], refusing anything that is not a list of whole numbers. */
export function parseNumberList(flag: string, text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.some((p) => p === '') || nums.some((n) => !Number.isInteger(n))) {
    throw new Error(`${flag}: expected whole numbers separated by commas, found '${text}'`);
  }
  return nums;
}

export function parseDType(text: string | undefined): WeightDType {
  if (text === undefined || text === 'f32' || text === 'f16') return text ?? 'f32';
  throw new Error(`--dtype: expected f32 or f16, found '${text}'`);
}

/** A model folder of either family (--model DIR), the public VAR checkpoints (--vae, --var), or else the built-in model. */
export async function loadModelFromArgs(gpu: Gpu, a: ModelArgs, usage: string): Promise<AnyModel> {
  const model = await loadModel(gpu, a, usage);
  if (a.seamless) decodeOnTorus(model);
  return model;
}

async function loadModel(gpu: Gpu, a: ModelArgs, usage: string): Promise<AnyModel> {
  const dtype = parseDType(a.dtype);
  const patchNums = a['patch-nums'] ? parseNumberList('--patch-nums', a['patch-nums']) : undefined;
  if (a.model) {
    if (a.vae || a.var) throw usageError('give either --model DIR or --vae and --var, not both', usage);
    return loadModelFolder(gpu, a.model, { dtype });
  }
  if (a.vae && a.var) return loadVarCheckpoints(gpu, a.vae, a.var, { dtype, patchNums });
  if (a.vae || a.var) throw usageError('--vae and --var go together (the two public checkpoints)', usage);
  if (!existsSync(`${BUILTIN_MODEL}/config.json`)) throw usageError(`no model given and the built-in model is missing (expected ${BUILTIN_MODEL})`, usage);
  return loadModelFolder(gpu, BUILTIN_MODEL, { dtype });
}
