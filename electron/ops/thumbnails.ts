/**
 * Snapshot thumbnails: when a snapshot is taken of a running domain with a display, a screenshot of that display
 * (`virsh screenshot`, which writes what QEMU gives: PPM, or PNG from QEMU 7.1 on) is kept small, as PNG, in the data folder
 * (thumbnails/<key of connection and domain UUID>/<key of snapshot name>.png). Best effort from end to end: a
 * screenshot that fails never fails the snapshot, which exists by then; nothing here is a step of the operation,
 * and it touches no file of the domain (docs/safety.md). Deleting the snapshot with the app removes its thumbnail;
 * one deleted otherwise loses it the next time the domain's thumbnails are listed.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { AppError } from '../../shared/errors';
import type { Plan } from '../../shared/ops/plan';
import { listedNames } from '../scan/list-snapshots';
import { isNotFound, type Virsh } from '../tools/virsh';
import { dataDir, dataSubdir, pathTaken, readPrivateBytes, writePrivateFile } from './data-dir';

/** A thumbnail's width at most, in pixels: the details panel shows it at up to this size. */
export const THUMBNAIL_WIDTH = 320;
/** How long a screenshot may take. */
const SCREENSHOT_TIMEOUT_MS = 10_000;
/** Largest screen read: anything bigger is not a display QEMU gives. */
const MAX_SIDE = 16384;
/**
 * Most pixels read, an 8K screen's: the guest chooses its screen's size, and reading one holds up the engine,
 * so a larger screen has no thumbnail rather than seconds of work and a gigabyte of memory.
 */
const MAX_PIXELS = 7680 * 4320;

/** Whether a screen of that size is one to read. */
const readable = (width: number, height: number): boolean => width >= 1 && height >= 1 && width <= MAX_SIDE && height <= MAX_SIDE && width * height <= MAX_PIXELS;

/** An RGB image, 3 bytes a pixel, row after row. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** Reads a binary PPM (P6, 8 bits a sample) as QEMU writes a screen; null for anything else. */
export function parsePpm(file: Uint8Array): RgbImage | null {
  const fields: string[] = [];
  let at = 0;
  // Magic, width, height, maxval: separated by white space, with # comments up to the line's end.
  while (fields.length < 4 && at < file.length && at < 1024) {
    const c = file[at] ?? 0;
    if (c === 0x23) {
      while (at < file.length && file[at] !== 0x0a) at++;
    } else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      at++;
    } else {
      const start = at;
      while (at < file.length && ![0x20, 0x09, 0x0a, 0x0d].includes(file[at] ?? 0)) at++;
      fields.push(Buffer.from(file.subarray(start, at)).toString('latin1'));
    }
  }
  at++; // The one white space character before the samples.
  const [magic, w, h, max] = fields;
  const width = Number(w);
  const height = Number(h);
  if (magic !== 'P6' || max !== '255' || !Number.isInteger(width) || !Number.isInteger(height)) return null;
  if (!readable(width, height) || file.length - at < width * height * 3) return null;
  return { width, height, rgb: file.subarray(at, at + width * height * 3) };
}

/** The image made at most `maxWidth` wide, each new pixel the mean of the pixels it covers. */
export function shrink(image: RgbImage, maxWidth: number): RgbImage {
  if (image.width <= maxWidth) return image;
  const width = maxWidth;
  const height = Math.max(1, Math.round((image.height * maxWidth) / image.width));
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor((y * image.height) / height);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * image.height) / height));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor((x * image.width) / width);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * image.width) / width));
      const sum = [0, 0, 0];
      for (let sy = y0; sy < y1; sy++) {
        for (let sx = x0; sx < x1; sx++) {
          const i = (sy * image.width + sx) * 3;
          for (let c = 0; c < 3; c++) sum[c] = (sum[c] ?? 0) + (image.rgb[i + c] ?? 0);
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      for (let c = 0; c < 3; c++) rgb[(y * width + x) * 3 + c] = Math.round((sum[c] ?? 0) / n);
    }
  }
  return { width, height, rgb };
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** The image as a PNG file: 8-bit RGB, no filter, one zlib stream. */
export function encodePng(image: RgbImage): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(image.width, 0);
  header.writeUInt32BE(image.height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const stride = image.width * 3;
  const rows = Buffer.alloc((stride + 1) * image.height);
  for (let y = 0; y < image.height; y++) rows.set(image.rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', new Uint8Array())]);
}

const PNG_SIGNATURE = '89504e470d0a1a0a';

/** Whether `bytes` start as a PNG file does. */
export const isPng = (bytes: Uint8Array): boolean => Buffer.from(bytes.subarray(0, 8)).toString('hex') === PNG_SIGNATURE;

const key = (...parts: string[]): string => createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);

/** Whether virsh failed for want of the domain: it says only "failed to get domain" for a name it does not have. */
const noSuchDomain = (error: unknown): boolean => error instanceof AppError && error.code === 'E_TOOL' && /failed to get domain/i.test(String(error.details?.stderr ?? ''));

