/**
 * Image to text with a unified model, headless in Node: the caption goes to stdout.
 *
 *   npm run caption -- [--model DIR] --image in.png [--max-tokens 32] [--top-k 1] [--top-p 0]
 *       [--temperature 1] [--seed 0] [--dtype f32|f16]
 *
 * The image is resized to the model's size (with a warning) when it differs.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Gpu } from '../gpu/index.ts';
import { caption } from '../generate/unified-tasks.ts';
import { loadUnifiedFolder } from '../models/unified/load.ts';
import { BUILTIN_MODEL } from './builtin.ts';
import { parseDType, usageError } from './model-args.ts';
import { decodePng } from '../io/png.ts';

const USAGE = `usage: npm run caption -- [--model DIR] --image in.png [--max-tokens 32] [--top-k 1] [--top-p 0]
       [--temperature 1] [--seed 0] [--dtype f32|f16]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: BUILTIN_MODEL },
      image: { type: 'string' },
      'max-tokens': { type: 'string', default: '32' },
      'top-k': { type: 'string', default: '1' },
      'top-p': { type: 'string', default: '0' },
      temperature: { type: 'string', default: '1' },
      seed: { type: 'string', default: '0' },
      dtype: { type: 'string', default: 'f32' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return void console.log(USAGE);
  if (!values.image) throw usageError('--image is required (a PNG)', USAGE);
  const png = decodePng(new Uint8Array(await readFile(values.image)), values.image);

  const gpu = await Gpu.create();
  try {
    const model = await loadUnifiedFolder(gpu, values.model, { dtype: parseDType(values.dtype) });
    const started = performance.now();
    const { text, ids } = await caption(model, { data: png.data, width: png.width, height: png.height }, {
      maxTokens: Number(values['max-tokens']),
      topK: Number(values['top-k']),
      topP: Number(values['top-p']),
      temperature: Number(values.temperature),
      seed: Number(values.seed),
      onWarning: (m) => process.stderr.write(`${m}\n`),
    });
    process.stderr.write(`${ids.length} tokens in ${(performance.now() - started).toFixed(0)} ms: [${ids.join(', ')}]\n`);
    process.stdout.write(`${text}\n`);
    model.dispose();
  } finally {
    gpu.destroy();
  }
}

main().catch((e: Error) => {
  process.stderr.write(`caption: ${e.message}\n`);
  process.exit(1);
});
