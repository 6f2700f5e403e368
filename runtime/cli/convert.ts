/**
 * Converts the public VAR checkpoints into a model folder (config.json + weights.safetensors with
 * `vae.` and `var.` prefixes), the format `--model DIR` and the editor load.
 *
 *   npm run convert -- --vae vae_ch160v4096z32.pth --var var_d16.pth --out models/var-d16 [--dtype f16]
 *       [--patch-nums 1,2,3,4,5,6,8,10,13,16]
 *
 * With --dtype f16, matrices and conv kernels are stored as F16 (half the download); vectors stay F32.
 * Tensors are streamed one at a time: a multi-GB checkpoint never sits in memory whole.
 */
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { toHalf } from '../gpu/half.ts';
import { openPth, openSafetensors, openSource, type TensorFile } from '../io/index.ts';
import { serializeVarConfig } from '../models/var/config.ts';
import { inferVarConfig } from '../models/var/infer.ts';
import { parseDType, parseNumberList, usageError } from './model-args.ts';

const USAGE = 'usage: npm run convert -- --vae VAE.pth --var VAR.pth --out DIR [--dtype f32|f16] [--patch-nums 1,2,3,...]';

interface Entry { file: TensorFile; source: string; name: string; shape: readonly number[]; dtype: 'F32' | 'F16' | 'I32' }

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { vae: { type: 'string' }, var: { type: 'string' }, out: { type: 'string' }, dtype: { type: 'string', default: 'f32' }, 'patch-nums': { type: 'string' } },
  });
  if (!values.vae || !values.var || !values.out) throw usageError('--vae, --var and --out are required', USAGE);
  const dtype = parseDType(values.dtype);
  const patchNums = values['patch-nums'] ? parseNumberList('--patch-nums', values['patch-nums']) : undefined;
  const load = async (path: string) => {
    const src = await openSource(path);
    return path.endsWith('.safetensors') ? openSafetensors(src) : openPth(src);
  };
  const vae = await load(values.vae);
  const v = await load(values.var);
  const config = inferVarConfig(vae, v, { patchNums, vaeName: values.vae, varName: values.var });

  const entries: Entry[] = [];
  for (const [prefix, file] of [['vae.', vae], ['var.', v]] as const) {
    for (const [name, info] of file.tensors) {
      const isFloat = /^(F16|F32|F64|BF16)$/.test(info.dtype);
      const out = !isFloat ? 'I32' : dtype === 'f16' && info.shape.length >= 2 && info.shape.reduce((a, b) => a * b, 1) >= 4096 ? 'F16' : 'F32';
      entries.push({ file, source: name, name: prefix + name, shape: info.shape, dtype: out });
    }
  }
  const bytesOf = (e: Entry) => e.shape.reduce((a, b) => a * b, 1) * (e.dtype === 'F16' ? 2 : 4);
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', converted_by: 'nextscale convert' } };
  let offset = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + bytesOf(e)] };
    offset += bytesOf(e);
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);

  await mkdir(values.out, { recursive: true });
  await writeFile(join(values.out, 'config.json'), JSON.stringify(serializeVarConfig(config), null, 2) + '\n');
  const fh = await open(join(values.out, 'weights.safetensors'), 'w');
  try {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
    await fh.write(len);
    await fh.write(headerBytes);
    for (const [i, e] of entries.entries()) {
      const { data } = await e.file.read(e.source);
      let bytes: Uint8Array;
      if (e.dtype === 'F16') {
        const half = new Uint16Array(data.length);
        for (let j = 0; j < data.length; j++) half[j] = toHalf(data[j]);
        bytes = new Uint8Array(half.buffer);
      } else {
        const typed = e.dtype === 'I32' ? Int32Array.from(data) : Float32Array.from(data);
        bytes = new Uint8Array(typed.buffer);
      }
      await fh.write(bytes);
      if (i % 50 === 0) process.stderr.write(`\rconvert: ${i + 1}/${entries.length} tensors`);
    }
  } finally {
    await fh.close();
  }
  process.stderr.write(`\rconvert: wrote ${entries.length} tensors (${(offset / 2 ** 20).toFixed(1)} MiB, ${dtype}) and config.json to ${values.out}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`convert: ${e.message}\n`);
  process.exit(1);
});
