/**
 * The qemu-io adapter: writes a byte pattern into an image, as a guest would. The demo lab and the tests use
 * it so that sizes and comparisons are real.
 */
import { execa } from 'execa';
import { TOOL_ENV, toolError } from './tool-error';

/** Writes `length` bytes of `pattern` (0-255) at `offset` into the image's guest view. */
export async function writePattern(path: string, format: string, pattern: number, offset: number, length: number): Promise<void> {
  const command = `write -P ${pattern & 0xff} ${offset} ${length}`;
  const args = ['-f', format, '-c', command, '--', path];
  const result = await execa('qemu-io', args, { reject: false, env: TOOL_ENV, stdin: 'ignore' });
  if (result.exitCode !== 0 || /error|failed/i.test(String(result.stdout))) {
    throw toolError('qemu-io', args, result.exitCode ?? null, `${String(result.stderr)}${String(result.stdout)}`);
  }
}
