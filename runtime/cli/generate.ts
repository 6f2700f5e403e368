/**
 * The texture generation tool: the runtime headless in Node, PNGs out.
 *
 *   VAR:      npm run generate -- --model DIR | --vae VAE.pth --var VAR.pth  --class 3,7 --seed 0 --cfg 1.5
 *                 --top-k 1 [--top-p P] [--temperature T] [--dtype f16] [--patch-nums 1,2,3] --out out.png
 *                 [--dump tensors.safetensors]
 *   unified:  npm run generate -- [--model DIR] --prompt "red and blue checker" [--image in.png] ... --out out.png
 *   clip:     either of the above with --frames 48 [--keyframe-every N] [--loop] --out clip/
 *   material: either image command with --maps albedo,normal,height,roughness,ao [--size 256] [--glb] --out dir/
 *   list:     --prompts list.txt (one prompt a line) in place of --prompt: one material per line into --out dir/
 *   variations: any image command with --variations N: N images in one batch, image b with seed + b
 *
 * A clip from a unified model trained on clips generates every frame from the one before (the default
 * --keyframe-every 1 there); other models blend between keyframes, one every 8 frames by default.
 *
 * With a unified model, `--prompt` alone is text to image, and `--image` with `--prompt` edits the
 * image under the prompt as an instruction. The PNG shows the batch side by side; the dump holds
 * `scale{s}.idx` (I32 [B, pn²]) and `image` (F32 [B, 3, H, W] in [0, 1]) exactly as the session
 * produced them. One progress line per scale.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Gpu } from '../gpu/index.ts';
import { writeSafetensors } from '../io/index.ts';
import { MAX_BATCH } from '../generate/unified-sequence.ts';
import { UnifiedSession } from '../generate/unified-session.ts';
import { SAMPLING_DEFAULTS } from '../generate/sampling.ts';
import { VarSession } from '../generate/var-session.ts';
import type { SamplingSettings } from '../generate/sampling.ts';
import type { UnifiedModel } from '../models/unified/model.ts';
import type { VarModel } from '../models/var/model.ts';
import { defaultKeyframeEvery, familyKeyframeSource } from '../video/sources.ts';
import { parseMapKinds, type MapKind } from '../generate/material.ts';
import { writeClip } from './clip.ts';
import { GLB_MESHES, parseTextureSize, renderTextures, textureName, writeMaterialGlb, writeTextures, type GlbMesh } from './material-out.ts';
import { decodePng, encodePng, imagesToRgba } from '../io/png.ts';
import { loadModelFromArgs, MODEL_OPTIONS, parseNumberList, usageError } from './model-args.ts';

const USAGE = `usage: npm run generate -- (--model DIR | --vae VAE.pth --var VAR.pth) --class 3,7 [--seed 0]
       [--cfg 1.5] [--top-k 900] [--top-p 0.96] [--temperature 1] [--dtype f32|f16] [--patch-nums 1,2,3,4]
       --out out.png [--dump tensors.safetensors] [--seamless]
   or: npm run generate -- [--model UNIFIED_DIR] --prompt "text" [--image in.png] [--seed 0] [--cfg 0]
       [--top-k 16] [--top-p 0.9] [--temperature 1] [--dtype f32|f16] --out out.png [--dump tensors.safetensors]
   clip: add --frames 48 [--keyframe-every N] [--loop] with --out DIR/ (numbered PNGs; N defaults to 1 for a
       model trained on clips, else 8); --next-frame-top-k K (default 1: greedy) is the top-k of the finest scale
       of a frame that continues the one before (models trained on clips)
   --model defaults to the built-in model (models/builtin) when no model is given
   --seamless decodes on the torus (the quantizer's upsampling and the decoder wrap around) so the texture
       tiles without a seam; a model whose config.json says "padding": "circular" (the built-in one) always does
   material: add --maps albedo,normal,height,roughness,ao with --out DIR/ (writes NAME_albedo.png, NAME_normal.png,
       ...; NAME is --name or the prompt's words); the maps are estimated from the albedo on the GPU and tile as it does
   --size N resizes the outputs to N x N on the torus (wrap-around bicubic: a seamless texture stays seamless;
       resizing adds no detail)
   --prompts FILE (in place of --prompt, unified models) makes one material per line of FILE into --out DIR/
       (blank lines and lines starting with # are skipped), with --maps (default albedo) and --glb as above
   --glb writes DIR/NAME.glb too: the material (albedo, normal, occlusion-roughness-metallic) on --mesh plane|cube|
       sphere|torus-knot (default plane), the texture repeated --tiling N times (default 1)
   --variations N generates N images of the prompt (or of one --class) in one batch through the transformer,
       image b exactly as --seed S+b would make it; writes the sheet (--out X.png) and X-0.png .. X-(N-1).png,
       or with --maps each map as DIR/NAME-b_KIND.png and the albedo sheet DIR/NAME_sheet.png`;

interface ClipValues {
  frames?: string;
  'keyframe-every'?: string;
  'next-frame-top-k'?: string;
  loop?: boolean;
}

interface Values {
  class?: string;
  prompt?: string;
  image?: string;
  out?: string;
  dump?: string;
  seed?: string;
  maps?: string;
  size?: string;
  name?: string;
  glb?: boolean;
  mesh?: string;
  tiling?: string;
  prompts?: string;
  variations?: string;
}

/** The maps a .glb's material is made of. */
const GLB_MAPS: readonly MapKind[] = ['albedo', 'normal', 'roughness', 'ao'];

