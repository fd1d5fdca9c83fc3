/**
 * Fixtures: a real `virt-snaptree serve --demo` per test file, started from the built CLI and stopped (which
 * removes its lab and demo domain) when the file is done.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test as base, type Page } from '@playwright/test';
import { startServe, stop, type DemoServer } from './serve-process';

export { startServe, stop };

export const ARTIFACTS = join(__dirname, 'artifacts');

export const test = base.extend<{ shot: (page: Page, name: string) => Promise<void> }, { demo: DemoServer }>({
  demo: [
    // eslint-disable-next-line no-empty-pattern -- Playwright fixtures take their dependencies by destructuring
    async ({}, use) => {
      const { child, server } = await startServe(['--demo']);
      try {
        await use(server);
      } finally {
        await stop(child);
      }
    },
    { scope: 'worker' },
  ],
  // eslint-disable-next-line no-empty-pattern -- Playwright fixtures take their dependencies by destructuring
  shot: async ({}, use) => {
    await mkdir(ARTIFACTS, { recursive: true });
    await use(async (page, name) => {
      await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
    });
  },
});

export { expect } from '@playwright/test';
