/**
 * The qemu-img adapter: `info --output=json`, with or without `--backing-chain`. Parses into plain records;
 * failures become a typed ToolError.
 */
import { z } from 'zod';
import { localRunner, type HostRunner } from './host-runner';
import { toolError } from './tool-error';

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
  return parseInfo(await runQemuImg(infoArgs(path, options)));
}

/** Whether a qemu-img failure is a lock held by another process (a running VM). */
export function isLockError(stderr: string): boolean {
  return /Failed to get .*lock|Is another process using the image/i.test(stderr);
}

export interface QemuImgOptions {
  /** Aborting it stops qemu-img and fails the call with E_CANCELLED. */
  signal?: AbortSignal;
  /** Percent done, from `-p` output; only commands given `-p` report it. */
  onProgress?: (percent: number) => void;
  /** None by default: commit, rebase and convert of a large image take as long as they take. */
  timeoutMs?: number;
  /** Where qemu-img runs; this computer by default. */
  runner?: HostRunner;
}

/**
 * Reads `-p` output as it streams: records like "    (42.00/100%)" ended by carriage returns. A record cut
 * between two chunks is kept until its end arrives, so each percentage is reported whole, once.
 */
export function progressReader(onProgress: (percent: number) => void): (chunk: string) => void {
  let pending = '';
  return (chunk) => {
    const records = (pending + chunk).split(/[\r\n]/);
    pending = records.pop() ?? '';
    for (const record of records) {
      const match = /\((\d+(?:\.\d+)?)\/100%\)/.exec(record);
      if (match) onProgress(Number(match[1]));
    }
  };
}

/**
 * Runs qemu-img with these arguments and returns its stdout. A non-zero exit becomes a ToolError; an abort,
 * E_CANCELLED; `-p` progress goes to onProgress.
 */
export async function runQemuImg(args: string[], options: QemuImgOptions = {}): Promise<string> {
  const runner = options.runner ?? localRunner;
  const onProgress = options.onProgress;
  const result = await runner.run('qemu-img', args, {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(onProgress === undefined ? {} : { onStdout: progressReader(onProgress) }),
  });
  if (result.exitCode !== 0) throw toolError('qemu-img', args, result.exitCode, result.stderr);
  return result.stdout;
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
  const result = await localRunner.run('qemu-img', args);
  if (result.exitCode === 0) return true;
  if (result.exitCode === 1) return false;
  throw toolError('qemu-img', args, result.exitCode, result.stderr);
}
