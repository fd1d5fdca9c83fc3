/**
 * The qemu-img adapter: `info --output=json`, with or without `--backing-chain`. Parses into plain records;
 * failures become a typed ToolError.
 */
import { execa } from 'execa';
import { z } from 'zod';
import { TOOL_ENV, toolError } from './tool-error';

const infoSchema = z.object({
  filename: z.string(),
  format: z.string(),
  'virtual-size': z.number(),
  'actual-size': z.number().optional(),
  'backing-filename': z.string().optional(),
  'full-backing-filename': z.string().optional(),
  'backing-filename-format': z.string().optional(),
  'dirty-flag': z.boolean().optional(),
});

export type ImageInfo = z.infer<typeof infoSchema>;

export interface InfoOptions {
  /** The image's format, so qemu-img never probes it. */
  format?: string;
  /** Follow and report the whole backing chain. */
  backingChain?: boolean;
  /** `-U`: read an image a running VM holds. Only for display, never as the basis of a write. */
  shared?: boolean;
}

export function infoArgs(path: string, options: InfoOptions = {}): string[] {
  const args = ['info', '--output=json'];
  if (options.backingChain) args.push('--backing-chain');
  if (options.shared) args.push('-U');
  if (options.format !== undefined) args.push('-f', options.format);
  args.push('--', path);
  return args;
}

/** Parses `qemu-img info --output=json` (one object, or an array with `--backing-chain`). */
export function parseInfo(stdout: string): ImageInfo[] {
  const raw: unknown = JSON.parse(stdout);
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((item) => infoSchema.parse(item));
}

/** Runs `qemu-img info`; the result lists the image first, then its backing layers when asked. */
export async function qemuImgInfo(path: string, options: InfoOptions = {}): Promise<ImageInfo[]> {
  const args = infoArgs(path, options);
  const result = await execa('qemu-img', args, { reject: false, env: TOOL_ENV, stdin: 'ignore' });
  if (result.exitCode !== 0) throw toolError('qemu-img', args, result.exitCode ?? null, String(result.stderr));
  return parseInfo(String(result.stdout));
}

/** Whether a qemu-img failure is a lock held by another process (a running VM). */
export function isLockError(stderr: string): boolean {
  return /Failed to get .*lock|Is another process using the image/i.test(stderr);
}

async function runQemuImg(args: string[]): Promise<string> {
  const result = await execa('qemu-img', args, { reject: false, env: TOOL_ENV, stdin: 'ignore' });
  if (result.exitCode !== 0) throw toolError('qemu-img', args, result.exitCode ?? null, String(result.stderr));
  return String(result.stdout);
}

/** `qemu-img create`: a new base image of `size` bytes, or an overlay on `backing` with its format. */
export async function qemuImgCreate(
  path: string,
  options: { format?: string; size?: number; backing?: { path: string; format: string } },
): Promise<void> {
  const args = ['create', '-q', '-f', options.format ?? 'qcow2'];
  if (options.backing !== undefined) args.push('-b', options.backing.path, '-F', options.backing.format);
  args.push('--', path);
  if (options.size !== undefined) args.push(String(options.size));
  await runQemuImg(args);
}

/** `qemu-img compare`: whether two images read the same guest-visible bytes. Both formats are named, never probed. */
export async function qemuImgSame(a: { path: string; format: string }, b: { path: string; format: string }): Promise<boolean> {
  const args = ['compare', '-q', '-f', a.format, '-F', b.format, '--', a.path, b.path];
  const result = await execa('qemu-img', args, { reject: false, env: TOOL_ENV, stdin: 'ignore' });
  if (result.exitCode === 0) return true;
  if (result.exitCode === 1) return false;
  throw toolError('qemu-img', args, result.exitCode ?? null, String(result.stderr));
}
