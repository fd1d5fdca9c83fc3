/**
 * `virt-snaptree serve` as a child process, started from the built CLI: for the end-to-end tests and the render
 * benchmark. Plain Node, so the benchmark bundle can use it without Playwright's test runner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** Where the repository's CLI entry is, from the e2e folder. */
const BIN = join(__dirname, '..', 'bin', 'virt-snaptree.cjs');

export interface DemoServer {
  /** The URL with its token, as printed. */
  url: string;
  origin: string;
  token: string;
  log: () => string;
}

/** Starts `virt-snaptree serve` with these arguments and waits for its URL. */
export async function startServe(args: string[], env: Record<string, string> = {}, options: { bin?: string } = {}): Promise<{ child: ChildProcess; server: DemoServer }> {
  const child = spawn(process.execPath, [options.bin ?? BIN, 'serve', ...args], {
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

/**
 * A port free on 127.0.0.1 now, for a serve that must come back on the same port after a restart (with
 * `--token-file`, the same URL then works again).
 */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
