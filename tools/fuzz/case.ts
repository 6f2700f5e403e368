/**
 * One fuzz worker: reads cases ({format, seed, index} JSON lines) on stdin, writes the mutated file to its
 * own folder under the file's real name, reads it through the runtime's own path (the model folder's
 * JSON reader and config schema, the tokenizer, safetensors or .pth behind the weight loader's checks),
 * and answers one JSON line per case: how it ended, how long it took, and the process's peak memory.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Gpu } from '../../runtime/gpu/index.ts';
import { ModelFileError, openPth, openSafetensors, openSource, type TensorFile } from '../../runtime/io/index.ts';
import { WeightLoader } from '../../runtime/models/loader.ts';
import { readJson } from '../../runtime/models/read-json.ts';
import { parseUnifiedConfig } from '../../runtime/models/unified/config.ts';
import { UnifiedTokenizer } from '../../runtime/models/unified/tokenizer.ts';
import { caseRng, mutate, ORIGINALS, type Format } from './mutate.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const PROMPTS = ['red and blue checker, fine', `${'a'.repeat(4000)}!`, 'make it green <image> ünïcödé'];

/** How a case ended, as the worker saw it (hangs and memory are the pool's to see). */
export interface CaseResult {
  format: Format;
  index: number;
  kind: string;
  /** 'clean': an Error naming the file; 'internal': any other throw; 'loaded': read without error. */
  outcome: 'clean' | 'internal' | 'loaded';
  /** For 'loaded': whether what was read differs from the original, and where the mutation was. */
  changed?: boolean;
  region: 'data' | 'structure';
  message?: string;
  ms: number;
  /** Peak resident memory of the worker so far, MB. */
  peakMb: number;
}

type Reader = (path: string) => Promise<string>;

/** The original file's float tensors (what a model reads; integer buffers such as VAR's lvl_1L are not weights). */
const weightsOf = (file: TensorFile) =>
  [...file.tensors.values()].filter((t) => ['F32', 'F16', 'BF16', 'F64'].includes(t.dtype)).map((t) => ({ name: t.name, shape: t.shape }));

/** What reading a file of each format yields, as a string to compare with the original's. */
function readers(): Record<Format, Reader> {
  const gpu = {} as Gpu; // host() never touches the GPU
  const tensors = async (file: TensorFile, path: string, names: { name: string; shape: readonly number[] }[]) => {
    const loader = new WeightLoader(gpu, file, '', 'f32', path);
    const sums: number[] = [];
    for (const { name, shape } of names) {
      const data = await loader.host(name, shape);
      let s = 0;
      for (let i = 0; i < data.length; i++) s = (s * 31 + (Number.isNaN(data[i]) ? 7 : data[i] * 1e3)) % 1e12;
      sums.push(s);
    }
    return sums.join(',');
  };
  let safetensorNames: { name: string; shape: readonly number[] }[] = [];
  let pthNames: { name: string; shape: readonly number[] }[] = [];
  return {
    safetensors: async (path) => {
      const file = await openSafetensors(await openSource(path));
      if (!safetensorNames.length) safetensorNames = weightsOf(file);
      return tensors(file, path, safetensorNames);
    },
    pth: async (path) => {
      const file = await openPth(await openSource(path));
      if (!pthNames.length) pthNames = weightsOf(file);
      return tensors(file, path, pthNames);
    },
    config: async (path) => JSON.stringify(parseUnifiedConfig(await readJson(path), path)),
    tokenizer: async (path) => {
      const tok = UnifiedTokenizer.fromJson(await readJson(path), path);
      return JSON.stringify(PROMPTS.map((p) => tok.encode(p)));
    },
  };
}

async function main(): Promise<void> {
  const dir = join(tmpdir(), `nextscale-fuzz-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const read = readers();
  const originals = new Map<Format, { bytes: Uint8Array; reading: string }>();
  for (const format of Object.keys(ORIGINALS) as Format[]) {
    const path = join(ROOT, ORIGINALS[format].path);
    originals.set(format, { bytes: new Uint8Array(readFileSync(path)), reading: await read[format](path) });
  }
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    const { format, seed, index } = JSON.parse(line) as { format: Format; seed: number; index: number };
    const original = originals.get(format)!;
    const m = mutate(format, original.bytes, caseRng(seed, index));
    const path = join(dir, ORIGINALS[format].name);
    writeFileSync(path, m.bytes);
    const started = performance.now();
    const result: CaseResult = { format, index, kind: m.kind, outcome: 'loaded', region: m.region, ms: 0, peakMb: 0 };
    try {
      result.changed = (await read[format](path)) !== original.reading;
    } catch (e) {
      // A clean refusal: the runtime's ModelFileError naming the file, from a plain Error (not a TypeError,
      // RangeError or other fault of the runtime's own).
      const cause = e instanceof ModelFileError ? e.cause : undefined;
      const clean = e instanceof ModelFileError && e.message.includes(path) && (cause === undefined || (cause as Error).constructor === Error);
      result.outcome = clean ? 'clean' : 'internal';
      const origin = e instanceof ModelFileError && e.cause instanceof Error ? ` (from ${e.cause.constructor.name})` : '';
      result.message = `${e instanceof Error ? e.constructor.name : typeof e}${origin}: ${String((e as Error)?.message ?? e).slice(0, 300)}`;
    }
    result.ms = performance.now() - started;
    result.peakMb = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
}

main().catch((e: Error) => {
  process.stderr.write(`fuzz worker: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
