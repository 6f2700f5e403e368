import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import { modelFiles } from './editor/model-files.ts';

const repo = fileURLToPath(new URL('.', import.meta.url));

/**
 * The model folders served beside the editor (and copied into the built site): the built-in model (the
 * editor's default), and the two conformance models. NEXTSCALE_BUILTIN_MODEL points the built-in route
 * at another folder.
 */
const MODELS = [
  { route: 'models/builtin', dir: process.env.NEXTSCALE_BUILTIN_MODEL ?? fileURLToPath(new URL('./models/builtin', import.meta.url)), files: ['config.json', 'tokenizer.json', 'weights.safetensors'] },
  { route: 'models/unified-tiny', dir: fileURLToPath(new URL('./tests/fixtures/unified-tiny', import.meta.url)), files: ['config.json', 'tokenizer.json', 'weights.safetensors'] },
  { route: 'models/var-tiny', dir: fileURLToPath(new URL('tests/fixtures/var-tiny', import.meta.url)), files: ['config.json', 'weights.safetensors'] },
];

/**
 * Gives the page an empty module for what only Node runs: the runtime imports Dawn's `webgpu` package
 * and `node:fs` dynamically, and only in Node, but a bundler would still try to pack them.
 */
function nodeOnly(ids: readonly string[]): Plugin {
  return {
    name: 'nextscale-node-only',
    enforce: 'pre',
    applyToEnvironment: (env) => env.config.consumer === 'client',
    resolveId: (id) => (ids.includes(id) ? `\0node-only:${id}` : undefined),
    load: (id) => (id.startsWith('\0node-only:') ? 'export {};' : undefined),
  };
}

export default defineConfig({
  // `npm run dev` serves the editor; `npm run build` writes it to dist/ with relative URLs, so the
  // static site works from any path.
  root: 'editor',
  base: './',
  // A static site: an unknown path is a 404 (a mistyped model URL fails clearly), never the page.
  appType: 'mpa',
  publicDir: false,
  plugins: [nodeOnly(['webgpu', 'node:fs']), ...MODELS.map(modelFiles)],
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
  build: { outDir: '../dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2048 },
  // Pre-bundle the page's dependencies up front: discovering one mid-session would reload the page. The
  // end-to-end tests read exported .glb files back in the page with three's GLTFLoader.
  optimizeDeps: {
    entries: ['index.html'],
    include: ['three/webgpu', 'three/tsl', 'three/addons/controls/OrbitControls.js', 'three/addons/loaders/GLTFLoader.js', 'tweakpane', 'bitecs', 'webgpu-utils'],
    exclude: ['webgpu'],
  },
  test: {
    root: repo,
    include: ['tests/**/*.test.ts'],
    // Each test file opens its own WebGPU device (Dawn + SwiftShader in CI); SwiftShader runs on the
    // CPU, so two workers keep both cores busy without thrashing.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