/** What either family's run hands back to be written out. */
interface Generated {
  image: Float32Array;
  batch: number;
  size: number;
  tokens: Int32Array[];
  patchNums: number[];
  metadata: Record<string, string>;
}


async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...MODEL_OPTIONS,
      class: { type: 'string' },
      prompt: { type: 'string' },
      prompts: { type: 'string' },
      image: { type: 'string' },
      seed: { type: 'string', default: '0' },
      cfg: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      temperature: { type: 'string' },
      out: { type: 'string' },
      dump: { type: 'string' },
      frames: { type: 'string' },
      'keyframe-every': { type: 'string' },
      'next-frame-top-k': { type: 'string' },
      loop: { type: 'boolean' },
      maps: { type: 'string' },
      size: { type: 'string' },
      name: { type: 'string' },
      glb: { type: 'boolean' },
      mesh: { type: 'string', default: 'plane' },
      tiling: { type: 'string', default: '1' },
      variations: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return void console.log(USAGE);
  if (!values.out) throw usageError('--out is required', USAGE);
  if (values.prompts !== undefined && (values.prompt !== undefined || values.frames !== undefined || values.image !== undefined)) {
    throw usageError('--prompts makes one texture per line: use it without --prompt, --image or --frames', USAGE);
  }
  const prompts = values.prompts === undefined ? undefined : await readPromptList(values.prompts);
  const kinds = values.maps === undefined ? (values.glb ? [] : prompts ? ['albedo' as const] : undefined) : parseMapKinds(values.maps);
  const tiling = Number(values.tiling);
  if (!Number.isInteger(tiling) || tiling < 1 || tiling > 64) throw usageError(`--tiling: expected a whole number from 1 to 64, found '${values.tiling}'`, USAGE);
  if (values.glb && !(GLB_MESHES as readonly string[]).includes(values.mesh!)) throw usageError(`--mesh: expected one of ${GLB_MESHES.join(', ')}, found '${values.mesh}'`, USAGE);
  const requestedSide = values.size === undefined ? undefined : parseTextureSize(values.size);
  const count = parseVariations(values);
  if (values['next-frame-top-k'] !== undefined && values.frames === undefined) throw usageError('--next-frame-top-k samples the frames of a clip: use it with --frames', USAGE);
  if (values.frames !== undefined && (kinds || requestedSide)) throw usageError('--maps and --size make textures; a clip (--frames) writes frames as generated', USAGE);
  const gpu = await Gpu.create();
  try {
    const model = await loadModelFromArgs(gpu, values, USAGE);
    const d = SAMPLING_DEFAULTS[model.config.family];
    const settings: SamplingSettings = {
      seed: Number(values.seed), cfg: Number(values.cfg ?? d.cfg), topK: Number(values['top-k'] ?? d.topK), topP: Number(values['top-p'] ?? d.topP), temperature: Number(values.temperature ?? d.temperature),
    };
    if (values.frames !== undefined) {
      await runClip(gpu, model, values, settings);
      model.dispose();
      return;
    }
    const material = { kinds: kinds ?? [], side: requestedSide, glb: values.glb ? { mesh: values.mesh as GlbMesh, tiling } : undefined };
    if (prompts) {
      if (model.config.family !== 'unified') throw usageError('--prompts needs a unified model (a VAR model takes --class)', USAGE);
      const names = new Map<string, number>();
      for (const [i, prompt] of prompts.entries()) {
        const out = await runUnified(model as UnifiedModel, { ...values, prompt }, settings, count, false);
        const stem = textureName(prompt);
        const seen = (names.get(stem) ?? 0) + 1;
        names.set(stem, seen);
        const paths = await writeMaterial(gpu, out, values.out, seen > 1 ? `${stem}-${seen}` : stem, material);
        process.stderr.write(`[${i + 1}/${prompts.length}] ${prompt} → ${paths.join(', ')}\n`);
      }
      model.dispose();
      return;
    }
    const out = model.config.family === 'unified' ? await runUnified(model as UnifiedModel, values, settings, count) : await runVar(model as VarModel, values, settings, count);
    const { image, batch: B, size } = out;
    if (kinds) {
      const paths = await writeMaterial(gpu, out, values.out, values.name ?? textureName(values.prompt ?? `class ${values.class}`), material);
      for (const path of paths) process.stderr.write(`wrote ${path}\n`);
    } else {
      const side = requestedSide ?? size;
      const albedo = side === size ? image : (await renderTextures(gpu, image, B, size, ['albedo'], side)).get('albedo')!;
      await mkdir(dirname(values.out), { recursive: true });
      await writeFile(values.out, encodePng(imagesToRgba(albedo, B, side, side), B * side, side));
      process.stderr.write(`wrote ${values.out}\n`);
      if (count > 1) {
        const stem = values.out.replace(/\.png$/i, '');
        const plane = 3 * side * side;
        for (let b = 0; b < B; b++) {
          await writeFile(`${stem}-${b}.png`, encodePng(imagesToRgba(albedo.subarray(b * plane, (b + 1) * plane), 1, side, side), side, side));
          process.stderr.write(`wrote ${stem}-${b}.png\n`);
        }
      }
    }
    if (values.dump) {
      const entries = [
        ...out.tokens.map((t, s) => ({ name: `scale${s}.idx`, dtype: 'I32' as const, shape: [B, out.patchNums[s] ** 2], data: t })),
        { name: 'image', dtype: 'F32' as const, shape: [B, 3, size, size], data: image },
      ];
      await mkdir(dirname(values.dump), { recursive: true });
      await writeFile(values.dump, writeSafetensors(entries, out.metadata));
      process.stderr.write(`wrote ${values.dump}\n`);
    }
    model.dispose();
  } finally {
    gpu.destroy();
  }
}

