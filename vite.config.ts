import { defineConfig } from 'vitest/config';

export default defineConfig({
  base: './',
  test: {
    include: ['tests/**/*.test.ts'],
    // Each test file opens its own WebGPU device (Dawn + SwiftShader in CI); SwiftShader runs on the
    // CPU, so two workers keep both cores busy without thrashing.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
