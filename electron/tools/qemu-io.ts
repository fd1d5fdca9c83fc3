/**
 * The qemu-io adapter: writes a byte pattern into an image, as a guest would. The demo lab and the tests use
 * it so that sizes and comparisons are real.
 */
import { localRunner, type HostRunner } from './host-runner';
import { toolError } from './tool-error';

/** Writes `length` bytes of `pattern` (0-255) at `offset` into the image's guest view. */
export async function writePattern(
  path: string,
  format: string,
  pattern: number,
  offset: number,
  length: number,
  runner: HostRunner = localRunner,
): Promise<void> {
  const command = `write -P ${pattern & 0xff} ${offset} ${length}`;
  const args = ['-f', format, '-c', command, '--', path];
  // qemu-io reports a failed command on stdout and still exits 0.
  const result = await runner.run('qemu-io', args);
  if (result.exitCode !== 0 || /error|failed/i.test(result.stdout)) {
    throw toolError('qemu-io', args, result.exitCode, `${result.stderr}${result.stdout}`);
  }
}
