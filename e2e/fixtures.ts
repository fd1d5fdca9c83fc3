/**
 * Fixtures: a real `virt-snaptree serve --demo` per test file, started from the built CLI and stopped (which
 * removes its lab and demo domain) when the file is done.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test as base, type Page } from '@playwright/test';

export interface DemoServer {
  /** The URL with its token, as printed. */
  url: string;
  origin: string;
  token: string;
  log: () => string;
}

export const ARTIFACTS = join(__dirname, 'artifacts');

/** Starts `virt-snaptree serve` with these arguments and waits for its URL. */
export async function startServe(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; server: DemoServer }> {
  const child = spawn(process.execPath, [join(__dirname, '..', 'bin', 'virt-snaptree.cjs'), 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not print its URL:\n${output}`)), 60_000);
    const check = (): void => {
      const match = /http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${output}`)));
  });
  const parsed = new URL(url);
  return { child, server: { url, origin: parsed.origin, token: parsed.searchParams.get('token') ?? '', log: () => output } };
}

/** Stops a serve process (it removes what it built), killing it if it lingers. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

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
