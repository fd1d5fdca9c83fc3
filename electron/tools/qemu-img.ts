/**
 * The qemu-img adapter: every qemu-img command the engine runs, through a HostRunner. Each command has a pure
 * argument builder (`commitArgs`, `checkArgs`, …) and a function that runs it and parses what it prints
 * (qemu-img-output.ts). Formats are always named (`-f`, `-F`, `-O`), never probed: a probed format lets a guest
 * make qemu-img open a host file named in a header it wrote (docs/safety.md, rule 9). `--` ends the options.
 */
import { AppError } from '../../shared/errors';
import { localRunner, type HostRunner } from './host-runner';
import {
  parseCheck,
  parseCompare,
  parseInfo,
  parseMap,
  parseMeasure,
  progressReader,
  type CheckReport,
  type CompareVerdict,
  type ImageInfo,
  type MapExtent,
  type Measure,
} from './qemu-img-output';
import { toolError } from './tool-error';

export { parseCheck, parseCompare, parseInfo, parseMap, parseMeasure, progressReader } from './qemu-img-output';
export type { CheckReport, CompareVerdict, ImageInfo, MapExtent, Measure } from './qemu-img-output';

/** An image and its format, named so qemu-img never probes it. */
export interface ImageRef {
  path: string;
  format: string;
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

function runnerOptions(options: QemuImgOptions) {
  return {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.onProgress === undefined ? {} : { onStdout: progressReader(options.onProgress) }),
  };
}

/**
 * Runs qemu-img with these arguments and returns its stdout. A non-zero exit becomes a ToolError; an abort,
 * E_CANCELLED; `-p` progress goes to onProgress.
 */
export async function runQemuImg(args: string[], options: QemuImgOptions = {}): Promise<string> {
  const result = await (options.runner ?? localRunner).run('qemu-img', args, runnerOptions(options));
  if (result.exitCode !== 0) throw toolError('qemu-img', args, result.exitCode, result.stderr);
  return result.stdout;
}

