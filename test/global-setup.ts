/**
 * Vitest global setup: bring dist/ up to date (scripts/build.mjs --if-stale,
 * a no-op when nothing changed) so that test/browser.test.ts serves the
 * current sources. A failed build does not stop the other test files: its
 * message is provided to the tests that need dist/ (`inject('distBuildError')`).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Empty when `npm run build` succeeded, else its output. */
    distBuildError: string;
  }
}

export default function setup(project: TestProject): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const r = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  const failed = r.status !== 0;
  project.provide('distBuildError', failed ? `npm run build failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}${r.stdout}` : '');
}
