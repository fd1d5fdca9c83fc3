/**
 * The qemu-img adapter: every qemu-img command the engine runs, through a HostRunner. Each command has a pure
 * argument builder (`commitArgs`, `checkArgs`, …) and a function that runs it and parses what it prints
 * (qemu-img-output.ts). Formats are always named (`-f`, `-F`, `-O`), never probed: a probed format lets a guest
 * make qemu-img open a host file named in a header it wrote (docs/safety.md, rule 9). `--` ends the options.
 */
import { AppError } from '../../shared/errors';
import {
  checkArgs,
  commitArgs,
  compareArgs,
  convertArgs,
  createArgs,
  infoArgs,
  mapArgs,
  measureArgs,
  rebaseArgs,
  type CheckOptions,
  type ConvertOptions,
  type CreateOptions,
  type ImageRef,
  type InfoOptions,
  type MeasureSource,
} from '../../shared/qemu-img-args';
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

export type { CheckOptions, ConvertOptions, CreateOptions, ImageRef, InfoOptions, MeasureSource } from '../../shared/qemu-img-args';
export { checkArgs, commitArgs, compareArgs, convertArgs, createArgs, infoArgs, mapArgs, measureArgs, rebaseArgs } from '../../shared/qemu-img-args';

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

/** Runs `qemu-img info`; the result lists the image first, then its backing layers when asked. */
export async function qemuImgInfo(path: string, options: InfoOptions & QemuImgOptions = {}): Promise<ImageInfo[]> {
  return parseInfo(await runQemuImg(infoArgs(path, options), options));
}

/** Makes a new base image or overlay (see createArgs). */
export async function qemuImgCreate(path: string, options: CreateOptions, run: QemuImgOptions = {}): Promise<void> {
  await runQemuImg(createArgs(path, options), run);
}

/** Runs a commit (see commitArgs), reporting progress. */
export async function qemuImgCommit(top: ImageRef, base: string | undefined, options: QemuImgOptions = {}): Promise<void> {
  await runQemuImg(commitArgs(top, base), options);
}

/** Runs a rebase (see rebaseArgs). */
export async function qemuImgRebase(image: ImageRef, backing: ImageRef | null, mode: 'safe' | 'unsafe', options: QemuImgOptions = {}): Promise<void> {
  await runQemuImg(rebaseArgs(image, backing, mode), options);
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

/** The guest's address space of an image as extents: which layer serves each, and whether it is data or zeros. */
export async function qemuImgMap(image: ImageRef, shared = false, options: QemuImgOptions = {}): Promise<MapExtent[]> {
  return parseMap(await runQemuImg(mapArgs(image, shared), options));
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

/** Bytes an image would take converted to `targetFormat`. */
export async function qemuImgMeasure(source: MeasureSource, targetFormat: string, options: QemuImgOptions = {}): Promise<Measure> {
  return parseMeasure(await runQemuImg(measureArgs(source, targetFormat), options));
}

/**
 * Runs a conversion, reporting progress. A cancelled or failed one may leave a partial target behind: the
 * caller, which chose where it goes, removes it.
 */
export async function qemuImgConvert(from: ImageRef, to: ImageRef, convert: ConvertOptions = {}, options: QemuImgOptions = {}): Promise<void> {
  await runQemuImg(convertArgs(from, to, convert), options);
}