async function runVar(model: VarModel, values: Values, settings: SamplingSettings, count: number): Promise<Generated> {
  if (values.prompt || values.image) throw usageError(`--prompt and --image need a unified model; this is a VAR model (use --class)`, USAGE);
  if (!values.class) throw usageError('--class is required (one label per image, e.g. --class 3,7)', USAGE);
  let labels = parseNumberList('--class', values.class);
  if (count > 1) {
    if (labels.length !== 1) throw usageError(`--variations makes N images of one class: give one --class, found ${labels.length}`, USAGE);
    labels = labels.flatMap((l) => Array<number>(count).fill(l));
  }
  const session = new VarSession(model, { labels, ...settings, seedPerImage: count > 1 });
  const pns = model.config.var.patchNums;
  const started = performance.now();
  while (!session.done) {
    const info = session.step();
    if (info.kind === 'sample') await progress(info.gpuDone, info.scale, pns, started);
  }
  const image = await session.readImage();
  const tokens = await session.readTokens();
  process.stderr.write(`decoded ${labels.length} image(s) of ${model.imageSize}x${model.imageSize} in ${(performance.now() - started).toFixed(0)} ms\n`);
  session.dispose();
  return { image, batch: labels.length, size: model.imageSize, tokens, patchNums: pns, metadata: { labels: labels.join(','), seed: String(values.seed) } };
}

