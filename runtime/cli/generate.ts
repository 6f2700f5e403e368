/**
 * The texture generation tool: the runtime headless in Node, PNGs out.
 *
 *   npm run generate -- --model DIR | --vae VAE.pth --var VAR.pth  --class 3,7 --seed 0 --cfg 1.5
 *       --top-k 1 [--top-p P] [--temperature T] [--dtype f16] [--patch-nums 1,2,3] --out out.png
 *       [--dump tensors.safetensors]
 *
 * The PNG shows the batch side by side; the dump holds `scale{s}.idx` (I32 [B, pn²]) and `image`
 * (F32 [B, 3, H, W] in [0, 1]) exactly as the session produced them. One progress line per scale.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { Gpu } from '../gpu/index.ts';
import { writeSafetensors } from '../io/index.ts';
import { VarSession } from '../generate/var-session.ts';
import { encodePng, imagesToRgba } from './png.ts';
import { loadModelFromArgs, MODEL_OPTIONS, parseNumberList, usageError } from './model-args.ts';

const USAGE = `usage: npm run generate -- (--model DIR | --vae VAE.pth --var VAR.pth) --class 3,7 [--seed 0]
       [--cfg 1.5] [--top-k 900] [--top-p 0.96] [--temperature 1] [--dtype f32|f16] [--patch-nums 1,2,3,4]
       --out out.png [--dump tensors.safetensors]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...MODEL_OPTIONS,
      class: { type: 'string' },
      seed: { type: 'string', default: '0' },
      cfg: { type: 'string', default: '1.5' },
      'top-k': { type: 'string', default: '900' },
      'top-p': { type: 'string', default: '0.96' },
      temperature: { type: 'string', default: '1' },
      out: { type: 'string' },
      dump: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return void console.log(USAGE);
  if (!values.out) throw usageError('--out is required', USAGE);
  if (!values.class) throw usageError('--class is required (one label per image, e.g. --class 3,7)', USAGE);
  const labels = parseNumberList('--class', values.class);

  const gpu = await Gpu.create();
  try {
    const model = await loadModelFromArgs(gpu, values, USAGE);
    const session = new VarSession(model, {
      labels,
      seed: Number(values.seed),
      cfg: Number(values.cfg),
      topK: Number(values['top-k']),
      topP: Number(values['top-p']),
      temperature: Number(values.temperature),
    });
    const S = session.scales;
    const pns = model.config.var.patchNums;
    const started = performance.now();
    while (!session.done) {
      const info = session.step();
      if (info.kind === 'sample') {
        await info.gpuDone;
        const ms = (performance.now() - started).toFixed(0);
        process.stderr.write(`scale ${info.scale + 1}/${S} (${pns[info.scale]}x${pns[info.scale]}) done at ${ms} ms\n`);
      }
    }
    const image = await session.readImage();
    const tokens = await session.readTokens();
    process.stderr.write(`decoded ${labels.length} image(s) of ${model.imageSize}x${model.imageSize} in ${(performance.now() - started).toFixed(0)} ms\n`);

    const size = model.imageSize;
    await mkdir(dirname(values.out), { recursive: true });
    await writeFile(values.out, encodePng(imagesToRgba(image, labels.length, size, size), labels.length * size, size));
    process.stderr.write(`wrote ${values.out}\n`);
    if (values.dump) {
      const B = labels.length;
      const entries = [
        ...tokens.map((t, s) => ({ name: `scale${s}.idx`, dtype: 'I32' as const, shape: [B, pns[s] * pns[s]], data: t })),
        { name: 'image', dtype: 'F32' as const, shape: [B, 3, size, size], data: image },
      ];
      await mkdir(dirname(values.dump), { recursive: true });
      await writeFile(values.dump, writeSafetensors(entries, { labels: labels.join(','), seed: String(values.seed) }));
      process.stderr.write(`wrote ${values.dump}\n`);
    }
    session.dispose();
    model.dispose();
  } finally {
    gpu.destroy();
  }
}

main().catch((e: Error) => {
  process.stderr.write(`generate: ${e.message}\n`);
  process.exit(1);
});
