/**
 * The docs' pictures of the editor, made the way the end-to-end tests drive it (headless Chromium, WebGPU
 * on SwiftShader): its first start (the built-in model, the default prompt, the studio's cube), and a
 * material in the studio's tiles preview with its maps on.
 *
 *   node --import ./tools/wgsl-register.mjs --import tsx tools/screenshots.ts [OUT_DIR]   (default docs/)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EditorPage, startHarness } from '../tests/e2e/harness.ts';

const out = process.argv[2] ?? 'docs';
const shots = [
  { file: 'editor-first-start.png', query: '?budget=50' },
  { file: 'studio-material.png', query: `?prompt=${encodeURIComponent('gray and brown bricks, medium')}&seed=1&scene=studio&mesh=tiles&maps=1&budget=50` },
];
const h = await startHarness();
try {
  for (const { file, query } of shots) {
    const e = await EditorPage.open(h, query, { viewport: { width: 900, height: 520 } });
    await e.ready();
    await e.generated(false, 300_000);
    await e.page.waitForTimeout(2000);
    writeFileSync(join(out, file), await e.page.screenshot());
    console.log(`wrote ${join(out, file)}`);
    await e.close();
  }
} finally {
  await h.close();
}