/** The domain's UUID; E_NOT_FOUND when the connection has no such domain. */
async function uuidOf(virsh: Virsh, domain: string): Promise<string> {
  try {
    return (await virsh.run(['domuuid', '--domain', domain])).trim();
  } catch (error) {
    if (isNotFound(error) || noSuchDomain(error)) throw new AppError('E_NOT_FOUND', `No domain named "${domain}" in this source.`, { domain });
    throw error;
  }
}

/** The folder of a domain's thumbnails, named after its connection and UUID (never after a name a user chose). */
async function folderOf(virsh: Virsh, uri: string, domain: string): Promise<string> {
  return dataSubdir('thumbnails', key(uri, await uuidOf(virsh, domain)));
}

/** That folder, checked, when it exists; null when the domain has no thumbnail (reading creates no folder). */
async function existingFolderOf(virsh: Virsh, uri: string, domain: string): Promise<string | null> {
  const uuid = await uuidOf(virsh, domain);
  if (!(await pathTaken(join(dataDir(), 'thumbnails', key(uri, uuid))))) return null;
  return dataSubdir('thumbnails', key(uri, uuid));
}

const fileIn = (folder: string, snapshot: string): string => join(folder, `${key(snapshot)}.png`);

/** The name of a thumbnail file the app writes: the key of a snapshot name, `.png`. */
const THUMBNAIL_FILE = /^[0-9a-f]{32}\.png$/;
/** How many lines of virsh's list one snapshot name may span: a thumbnail of a name with line breaks is kept. */
const NAME_LINES = 5;

/** Whether the running domain shows a display (its live definition has `<graphics>`). */
async function hasDisplay(virsh: Virsh, domain: string): Promise<boolean> {
  if ((await virsh.run(['domstate', '--domain', domain])).trim() !== 'running') return false;
  return /<graphics\b/.test(await virsh.run(['dumpxml', '--domain', domain]));
}

/** The screen of the domain, read into a private temporary folder; null when virsh gives none. */
async function screenshot(virsh: Virsh, domain: string): Promise<Buffer | null> {
  const dir = await mkdtemp(join(tmpdir(), 'snaptree-screen-'));
  try {
    const file = join(dir, 'screen');
    // A picture is not worth holding up the operation's answer: a screen that does not come soon is given up.
    await virsh.run(['screenshot', '--domain', domain, '--file', file], { timeoutMs: SCREENSHOT_TIMEOUT_MS });
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The Paeth predictor of the PNG format: of a, b and c, the one nearest to a + b - c. */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * One PNG row unfiltered in place (filters 0 to 4 of the PNG format), given the row above (zeros for the first);
 * false for an unknown filter. One loop a filter: a screen has millions of bytes.
 */
function unfilter(filter: number, row: Uint8Array, above: Uint8Array, bpp: number): boolean {
  const at = (bytes: Uint8Array, i: number): number => (i >= 0 ? (bytes[i] ?? 0) : 0);
  if (filter === 0) return true;
  if (filter === 1) for (let i = bpp; i < row.length; i++) row[i] = (at(row, i) + at(row, i - bpp)) & 0xff;
  else if (filter === 2) for (let i = 0; i < row.length; i++) row[i] = (at(row, i) + at(above, i)) & 0xff;
  else if (filter === 3) for (let i = 0; i < row.length; i++) row[i] = (at(row, i) + ((at(row, i - bpp) + at(above, i)) >> 1)) & 0xff;
  else if (filter === 4) for (let i = 0; i < row.length; i++) row[i] = (at(row, i) + paeth(at(row, i - bpp), at(above, i), at(above, i - bpp))) & 0xff;
  else return false;
  return true;
}

/** Reads an 8-bit RGB or RGBA PNG that is not interlaced (what QEMU writes), alpha dropped; null for any other. */
export function parsePng(file: Uint8Array): RgbImage | null {
  const png = Buffer.from(file);
  if (!isPng(png) || png.length < 33 || png.toString('latin1', 12, 16) !== 'IHDR') return null;
  const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
  const [depth, colour, interlace] = [png[24], png[25], png[28]];
  const channels = colour === 2 ? 3 : colour === 6 ? 4 : 0;
  if (depth !== 8 || channels === 0 || interlace !== 0 || !readable(width, height)) return null;
  const data: Buffer[] = [];
  for (let at = 8; at + 8 <= png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT') data.push(png.subarray(at + 8, at + 8 + length));
    if (type === 'IEND') break;
    at += 12 + length;
  }
  const stride = width * channels;
  const raw = inflateSync(Buffer.concat(data), { maxOutputLength: (stride + 1) * height });
  if (raw.length < (stride + 1) * height) return null;
  const rgb = new Uint8Array(width * height * 3);
  let above = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    if (!unfilter(raw[y * (stride + 1)] ?? 0, row, above, channels)) return null;
    if (channels === 3) rgb.set(row, y * stride);
    else for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) rgb[(y * width + x) * 3 + c] = row[x * 4 + c] ?? 0;
    above = row;
  }
  return { width, height, rgb };
}

