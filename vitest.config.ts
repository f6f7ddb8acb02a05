import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

/** Load `.wgsl` (and the vendored `.proto` schema) imports as text, exactly as esbuild's `text` loader does in the bundles. */
const wgslAsText = {
  name: 'wgsl-as-text',
  enforce: 'pre' as const,
  load(id: string) {
    if (id.endsWith('.wgsl') || id.endsWith('.proto')) {
      return `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`;
    }
    return null;
  },
};

export default defineConfig({
  plugins: [wgslAsText],
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ when stale; test/browser.test.ts serves dist/browser to Chromium.
    globalSetup: ['test/global-setup.ts'],
    // GPU tests share one software adapter; running files in parallel on a
    // 2-core machine only makes each slower and risks timeouts.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
