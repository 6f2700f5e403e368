/**
 * The var-tiny conformance fixture (tests/fixtures/var-tiny): its expected outputs and settings.
 * Regenerate it with ../shared/tools/var_fixtures.py when the format changes.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { openSafetensors, openSource } from '../../runtime/io/index.ts';

export const FIXTURE = fileURLToPath(new URL('../fixtures/var-tiny', import.meta.url));

export interface FixtureConfig {
  generation: { labels: number[]; cfg: number; top_k: number; top_p: number };
  image_size: number;
  min_top2_gap_per_scale: number[];
}

export async function readFixtureConfig(): Promise<FixtureConfig> {
  return JSON.parse(await readFile(`${FIXTURE}/config.json`, 'utf8')) as FixtureConfig;
}

export interface Expected {
  get(name: string): { data: Float32Array | Int32Array; shape: number[] };
}

/** Every tensor of expected.safetensors, read up front; `get` names a missing key clearly. */
export async function readExpected(): Promise<Expected> {
  const file = await openSafetensors(await openSource(`${FIXTURE}/expected.safetensors`));
  const all = new Map<string, { data: Float32Array | Int32Array; shape: number[] }>();
  for (const name of file.tensors.keys()) all.set(name, await file.read(name));
  return {
    get(name) {
      const t = all.get(name);
      if (!t) throw new Error(`expected.safetensors has no '${name}': regenerate the fixture or update the test (keys: ${[...all.keys()].slice(0, 5).join(', ')}, ...)`);
      return t;
    },
  };
}
