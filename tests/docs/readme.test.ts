/**
 * The README's "Using the runtime" example runs as written: its code block is saved beside the README
 * and run with the same loader the CLIs use, with a few lines appended that print what it made.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;

describe('README', () => {
  it('its runtime example runs: VAR images, a text to image, its caption and four variations', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks, 'one ts block in the README').toHaveLength(1);
    const file = join(ROOT, '.readme-example.ts');
    const report = `\nconsole.log(JSON.stringify({ images: images.length, generated: generated.image.length, size: generated.size, text, four: four.map((v) => v.image.length) }));\nprocess.exit(0);\n`;
    writeFileSync(file, blocks[0] + report);
    try {
      const { stdout } = await run(process.execPath, ['--import', './tools/wgsl-register.mjs', '--import', 'tsx', file], { cwd: ROOT, env: { ...process.env, XDG_RUNTIME_DIR: tmpdir() } });
      const out = JSON.parse(stdout.trim().split('\n').pop()!);
      expect(out.images).toBe(2 * 3 * 64 * 64); // var-tiny: two 64 px images
      expect(out.size).toBe(64);
      expect(out.generated).toBe(3 * 64 * 64);
      expect(out.text).toMatch(/\w/);
      expect(out.four).toEqual([3 * 64 * 64, 3 * 64 * 64, 3 * 64 * 64, 3 * 64 * 64]);
    } finally {
      rmSync(file, { force: true });
    }
  }, 300_000);
});
