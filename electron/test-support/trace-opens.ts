/**
 * Records every file this test process and the tools it starts open, and every program it starts, while `work`
 * runs: strace attaches to the process itself (`-f` follows the qemu-img children), so the engine's exact
 * commands are traced as they run.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `syscalls`: strace's -e trace= set; every call that takes a file name is `%file`. */
export async function traceOpens<T>(work: () => Promise<T>, syscalls = 'openat,open,execve'): Promise<{ result: T | Error; opened: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'snaptree-trace-'));
  const log = join(dir, 'openat.log');
  const strace = spawn('strace', ['-f', '-e', `trace=${syscalls}`, '-o', log, '-p', String(process.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    // strace says "Process N attached" for each thread once it is in place.
    await new Promise<void>((resolve, reject) => {
      let said = '';
      strace.stderr.on('data', (chunk: Buffer) => {
        said += chunk.toString();
        if (said.includes('attached')) setTimeout(resolve, 200);
      });
      strace.on('error', reject);
      strace.on('exit', (code) => reject(new Error(`strace exited (${String(code)}): ${said}`)));
    });
    let result: T | Error;
    try {
      result = await work();
    } catch (error) {
      result = error as Error;
    }
    const exited = new Promise((resolve) => strace.once('exit', resolve));
    strace.kill('SIGINT');
    await exited;
    return { result, opened: await readFile(log, 'utf8') };
  } finally {
    strace.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}