/** --variations N: 1 without it; a clip takes none. */
function parseVariations(values: Values & ClipValues): number {
  if (values.variations === undefined) return 1;
  const n = Number(values.variations);
  if (!/^\d+$/.test(values.variations) || n < 1 || n > MAX_BATCH) throw usageError(`--variations: expected a whole number from 1 to ${MAX_BATCH}, found '${values.variations}'`, USAGE);
  if (values.frames !== undefined) throw usageError('--variations makes images; a clip (--frames) plays one', USAGE);
  return n;
}

/** What a material is written as: which maps, at what size, and whether on a mesh in a .glb. */
interface MaterialOutput {
  kinds: readonly MapKind[];
  side?: number;
  glb?: { mesh: GlbMesh; tiling: number };
}

/** Writes DIR/NAME_KIND.png per map (and DIR/NAME.glb); returns the paths. */
async function writeMaterial(gpu: Gpu, out: Generated, dir: string, name: string, m: MaterialOutput): Promise<string[]> {
  const side = m.side ?? out.size;
  const needed = m.glb ? [...new Set([...m.kinds, ...GLB_MAPS])] : m.kinds;
  const textures = await renderTextures(gpu, out.image, out.batch, out.size, [...new Set(['albedo' as const, ...needed])], side);
  const paths = await writeTextures(dir, name, new Map(m.kinds.map((k) => [k, textures.get(k)!])), out.batch, side);
  const plane = 3 * side * side;
  for (let b = 0; m.glb && b < out.batch; b++) {
    const one = new Map([...textures].map(([k, data]) => [k, data.subarray(b * plane, (b + 1) * plane)]));
    paths.push(await writeMaterialGlb(dir, out.batch === 1 ? name : `${name}-${b}`, one, side, m.glb.mesh, m.glb.tiling));
  }
  if (out.batch > 1) {
    const sheet = join(dir, `${name}_sheet.png`);
    await writeFile(sheet, encodePng(imagesToRgba(textures.get('albedo')!, out.batch, side, side), out.batch * side, side));
    paths.push(sheet);
  }
  return paths;
}

/** Most lines, and characters a line, a --prompts file may hold. */
const PROMPT_LIST_LIMITS = { lines: 10_000, chars: 1_000, bytes: 4 * 1024 * 1024 };

/** The prompts of a --prompts file: one a line, blank lines and # comments skipped; bounded and checked. */
async function readPromptList(path: string): Promise<string[]> {
  const { size } = await stat(path).catch((e: Error) => {
    throw usageError(`--prompts ${path}: cannot read it (${e.message})`, USAGE);
  });
  if (size > PROMPT_LIST_LIMITS.bytes) throw usageError(`--prompts ${path}: expected a text file of at most ${PROMPT_LIST_LIMITS.bytes} bytes, found ${size}`, USAGE);
  const prompts: string[] = [];
  for (const [i, raw] of (await readFile(path, 'utf8')).split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.length > PROMPT_LIST_LIMITS.chars) throw usageError(`--prompts ${path}: line ${i + 1} has ${line.length} characters, more than ${PROMPT_LIST_LIMITS.chars}`, USAGE);
    prompts.push(line);
  }
  if (prompts.length === 0) throw usageError(`--prompts ${path}: expected at least one prompt line, found none`, USAGE);
  if (prompts.length > PROMPT_LIST_LIMITS.lines) throw usageError(`--prompts ${path}: expected at most ${PROMPT_LIST_LIMITS.lines} prompts, found ${prompts.length}`, USAGE);
  return prompts;
}

