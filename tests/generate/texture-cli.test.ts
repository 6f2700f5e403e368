/**
 * The texture tool's material outputs end to end: `npm run generate -- --maps ... --size ... --glb` on the
 * var-tiny fixture, the files read back.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decode } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { readGlb } from '../../runtime/io/glb.ts';

const run = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;
const FIXTURE = join(ROOT, 'tests/fixtures/var-tiny');
const dir = mkdtempSync(join(tmpdir(), 'nextscale-maps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[]) =>
  run(process.execPath, ['--import', './tools/wgsl-register.mjs', '--import', 'tsx', 'runtime/cli/generate.ts', ...args], { cwd: ROOT, env: { ...process.env, XDG_RUNTIME_DIR: tmpdir() } });
const generate = (args: string[]) => cli(['--model', FIXTURE, '--class', '3', ...args]);

describe('generate --maps --size --glb', () => {
  it('writes the named maps at the asked size, and the material on a mesh', async () => {
    await generate(['--seamless', '--maps', 'albedo,normal,ao', '--size', '96', '--glb', '--mesh', 'cube', '--tiling', '2', '--name', 'tiny', '--out', dir]);
    expect(readdirSync(dir).sort()).toEqual(['tiny.glb', 'tiny_albedo.png', 'tiny_ao.png', 'tiny_normal.png']);
    const png = (kind: string) => decode(readFileSync(join(dir, `tiny_${kind}.png`)));
    for (const kind of ['albedo', 'normal', 'ao']) expect([png(kind).width, png(kind).height]).toEqual([96, 96]);
    // The noise of a random-weight model still gives the normal map slopes around a mean facing out.
    const normal = png('normal').data;
    let blue = 0;
    let spread = 0;
    for (let i = 0; i < 96 * 96; i++) {
      blue += normal[4 * i + 2] / (96 * 96);
      spread += Math.abs(normal[4 * i] - 128) / (96 * 96);
    }
    expect(blue).toBeGreaterThan(200);
    expect(spread).toBeGreaterThan(2);

    const { json, bin } = readGlb(readFileSync(join(dir, 'tiny.glb')), 'tiny.glb');
    const j = json as any;
    expect(j.images.length).toBe(3);
    const m = j.materials[0];
    const image = (texture: number) => {
      const view = j.bufferViews[j.images[j.textures[texture].source].bufferView];
      return decode(bin.subarray(view.byteOffset, view.byteOffset + view.byteLength));
    };
    // The glb's base colour is the albedo PNG's image, its normals the normal map's.
    expect(Buffer.from(image(m.pbrMetallicRoughness.baseColorTexture.index).data).equals(Buffer.from(png('albedo').data))).toBe(true);
    expect(Buffer.from(image(m.normalTexture.index).data).equals(Buffer.from(normal))).toBe(true);
    const orm = image(m.occlusionTexture.index).data;
    const ao = png('ao').data;
    for (let i = 0; i < 96 * 96; i += 97) {
      expect(orm[4 * i]).toBe(ao[4 * i]);
      expect(orm[4 * i + 2]).toBe(0);
    }
    expect(j.accessors[j.meshes[0].primitives[0].attributes.POSITION].count).toBe(24);
  }, 120_000);

  it('makes one material per line of a --prompts file, numbering repeated prompts', async () => {
    const list = join(dir, 'list.txt');
    writeFileSync(list, 'red and blue checker\n# skipped\n\nred and blue checker\nwhite dots\n');
    const out = join(dir, 'list');
    const { stderr } = await cli(['--model', join(ROOT, 'tests/fixtures/unified-tiny'), '--prompts', list, '--maps', 'albedo,roughness', '--out', out]);
    expect(stderr).toMatch(/\[1\/3\] red and blue checker → .*red-and-blue-checker_albedo\.png/);
    expect(stderr).toMatch(/\[3\/3\] white dots → /);
    expect(readdirSync(out).sort()).toEqual(['red-and-blue-checker-2_albedo.png', 'red-and-blue-checker-2_roughness.png', 'red-and-blue-checker_albedo.png', 'red-and-blue-checker_roughness.png', 'white-dots_albedo.png', 'white-dots_roughness.png']);
    writeFileSync(list, `${'x'.repeat(1001)}\n`);
    await expect(cli(['--model', join(ROOT, 'tests/fixtures/unified-tiny'), '--prompts', list, '--out', out])).rejects.toMatchObject({ stderr: expect.stringMatching(/--prompts .*list\.txt: line 1 has 1001 characters, more than 1000/) });
  }, 120_000);

  it('--variations N: one batch, a sheet and the single images, image b as --seed S+b alone', async () => {
    const unified = ['--model', join(ROOT, 'tests/fixtures/unified-tiny'), '--prompt', 'red and blue checker', '--top-k', '8'];
    const out = join(dir, 'var');
    await cli([...unified, '--seed', '4', '--variations', '3', '--out', join(out, 'v.png')]);
    await cli([...unified, '--seed', '6', '--out', join(out, 'alone.png')]);
    expect(readdirSync(out).sort()).toEqual(['alone.png', 'v-0.png', 'v-1.png', 'v-2.png', 'v.png']);
    const png = (name: string) => decode(readFileSync(join(out, name)));
    expect([png('v.png').width, png('v.png').height]).toEqual([96, 32]);
    expect(Buffer.from(png('v-2.png').data).equals(Buffer.from(png('alone.png').data))).toBe(true);
    expect(Buffer.from(png('v-0.png').data).equals(Buffer.from(png('v-1.png').data))).toBe(false);
    // With maps: each variation's maps, a .glb each, and the albedo sheet.
    const maps = join(dir, 'var-maps');
    await generate(['--variations', '2', '--maps', 'albedo,normal', '--glb', '--name', 'v', '--out', maps]);
    expect(readdirSync(maps).sort()).toEqual(['v-0.glb', 'v-0_albedo.png', 'v-0_normal.png', 'v-1.glb', 'v-1_albedo.png', 'v-1_normal.png', 'v_sheet.png']);
    await expect(generate(['--variations', '0', '--out', dir])).rejects.toMatchObject({ stderr: expect.stringMatching(/--variations: expected a whole number from 1 to 64, found '0'/) });
    await expect(cli(['--model', FIXTURE, '--class', '3,4', '--variations', '2', '--out', join(dir, 'x.png')])).rejects.toMatchObject({ stderr: expect.stringMatching(/--variations makes N images of one class/) });
  }, 180_000);

  it('refuses unknown maps, sizes, meshes and clip settings before generating', async () => {
    await expect(generate(['--maps', 'albedo,gloss', '--out', dir])).rejects.toMatchObject({ stderr: expect.stringMatching(/--maps: unknown map 'gloss'/) });
    await expect(generate(['--maps', 'albedo', '--size', '100000', '--out', dir])).rejects.toMatchObject({ stderr: expect.stringMatching(/--size: expected a whole number of pixels from 8 to 4096/) });
    await expect(generate(['--glb', '--mesh', 'teapot', '--out', dir])).rejects.toMatchObject({ stderr: expect.stringMatching(/--mesh: expected one of plane, cube, sphere, torus-knot/) });
    await expect(generate(['--next-frame-top-k', '1', '--out', join(dir, 'x.png')])).rejects.toMatchObject({ stderr: expect.stringMatching(/--next-frame-top-k samples the frames of a clip: use it with --frames/) });
    await expect(generate(['--frames', '2', '--next-frame-top-k', 'two', '--out', dir])).rejects.toMatchObject({ stderr: expect.stringMatching(/--next-frame-top-k: expected a whole number >= 0, found 'two'/) });
  }, 60_000);
});
