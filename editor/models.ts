/**
 * Models as the editor sees them: a folder URL (relative to the page, so the built-in model resolves
 * wherever the site is served from, or on another origin that allows it) of either family, loaded with
 * progress and kept in the browser's cache for the next visit (model-cache.ts); files dropped on the page (a model folder, or VAR's two public checkpoints), read in place
 * from the Blobs; and a one-line description for the pane. VAR models load only their generation half
 * (no VQVAE encoder); unified models load whole (images are inputs too).
 */
import {
  inferVarConfig,
  openPth,
  openSafetensors,
  openSource,
  parseUnifiedConfig,
  parseVarConfig,
  UnifiedModel,
  UnifiedTokenizer,
  VarModel,
  type AnyModel,
  type Gpu,
  type ProgressFn,
  type TensorFile,
} from '../runtime/index.ts';
import { MAX_JSON_BYTES } from '../runtime/models/read-json.ts';
import { folderFiles } from './model-cache.ts';

/** A model loaded from a folder URL, and what its files' trip said. */
export interface FolderLoad {
  model: AnyModel;
  /** Files read from the browser's cache instead of downloaded. */
  cached: number;
  /** Files that could not be kept for the next visit, and why. */
  warnings: string[];
}

/**
 * Loads the model folder at `url` (resolved against the page), of whichever family its config.json
 * names, through the browser's cache (model-cache.ts).
 */
export async function loadModelFolder(gpu: Gpu, url: string, onProgress: ProgressFn): Promise<FolderLoad> {
  let absolute: URL;
  try {
    absolute = new URL(url, document.baseURI);
  } catch {
    throw new Error(`'${url}' is not a URL`);
  }
  if (!/^https?:$/.test(absolute.protocol)) throw new Error(`expected an http(s) URL of a model folder, found '${url}'`);
  const base = absolute.href.replace(/\/*$/, '/');
  const config = await folderFiles(base, ['config.json']);
  let family: unknown;
  try {
    family = (JSON.parse(await config.files[0].text()) as { family?: unknown } | null)?.family;
  } catch (e) {
    throw new Error(`${base}config.json: not valid JSON (${(e as Error).message})`);
  }
  const rest = await folderFiles(base, family === 'unified' ? ['tokenizer.json', 'weights.safetensors'] : ['weights.safetensors'], onProgress);
  const model = await loadDroppedModel(gpu, [...config.files, ...rest.files]);
  return { model, cached: config.cached + rest.cached, warnings: [...config.warnings, ...rest.warnings] };
}

/**
 * Loads dropped files: a model folder (`config.json` and one `.safetensors` with `vae.`/`var.` names, or
 * a unified one with `tokenizer.json` and `vae.`/`unified.` names) or the two public checkpoints (`.pth`
 * or `.safetensors`, told apart by 'vae' in one file's name).
 *
 * @example
 *   await loadDroppedModel(gpu, [configJson, weightsSafetensors]);
 *   await loadDroppedModel(gpu, [vaeCh160v4096z32Pth, varD16Pth]); // configuration inferred from the tensors
 */
export async function loadDroppedModel(gpu: Gpu, files: readonly File[]): Promise<AnyModel> {
  for (const f of files) {
    if (/\.json$/i.test(f.name) && f.size > MAX_JSON_BYTES) throw new Error(`${f.name}: ${f.size} bytes, expected a JSON file of at most ${MAX_JSON_BYTES}`);
  }
  const config = files.find((f) => f.name === 'config.json');
  const tensors = files.filter((f) => /\.(safetensors|pth)$/i.test(f.name));
  if (config && tensors.length === 1 && /\.safetensors$/i.test(tensors[0].name)) {
    let json: unknown;
    try {
      json = JSON.parse(await config.text());
    } catch (e) {
      throw new Error(`config.json: not valid JSON (${(e as Error).message})`);
    }
    const weights = await open(tensors[0]);
    if ((json as { family?: unknown } | null)?.family === 'unified') {
      const tokenizer = files.find((f) => f.name === 'tokenizer.json');
      if (!tokenizer) throw new Error(`a unified model folder needs tokenizer.json beside config.json, found ${files.map((f) => f.name).join(', ')}`);
      const cfg = parseUnifiedConfig(json, config.name);
      const tok = UnifiedTokenizer.fromJson(JSON.parse(await tokenizer.text()), tokenizer.name, cfg.unified.textVocabSize);
      return UnifiedModel.load(gpu, cfg, tok, { weights, vaePrefix: 'vae.', unifiedPrefix: 'unified.', name: tensors[0].name });
    }
    return VarModel.load(gpu, parseVarConfig(json, config.name), { vae: weights, vaePrefix: 'vae.', var: weights, varPrefix: 'var.', name: tensors[0].name }, { encoder: false });
  }
  const vae = tensors.find((f) => /vae/i.test(f.name));
  const v = tensors.find((f) => f !== vae);
  if (!config && tensors.length === 2 && vae && v) {
    const [vaeFile, varFile] = [await open(vae), await open(v)];
    const cfg = inferVarConfig(vaeFile, varFile, { vaeName: vae.name, varName: v.name });
    return VarModel.load(gpu, cfg, { vae: vaeFile, vaePrefix: '', var: varFile, varPrefix: '', name: v.name }, { encoder: false });
  }
  throw new Error(
    'expected a model folder (config.json and one .safetensors) or the two checkpoints (a vae…pth and a var…pth), ' +
      `found ${files.map((f) => f.name).join(', ') || 'no files'}`,
  );
}

/**
 * 'var-tiny: 10 classes, 64 px, 4 scales, 17.3 MB' or 'builtin: text to image, 64 px, 5 scales, 9.6 MB'.
 */
export function describeModel(name: string, model: AnyModel): string {
  const short = name.replace(/\/+$/, '').split('/').pop() || name;
  const mb = (model.weightBytes.total / 1e6).toFixed(1);
  if (model.config.family === 'unified') return `${short}: text to image, ${model.imageSize} px, ${model.config.unified.patchNums.length} scales, ${mb} MB`;
  const v = model.config.var;
  return `${short}: ${v.numClasses} classes, ${model.imageSize} px, ${v.patchNums.length} scales, ${mb} MB`;
}

async function open(file: File): Promise<TensorFile> {
  const src = await openSource(file);
  return /\.safetensors$/i.test(file.name) ? openSafetensors(src) : openPth(src);
}