async function runUnified(model: UnifiedModel, values: Values, settings: SamplingSettings, count: number, report = true): Promise<Generated> {
  if (values.class) throw usageError('--class needs a VAR model; a unified model takes --prompt', USAGE);
  if (values.prompt === undefined) throw usageError('--prompt is required with a unified model (and --image to edit an image)', USAGE);
  if (values.image && count > 1) throw usageError('--variations generates from a prompt; editing an --image makes one image', USAGE);
  const session = new UnifiedSession(model, { guidance: (settings.cfg ?? SAMPLING_DEFAULTS.unified.cfg) > 0, batch: count });
  if (values.image) {
    const png = decodePng(new Uint8Array(await readFile(values.image)), values.image);
    session.appendImage({ data: png.data, width: png.width, height: png.height });
  }
  session.appendText(values.prompt);
  const job = session.generateImage(settings);
  const pns = model.config.unified.patchNums;
  const started = performance.now();
  let scale = 0;
  while (!session.idle) {
    const info = session.step();
    if (info.kind === 'sample' && report) await progress(info.gpuDone, scale++, pns, started);
  }
  const image = await job.readImage();
  const tokens = await job.readTokens();
  if (report) process.stderr.write(`decoded ${count} image(s) of ${model.imageSize}x${model.imageSize} in ${(performance.now() - started).toFixed(0)} ms\n`);
  session.dispose();
  return { image, batch: count, size: model.imageSize, tokens, patchNums: pns, metadata: { prompt: values.prompt, image: values.image ?? '', seed: String(values.seed) } };
}

/** `--frames N --out DIR/`: a clip along the feature path, one keyframe every `--keyframe-every` frames. */
async function runClip(gpu: Gpu, model: VarModel | UnifiedModel, values: Values & ClipValues, settings: SamplingSettings): Promise<void> {
  const frames = Number(values.frames);
  if (!Number.isInteger(frames) || frames < 1) throw usageError(`--frames: expected a whole number >= 1, found '${values.frames}'`, USAGE);
  const out = values.out!;
  const keyframeEvery = values['keyframe-every'] === undefined ? defaultKeyframeEvery(model) : Number(values['keyframe-every']);
  const nextFrameTopK = values['next-frame-top-k'] === undefined ? undefined : Number(values['next-frame-top-k']);
  if (nextFrameTopK !== undefined && !(Number.isInteger(nextFrameTopK) && nextFrameTopK >= 0)) {
    throw usageError(`--next-frame-top-k: expected a whole number >= 0, found '${values['next-frame-top-k']}'`, USAGE);
  }
  const common = { frames, keyframeEvery, loop: values.loop, ...settings, nextFrameTopK, out };
  const onFrame = (f: number, file: string) => process.stderr.write(`frame ${f + 1}/${frames}: ${file}\n`);
  if (model.config.family === 'unified') {
    if (values.prompt === undefined) throw usageError('--frames with a unified model needs --prompt', USAGE);
    const source = familyKeyframeSource(model);
    try {
      await writeClip(gpu, source, { ...common, prompt: values.prompt, onFrame });
    } finally {
      source.dispose?.();
    }
  } else {
    if (!values.class) throw usageError('--frames with a VAR model needs --class (one label per keyframe, in turn)', USAGE);
    await writeClip(gpu, model as VarModel, { ...common, labels: parseNumberList('--class', values.class), onFrame });
  }
}

async function progress(gpuDone: Promise<unknown>, scale: number, pns: number[], started: number): Promise<void> {
  await gpuDone;
  const ms = (performance.now() - started).toFixed(0);
  process.stderr.write(`scale ${scale + 1}/${pns.length} (${pns[scale]}x${pns[scale]}) done at ${ms} ms\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`generate: ${e.message}\n`);
  process.exit(1);
});