/** Whether a qemu-img failure is a lock held by another process (a running VM). */
export function isLockError(stderr: string): boolean {
  return /Failed to get .*lock|Is another process using the image/i.test(stderr);
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

/** Runs `qemu-img info`; the result lists the image first, then its backing layers when asked. */
export async function qemuImgInfo(path: string, options: InfoOptions & QemuImgOptions = {}): Promise<ImageInfo[]> {
  return parseInfo(await runQemuImg(infoArgs(path, options), options));
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

/** Makes a new base image or overlay (see createArgs). */
export async function qemuImgCreate(path: string, options: CreateOptions, run: QemuImgOptions = {}): Promise<void> {
  await runQemuImg(createArgs(path, options), run);
}

/**
 * `qemu-img commit -p -d -b base`: writes what `top` holds over its backing chain into `base` and leaves `top`
 * as it was (`-d`); without a base, into the image right below. Argument order as the plan's commit step.
 */
export function commitArgs(top: ImageRef, base?: string): string[] {
  return ['commit', '-f', top.format, '-p', '-d', ...(base === undefined ? [] : ['-b', base]), '--', top.path];
}

/** Runs a commit (see commitArgs), reporting progress. */
export async function qemuImgCommit(top: ImageRef, base: string | undefined, options: QemuImgOptions = {}): Promise<void> {
  await runQemuImg(commitArgs(top, base), options);
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

/** Runs a rebase (see rebaseArgs). */
export async function qemuImgRebase(image: ImageRef, backing: ImageRef | null, mode: 'safe' | 'unsafe', options: QemuImgOptions = {}): Promise<void> {
  await runQemuImg(rebaseArgs(image, backing, mode), options);
}

/** `qemu-img compare`, the second image's format named with `-F`; `shared` (`-U`) for display only. */
export function compareArgs(a: ImageRef, b: ImageRef, shared = false): string[] {
  return ['compare', ...(shared ? ['-U'] : []), '-f', a.format, '-F', b.format, '--', a.path, b.path];
}

/** Whether two images read the same guest-visible bytes, and if not, the first offset that differs. */
export async function qemuImgCompare(a: ImageRef, b: ImageRef, shared = false, options: QemuImgOptions = {}): Promise<CompareVerdict> {
  const args = compareArgs(a, b, shared);
  const result = await (options.runner ?? localRunner).run('qemu-img', args, runnerOptions(options));
  const verdict = parseCompare(result.exitCode, result.stdout);
  if (verdict === null) throw toolError('qemu-img', args, result.exitCode, result.stderr);
  return verdict;
}

/** Whether two images read the same guest-visible bytes. Both formats are named, never probed. */
export async function qemuImgSame(a: ImageRef, b: ImageRef): Promise<boolean> {
  return (await qemuImgCompare(a, b)).identical;
}

/** `qemu-img map --output=json`; `shared` (`-U`) reads an image a running VM holds, for display only. */
export function mapArgs(image: ImageRef, shared = false): string[] {
  return ['map', '--output=json', ...(shared ? ['-U'] : []), '-f', image.format, '--', image.path];
}

/** The guest's address space of an image as extents: which layer serves each, and whether it is data or zeros. */
export async function qemuImgMap(image: ImageRef, shared = false, options: QemuImgOptions = {}): Promise<MapExtent[]> {
  return parseMap(await runQemuImg(mapArgs(image, shared), options));
}

export interface CheckOptions {
  /** `-r`: repair leaks only, or everything (docs/safety.md: only on an image nothing uses). */
  repair?: 'leaks' | 'all';
  /** `-U`: check an image a running VM holds, read-only; never with a repair. */
  shared?: boolean;
}

export function checkArgs(image: ImageRef, options: CheckOptions = {}): string[] {
  if (options.repair !== undefined && options.shared === true) throw new AppError('E_BAD_INPUT', 'An image in use cannot be repaired.', { path: image.path });
  const repair = options.repair === undefined ? [] : ['-r', options.repair];
  return ['check', '--output=json', ...repair, ...(options.shared === true ? ['-U'] : []), '-f', image.format, '--', image.path];
}

/**
 * Checks (and with `repair`, repairs) an image's metadata. Exit 0, 2 (corruptions) and 3 (leaks) all carry the
 * report; 1 does too when qemu-img could say anything. A format without checks (raw, exit 63) is E_NOT_SUPPORTED.
 */
export async function qemuImgCheck(image: ImageRef, check: CheckOptions = {}, options: QemuImgOptions = {}): Promise<CheckReport> {
  const args = checkArgs(image, check);
  const result = await (options.runner ?? localRunner).run('qemu-img', args, runnerOptions(options));
  if (result.exitCode === 63) throw new AppError('E_NOT_SUPPORTED', `qemu-img cannot check ${image.format} images.`, { path: image.path, format: image.format });
  const reported = result.exitCode !== null && [0, 1, 2, 3].includes(result.exitCode) && result.stdout.trimStart().startsWith('{');
  if (!reported) throw toolError('qemu-img', args, result.exitCode, result.stderr);
  return parseCheck(result.stdout);
}

/** What `measure` sizes: an existing image (`shared`: one a running VM holds), or an empty one of `size` bytes. */
export type MeasureSource = { image: ImageRef; shared?: boolean } | { size: number };

export function measureArgs(source: MeasureSource, targetFormat: string): string[] {
  const from = 'size' in source ? ['--size', String(source.size)] : [...(source.shared === true ? ['-U'] : []), '-f', source.image.format, '--', source.image.path];
  return ['measure', '--output=json', '-O', targetFormat, ...from];
}

/** Bytes an image would take converted to `targetFormat`. */
export async function qemuImgMeasure(source: MeasureSource, targetFormat: string, options: QemuImgOptions = {}): Promise<Measure> {
  return parseMeasure(await runQemuImg(measureArgs(source, targetFormat), options));
}

export interface ConvertOptions {
  /** `-U`: read a source a running VM holds. */
  shared?: boolean;
  /** `-c`: compress the target's clusters (qcow2). */
  compress?: boolean;
}

/** `qemu-img convert -p`: the source's whole guest view, chain included, into a new standalone image. */
export function convertArgs(from: ImageRef, to: ImageRef, options: ConvertOptions = {}): string[] {
  const flags = [...(options.shared === true ? ['-U'] : []), ...(options.compress === true ? ['-c'] : [])];
  return ['convert', '-p', ...flags, '-f', from.format, '-O', to.format, '--', from.path, to.path];
}

/**
 * Runs a conversion, reporting progress. A cancelled or failed one may leave a partial target behind: the
 * caller, which chose where it goes, removes it.
 */
export async function qemuImgConvert(from: ImageRef, to: ImageRef, convert: ConvertOptions = {}, options: QemuImgOptions = {}): Promise<void> {
  await runQemuImg(convertArgs(from, to, convert), options);
}
