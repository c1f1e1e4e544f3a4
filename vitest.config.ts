import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/.cache/**', 'node_modules/**'],
    // The guest suite boots QEMU once per file and needs minutes under TCG.
    testTimeout: 30_000,
    hookTimeout: 600_000,
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results.json' }]] : ['default'],
    pool: 'forks',
  },
});
