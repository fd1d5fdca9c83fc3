/**
 * qemu-img's command lines, built from data by pure functions: the engine's qemu-img adapter
 * (electron/tools/qemu-img.ts) runs them, and a plan's steps (shared/ops/step-command.ts) are run and previewed
 * through the same builders, so what the preview shows is what runs. Formats are always named (`-f`, `-F`, `-O`),
 * never probed (docs/safety.md, rule 9); `--` ends the options before any path.
 */
import { AppError } from './errors';

/** An image and its format, named so qemu-img never probes it. */
export interface ImageRef {
  path: string;
  format: string;
}

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

export interface CreateOptions {
  /** qcow2 by default. */
  format?: string;
  /** Bytes; an overlay takes its backing file's size when left out. */
  size?: number;
  backing?: ImageRef;
}

/** `qemu-img create`: a base image of `size` bytes, or an overlay on `backing`, its format named with `-F`. */
export function createArgs(path: string, options: CreateOptions): string[] {
  const args = ['create', '-q', '-f', options.format ?? 'qcow2'];
  if (options.backing !== undefined) args.push('-b', options.backing.path, '-F', options.backing.format);
  args.push('--', path);
  if (options.size !== undefined) args.push(String(options.size));
  return args;
}

/**
 * `qemu-img commit -p -d -b base`: writes what `top` holds over its backing chain into `base` and leaves `top`
 * as it was (`-d`); without a base, into the image right below. Argument order as the plan's commit step.
 */
export function commitArgs(top: ImageRef, base?: string): string[] {
  return ['commit', '-f', top.format, '-p', '-d', ...(base === undefined ? [] : ['-b', base]), '--', top.path];
}

/**
 * `qemu-img rebase`: points `image` at `backing` (null: no backing file). Unsafe (`-u`) only rewrites the name;
 * safe copies into `image` whatever differs between its old and new backing chains, so the guest's view stays
 * the same, and reports progress. A safe rebase opens the old chain: its formats must be recorded, or qemu-img
 * probes them (the caller checks, docs/safety.md). Argument order as the plan's rebase step.
 */
export function rebaseArgs(image: ImageRef, backing: ImageRef | null, mode: 'safe' | 'unsafe'): string[] {
  const link = backing === null ? ['-b', ''] : ['-F', backing.format, '-b', backing.path];
  return ['rebase', ...(mode === 'unsafe' ? ['-u'] : ['-p']), '-f', image.format, ...link, '--', image.path];
}

/** `qemu-img compare`, the second image's format named with `-F`; `shared` (`-U`) for display only. */
export function compareArgs(a: ImageRef, b: ImageRef, shared = false): string[] {
  return ['compare', ...(shared ? ['-U'] : []), '-f', a.format, '-F', b.format, '--', a.path, b.path];
}

/** `qemu-img map --output=json`; `shared` (`-U`) reads an image a running VM holds, for display only. */
export function mapArgs(image: ImageRef, shared = false): string[] {
  return ['map', '--output=json', ...(shared ? ['-U'] : []), '-f', image.format, '--', image.path];
}

export interface CheckOptions {
  /** `-r`: repair leaks only, or everything (docs/safety.md: only on an image nothing uses). */
  repair?: 'leaks' | 'all';
  /** `-U`: check an image a running VM holds, read-only; never with a repair. */
  shared?: boolean;
  /** What it prints: a JSON report for the engine to read (the default), or qemu-img's own text, as a plan's repair step shows and logs it. */
  output?: 'json' | 'text';
}

/** `qemu-img check`, and with `repair`, `check -r`. */
export function checkArgs(image: ImageRef, options: CheckOptions = {}): string[] {
  if (options.repair !== undefined && options.shared === true) throw new AppError('E_BAD_INPUT', 'An image in use cannot be repaired.', { path: image.path });
  const repair = options.repair === undefined ? [] : ['-r', options.repair];
  const output = options.output === 'text' ? [] : ['--output=json'];
  return ['check', ...output, ...repair, ...(options.shared === true ? ['-U'] : []), '-f', image.format, '--', image.path];
}

/** What `measure` sizes: an existing image (`shared`: one a running VM holds), or an empty one of `size` bytes. */
export type MeasureSource = { image: ImageRef; shared?: boolean } | { size: number };

export function measureArgs(source: MeasureSource, targetFormat: string): string[] {
  const from = 'size' in source ? ['--size', String(source.size)] : [...(source.shared === true ? ['-U'] : []), '-f', source.image.format, '--', source.image.path];
  return ['measure', '--output=json', '-O', targetFormat, ...from];
}

export interface ConvertOptions {
  /** `-U`: read a source a running VM holds. */
  shared?: boolean;
  /** `-c`: compress the target's clusters (qcow2). */
  compress?: boolean;
  /**
   * `-t none`: the target is written with O_DIRECT, past the page cache, so what is written is on the disk as it
   * goes (a flush after makes it durable) and the copy runs at the disk's speed, not held up by writeback.
   */
  direct?: boolean;
}

/** `qemu-img convert -p`: the source's whole guest view, chain included, into a new standalone image. */
export function convertArgs(from: ImageRef, to: ImageRef, options: ConvertOptions = {}): string[] {
  const flags = [...(options.shared === true ? ['-U'] : []), ...(options.compress === true ? ['-c'] : []), ...(options.direct === true ? ['-t', 'none'] : [])];
  return ['convert', '-p', ...flags, '-f', from.format, '-O', to.format, '--', from.path, to.path];
}