/** The screen as a small PNG: QEMU's PPM or PNG read and shrunk; null for anything else. */
export function thumbnailOf(screen: Uint8Array): Buffer | null {
  try {
    const image = isPng(screen) ? parsePng(screen) : parsePpm(screen);
    return image === null ? null : encodePng(shrink(image, THUMBNAIL_WIDTH));
  } catch {
    // A damaged file (a zlib stream that does not inflate): no thumbnail.
    return null;
  }
}

/** Keeps a thumbnail of the running domain's screen for `snapshot`; false when there is none to keep. Never throws. */
export async function saveThumbnail(virsh: Virsh, uri: string, domain: string, snapshot: string): Promise<boolean> {
  try {
    if (!(await hasDisplay(virsh, domain))) return false;
    const screen = await screenshot(virsh, domain);
    const png = screen === null ? null : thumbnailOf(screen);
    if (png === null) return false;
    await writePrivateFile(fileIn(await folderOf(virsh, uri, domain), snapshot), png);
    return true;
  } catch {
    return false;
  }
}

/** A thumbnail file as a `data:` URL; null when there is none. */
async function dataUrlOf(file: string): Promise<string | null> {
  const bytes = await readPrivateBytes(file);
  return bytes === null || !isPng(bytes) ? null : `data:image/png;base64,${bytes.toString('base64')}`;
}

/** The snapshot's thumbnail as a `data:` URL, or null when it has none. */
export async function readThumbnail(virsh: Virsh, uri: string, domain: string, snapshot: string): Promise<string | null> {
  const folder = await existingFolderOf(virsh, uri, domain);
  return folder === null ? null : dataUrlOf(fileIn(folder, snapshot));
}

/** The thumbnails of those of `snapshots` that have one, by name, as `data:` URLs: one look at the domain's folder. */
export async function readThumbnails(virsh: Virsh, uri: string, domain: string, snapshots: readonly string[]): Promise<Record<string, string>> {
  const folder = await existingFolderOf(virsh, uri, domain);
  if (folder === null) return {};
  const kept = new Set(await readdir(folder));
  await dropOrphans(virsh, domain, folder, kept);
  const found: Record<string, string> = {};
  for (const snapshot of snapshots) {
    const file = fileIn(folder, snapshot);
    const url = kept.has(basename(file)) ? await dataUrlOf(file) : null;
    if (url !== null) found[snapshot] = url;
  }
  return found;
}

/**
 * Removes, of the files `listed` in a domain's thumbnails folder, those of snapshots the domain no longer has
 * (deleted with virsh): only regular files of the app's naming, never through a symbolic link. The snapshots are
 * listed after the folder was read, so a thumbnail kept meanwhile is never among those removed. Never throws.
 */
async function dropOrphans(virsh: Virsh, domain: string, folder: string, listed: ReadonlySet<string>): Promise<void> {
  try {
    const lines = listedNames(await virsh.run(['snapshot-list', '--domain', domain, '--name']));
    // A name with line breaks comes as several lines (scan/list-snapshots.ts): every run of a few lines counts.
    const names = lines.flatMap((_, i) => Array.from({ length: Math.min(NAME_LINES, lines.length - i) }, (_, n) => lines.slice(i, i + n + 1).join('\n')));
    const live = new Set(names.map((n) => basename(fileIn(folder, n))));
    for (const name of listed) {
      if (!THUMBNAIL_FILE.test(name) || live.has(name)) continue;
      const file = join(folder, name);
      if ((await lstat(file)).isFile()) await unlink(file);
    }
  } catch {
    // The snapshots could not be listed, or a file went meanwhile: what is left waits for the next look.
  }
}

/** Removes the snapshot's thumbnail, if it has one. Never throws. */
export async function removeThumbnail(virsh: Virsh, uri: string, domain: string, snapshot: string): Promise<void> {
  try {
    const folder = await existingFolderOf(virsh, uri, domain);
    if (folder !== null) await unlink(fileIn(folder, snapshot));
  } catch {
    // None kept, or the domain is gone: nothing to remove.
  }
}

/**
 * After an operation that ran to its end: a thumbnail for the snapshot it took, none kept for those it deleted. A
 * snapshot taken without one drops any thumbnail left under its name (by one that virsh deleted), never showing
 * another snapshot's screen.
 */
export async function keepThumbnails(virsh: Virsh, uri: string, plan: Plan): Promise<void> {
  const { intent, impact } = plan;
  if (intent.op === 'create-snapshot' && !(await saveThumbnail(virsh, uri, intent.domain, intent.name))) await removeThumbnail(virsh, uri, intent.domain, intent.name);
  for (const snapshot of impact.removedSnapshots) await removeThumbnail(virsh, uri, intent.domain, snapshot);
}
