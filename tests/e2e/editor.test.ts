/**
 * The editor end to end: served by Vite with the built-in tiny model, driven in headless Chromium with
 * WebGPU on SwiftShader. A browser without WebGPU gets a page that says so; a model that fails to load
 * shows why; the first generation lands on the mesh (the screenshot's middle gains the image's detail
 * over a blank render); a new seed restarts it into a different texture while the frame loop keeps
 * ticking within the budget; bad input is refused in the pane; the image exports as PNG; the gallery
 * runs and the video screen plays its first frame; dropped model files load; settings survive a
 * reload and URL parameters override them; the built site runs from a nested path, where a first start
 * opens the built-in model with its prompt filled in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrameRecord } from '../../editor/editor.ts';
import type { GalleryScene } from '../../scenes/gallery.ts';
import { buildSite, EditorPage, serveStatic, startHarness, type Harness, type PixelStats } from './harness.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
let h: Harness;
/** The middle of the canvas while the mesh wears only its placeholder. */
let blank: PixelStats;

/** The only console errors allowed: Chromium's line about a model URL the test made missing on purpose. */
const unexpected = (errors: string[]) => errors.filter((e) => !/Failed to load resource: .*404/.test(e));

describe('editor in headless Chromium', () => {
  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(async () => {
    await h?.close();
  });

  it('says so when the browser has no WebGPU', async () => {
    const e = await EditorPage.open(h, '', { withoutWebGPU: true });
    await e.page.waitForSelector('#unavailable', { state: 'visible' });
    expect(await e.page.locator('#unavailable h1').textContent()).toBe('WebGPU is not available');
    expect(await e.page.locator('#unavailable .reason').textContent()).toContain('navigator.gpu is missing');
    expect(await e.page.locator('#view').isHidden()).toBe(true);
    expect(e.errors).toEqual([]);
    await e.close();
  });

  it('shows a model that fails to load in the pane and keeps the mesh blank', async () => {
    const e = await EditorPage.open(h, '?model=./models/missing');
    await e.ready();
    expect(await e.readout('model')).toBe('no model loaded');
    expect(await e.readout('message')).toMatch(/^model \.\/models\/missing failed to load: .*config\.json/);
    await e.page.waitForFunction(() => window.nextscale!.frames.length > 5);
    blank = await e.middleStats();
    expect(unexpected(e.errors)).toEqual([]);
    await e.close();
  });

  it('generates on the mesh, restarts on a new seed, refuses bad input, exports, and remembers', async () => {
    const e = await EditorPage.open(h, '?model=./models/var-tiny&class=3&seed=0&budget=2&scene=studio&mesh=cube');
    await e.ready();
    expect(await e.readout('model')).toMatch(/^var-tiny: 10 classes, 64 px, 4 scales/);
    // Headless Chromium runs SwiftShader: the runtime picks its direct kernels there.
    expect(await e.readout('adapter')).toMatch(/swiftshader.*\(software\)\ndirect kernels$/i);
    // A model that knows no clips makes its video from keyframes, one every 8 frames.
    expect(await e.videoShown('keyframeEvery')).toBe('8');
    await e.generated();
    const first = await e.pixels();
    expect(first.length).toBe(64 * 64 * 4);
    await e.page.waitForTimeout(500);
    const shown = await e.middleStats();
    expect(blank, 'the blank render, taken by the test before').toBeDefined();
    // The random-weight model's image is fine-grained noise: far more detail than the flat placeholder.
    expect(shown.detail).toBeGreaterThan(3 * blank.detail + 2);

    // The studio lights the mesh with the generation's material maps; the checkbox takes them off (the
    // engine stops making them) and puts them back (made from the finished image on the next frame).
    const mapsState = () => e.page.evaluate(() => [(window.nextscale!.scene as unknown as { mapsShown: boolean }).mapsShown, window.nextscale!.engine.materials.size]);
    await expect.poll(mapsState).toEqual([true, 1]);
    const mapsBox = e.page.locator('[data-setting="maps"] .tp-ckbv_w'); // tweakpane's drawn checkbox
    await mapsBox.click();
    await expect.poll(mapsState).toEqual([false, 0]);
    await mapsBox.click();
    await expect.poll(mapsState).toEqual([true, 1]);
    expect(await e.page.evaluate(() => window.nextscale!.settings.maps)).toBe(true);

    // The studio exports its mesh and material as a .glb, which three's GLTFLoader reads back in the page
    // with the albedo, normal, roughness and occlusion textures on the material.
    const [glb] = await Promise.all([e.page.waitForEvent('download'), e.page.locator('[data-action="export-glb"] button').click()]);
    expect(glb.suggestedFilename()).toBe('nextscale-class3-seed0.glb');
    const glbBytes = Array.from(await streamBytes(await glb.createReadStream()));
    const loaded = await e.page.evaluate(async (data) => {
      // Imported by the page from the dev server (a string, so that the test's own bundler leaves it be).
      const load = new Function('url', 'return import(url)') as (url: string) => Promise<{ GLTFLoader: new () => { parseAsync(d: ArrayBuffer, path: string): Promise<{ scene: { traverse(f: (o: { isMesh?: boolean }) => void): void } }> } }>;
      const { GLTFLoader } = await load('/@id/three/addons/loaders/GLTFLoader.js');
      const gltf = await new GLTFLoader().parseAsync(new Uint8Array(data).buffer, '');
      const meshes: { material: Record<string, { image?: { width: number } } | null>; geometry: { attributes: Record<string, { count: number }> } }[] = [];
      gltf.scene.traverse((o) => o.isMesh && meshes.push(o as never));
      const m = meshes[0].material;
      return { meshes: meshes.length, vertices: meshes[0].geometry.attributes.position.count, widths: ['map', 'normalMap', 'roughnessMap', 'aoMap'].map((k) => m[k]?.image?.width ?? 0) };
    }, glbBytes);
    expect(loaded).toEqual({ meshes: 1, vertices: 24, widths: [64, 64, 64, 64] });

    // A new seed through the pane: the generation restarts, spread over frames that keep coming.
    const before = await e.page.evaluate(() => window.nextscale!.frames.at(-1)!.t);
    await e.set('seed', '7');
    await e.generated(true);
    const second = await e.pixels();
    const differing = first.filter((v, i) => v !== second[i]).length;
    expect(differing).toBeGreaterThan(first.length / 4);
    const frames: FrameRecord[] = await e.page.evaluate((t) => window.nextscale!.frames.filter((f) => f.t > t), before);
    const working = frames.filter((f) => f.units > 0);
    const units = working.reduce((n, f) => n + f.units, 0);
    expect(units).toBeGreaterThanOrEqual(14);
    expect(working.length).toBeGreaterThanOrEqual(10);
    expect(frames.length).toBeGreaterThanOrEqual(working.length);
    // The schedule's contract, from the stats: a frame runs one unit, or only what its plan fits in the budget.
    for (const f of frames) expect(f.units <= 1 || f.estimatedMs <= f.budgetMs + 1e-9, JSON.stringify(f)).toBe(true);
    expect(await e.readout('gpuMs')).toContain('budget 2');
    expect(await e.readout('progress')).toBe('done: scale 4 of 4');

    // Refused: a class the model does not have; the pane keeps the class in force.
    await e.set('classLabel', '12');
    await expect.poll(() => e.readout('message')).toBe('class must be a whole number in [0, 9], found 12');
    expect(await e.shown('classLabel')).toBe('3');

    // A model that fails to load leaves the running one in place.
    await e.set('model', './models/missing');
    await expect.poll(() => e.readout('message'), { timeout: 30_000 }).toMatch(/failed to load.*still running \.\/models\/var-tiny/);
    expect(await e.readout('model')).toMatch(/^var-tiny/);
    expect(await e.shown('model')).toBe('./models/var-tiny');
    expect(await e.readout('progress')).toBe('done: scale 4 of 4');

    const [download] = await Promise.all([e.page.waitForEvent('download'), e.page.locator('[data-action="export"] button').click()]);
    expect(download.suggestedFilename()).toBe('nextscale-class3-seed7.png');
    const png = decode(await streamBytes(await download.createReadStream()));
    expect([png.width, png.height]).toEqual([64, 64]);
    expect(Array.from(png.data.subarray(0, 64 * 4))).toEqual(second.slice(0, 64 * 4));

    // The gallery gives every panel its own generation; the video screen plays a video whose first
    // frame (a keyframe's generation, then its decode) reaches the screen.
    await e.page.locator('[data-setting="scene"] select').selectOption('gallery');
    await e.previewed();
    expect(await e.readout('generations')).toMatch(/^\d+ of ([6-9]|\d\d) done$/);
    // Clicking the middle panel chooses its variation: the studio shows that seed.
    const seedBefore = await e.page.evaluate(() => window.nextscale!.settings.seed);
    const box = (await e.page.locator('#view').boundingBox())!;
    const at = (await e.page.evaluate(() => (window.nextscale!.scene as unknown as GalleryScene).pointOf(window.nextscale!.scene.focusSlot!)))!;
    await e.page.mouse.click(box.x + ((at.x + 1) / 2) * box.width, box.y + ((1 - at.y) / 2) * box.height);
    await expect.poll(() => e.page.evaluate(() => window.nextscale!.settings.scene)).toBe('studio');
    const chosen = await e.page.evaluate(() => window.nextscale!.settings.seed);
    expect(chosen).not.toBe(seedBefore);
    expect(await e.readout('message')).toMatch(new RegExp(`^variation \\d+ chosen: seed ${chosen} in the studio$`));
    await e.page.locator('[data-setting="scene"] select').selectOption('video');
    const onScreen = () => e.page.evaluate(() => window.nextscale!.video.status(window.nextscale!.scene.focusSlot!)?.shown ?? -1);
    await expect.poll(onScreen, { timeout: 120_000 }).toBeGreaterThanOrEqual(0);
    const status = () => e.page.locator('[data-video="status"] textarea').inputValue();
    await expect.poll(status).toMatch(/^(playing|buffering|paused): frame \d+ of 48( \(showing \d+\))?\n\d+ ready ahead, \d+ stalls$/);
    // var-tiny's keyframes do not continue each other: no next-frame top-k to set.
    expect(await e.page.locator('[data-video="nextFrameTopK"]').getAttribute('class')).toMatch(/tp-v-hidden/);

    // Dropped files: what is not a model is refused; a model folder's files load in place of the model.
    await e.drop([{ name: 'notes.txt', text: 'not a model' }]);
    await expect.poll(() => e.readout('message')).toMatch(/^model notes\.txt failed to load: expected a model folder .*found notes\.txt \(still running \.\/models\/var-tiny\)$/);
    await e.drop([{ name: 'config.json', url: './models/var-tiny/config.json' }, { name: 'weights.safetensors', url: './models/var-tiny/weights.safetensors' }]);
    await expect.poll(() => e.readout('model'), { timeout: 60_000 }).toMatch(/^weights\.safetensors: 10 classes, 64 px, 4 scales/);

    // Settings persist across reloads; URL parameters override them.
    await e.page.goto(`${h.base}?seed=5`);
    await e.ready();
    expect([await e.shown('seed'), await e.shown('classLabel'), await e.shown('budgetMs')]).toEqual(['5', '3', '2.0']);
    expect(await e.page.evaluate(() => window.nextscale!.settings.scene)).toBe('video');
    expect(unexpected(e.errors)).toEqual([]);
    await e.close();
  }, 480_000); // generation, reloads, the gallery, the video screen and drops: the suite's longest test

  it('keeps a model loaded by URL in the browser cache, and opens it from there with its server gone', async () => {
    const models = await serveStatic(join(ROOT, 'tests/fixtures'), '/m/', { cors: true });
    const url = `${models.url}var-tiny/`;
    const e = await EditorPage.open(h, `?model=${encodeURIComponent(url)}&class=3&scene=studio`);
    await e.ready();
    expect(await e.readout('model')).toMatch(/^var-tiny: 10 classes, 64 px, 4 scales, [\d.]+ MB$/);
    await expect.poll(() => e.readout('cache')).toMatch(/^[\d.]+ MB in 2 files$/);
    // The same server again: the files are checked (HEAD), not downloaded.
    await e.page.reload();
    await e.ready();
    expect(await e.readout('model')).toMatch(/\(from the browser cache\)$/);
    await models.close();
    await e.page.reload();
    await e.ready();
    expect(await e.readout('model')).toMatch(/^var-tiny: 10 classes.*\(from the browser cache\)$/);
    await e.generated();
    // Forgotten, the model has nowhere left to come from.
    await e.page.locator('[data-action="forget-cache"] button').click();
    await expect.poll(() => e.readout('cache')).toBe('empty');
    await e.page.reload();
    await e.ready();
    expect(await e.readout('message')).toMatch(/^model http:\/\/127\.0\.0\.1:\d+\/m\/var-tiny\/ failed to load: .*config\.json: request failed/);
    // The browser logs each request to the stopped server; nothing else may fail.
    expect(unexpected(e.errors).filter((m) => !/ERR_CONNECTION_REFUSED/.test(m))).toEqual([]);
    await e.close();
  }, 240_000);

  it('comes back on a new GPU device when the device is lost, without a page reload', async () => {
    const e = await EditorPage.open(h, '?model=./models/var-tiny&class=3&seed=2&scene=studio');
    await e.ready();
    await e.generated();
    await e.page.evaluate(() => {
      (window as unknown as { before: unknown }).before = window.nextscale;
      window.nextscale!.gpu.device.destroy();
    });
    await e.page.waitForFunction(() => window.nextscale !== (window as unknown as { before: unknown }).before && /^var-tiny/.test(window.nextscale!.pane.readouts.model), undefined, { timeout: 60_000 });
    expect(await e.readout('message')).toMatch(/^The GPU device was lost \(.+\); the editor runs on a new one, its model reloaded and its generations restarted\.$/);
    await e.generated();
    expect((await e.pixels()).length).toBe(64 * 64 * 4);
    expect(await e.page.evaluate(() => [document.querySelectorAll('#pane .tp-rotv').length, document.querySelectorAll('#pane .message').length])).toEqual([1, 1]);
    expect(unexpected(e.errors)).toEqual([]);
    await e.close();
  }, 180_000);

  it('builds a static site that runs from a nested path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nextscale-site-'));
    const site = await buildSite(dir).then(() => serveStatic(dir, '/nested/site/'));
    try {
      const e = await EditorPage.open(h, '', {}, `${site.url}?budget=4&seed=3`);
      await e.ready();
      // A first start: the built-in model, its prompt filled in, generating.
      expect(await e.readout('model')).toMatch(/^builtin: text to image, 64 px, 5 scales/);
      expect(await e.shown('prompt')).toBe('red and blue checker, fine');
      // It was trained on clips: its video is generated frame by frame, each frame continuing the one before.
      expect(await e.videoShown('keyframeEvery')).toBe('1');
      // Its next frames draw their finest scale greedily by default, a setting shown for such a model.
      expect(await e.videoShown('nextFrameTopK')).toBe('1');
      expect(await e.page.locator('[data-video="nextFrameTopK"]').getAttribute('class')).not.toMatch(/tp-v-hidden/);
      await e.page.waitForFunction(() => (window.nextscale!.focusProgress()?.unit ?? 0) > 0);
      expect(e.errors).toEqual([]);
      await e.close();
    } finally {
      await site.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function streamBytes(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return new Uint8Array(Buffer.concat(chunks));
}
