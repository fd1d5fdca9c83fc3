import { defineConfig } from '@playwright/test';

/** End-to-end tests: the real renderer in Debian's Chromium against the real engine behind `serve`. */
export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  // One demo lab (and one libvirt domain named snaptree-demo) at a time.
  workers: 1,
  fullyParallel: false,
  timeout: 120_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    viewport: { width: 1440, height: 900 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    },
  },
});
