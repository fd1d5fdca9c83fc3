/**
 * Snapshot thumbnails: QEMU's PPM screen made a small PNG in process; and with real libvirt and QEMU, a snapshot
 * taken by the app of a running domain with a VNC display keeps one in the data folder, served as a data: URL,
 * and deleting the snapshot with the app removes it. A domain with no display, or shut off, gets none. Listing a
 * domain's thumbnails drops those of snapshots deleted with virsh, and nothing else in the folder.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import type { Intent } from '../../shared/ops/plan';
import type { Engine } from '../engine';
import { buildDomainXml } from '../lab/domain-xml';
import { withEngineLab } from '../test-support/engine-lab';
import { TEST_URI, virshSync, type TestLab } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';
import { VirshPerCall } from '../tools/virsh';
import { encodePng, parsePng, parsePpm, readThumbnails, shrink, thumbnailOf } from './thumbnails';

const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;
const mine: string[] = [];

withEngineLab((made, opened) => {
  lab = made;
  engine = opened;
});

afterAll(() => {
  for (const name of mine) {
    for (const args of [['destroy', '--domain', name], ['undefine', '--domain', name, '--snapshots-metadata']]) {
      try {
        virshSync(args);
      } catch {
        // Not running, or gone already.
      }
    }
  }
});

/** A PPM of `width` × `height` pixels, each (x, y, 7). */
function ppm(width: number, height: number): Buffer {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels.set([x % 256, y % 256, 7], (y * width + x) * 3);
  return Buffer.concat([Buffer.from(`P6\n# a comment\n${width} ${height}\n255\n`, 'latin1'), pixels]);
}

/** A PNG's size and its raw rows (filter byte and RGB), read back with zlib. */
function readPng(png: Buffer): { width: number; height: number; rows: Buffer } {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const idat = png.indexOf('IDAT', 0, 'latin1');
  const length = png.readUInt32BE(idat - 4);
  return { width, height, rows: inflateSync(png.subarray(idat + 4, idat + 4 + length)) };
}

describe('a screen as a thumbnail', () => {
  test("QEMU's PPM becomes a PNG with the same pixels", () => {
    const image = parsePpm(ppm(4, 3));
    expect(image).toMatchObject({ width: 4, height: 3 });
    const { width, height, rows } = readPng(encodePng(image ?? { width: 0, height: 0, rgb: new Uint8Array() }));
    expect([width, height]).toEqual([4, 3]);
    // Row 2 (filter byte 0), pixel 3: (3, 2, 7).
    expect([...rows.subarray(2 * 13 + 1 + 9, 2 * 13 + 1 + 12)]).toEqual([3, 2, 7]);
  });

  test('a PNG row is read whatever filter it has (none, sub, up, average, Paeth)', () => {
    // 2 × 5 RGB pixels; row y holds (10y + 1, 10y + 2, 10y + 3) and (10y + 4, 10y + 5, 10y + 6).
    const pixels = [0, 1, 2, 3, 4].map((y) => [1, 2, 3, 4, 5, 6].map((v) => 10 * y + v));
    const paeth = (a: number, b: number, c: number) => {
      const p = a + b - c;
      const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
      return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    };
    const rows = pixels.map((row, filter) => {
      const above = pixels[filter - 1] ?? [0, 0, 0, 0, 0, 0];
      const predict = (i: number) => {
        const [a, b, c] = [row[i - 3] ?? 0, above[i] ?? 0, above[i - 3] ?? 0];
        return [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter] ?? 0;
      };
      return [filter, ...row.map((v, i) => (v - predict(i)) & 0xff)];
    });
    const png = encodePng({ width: 1, height: 1, rgb: new Uint8Array(3) });
    const idat = png.indexOf('IDAT', 0, 'latin1');
    const header = png.subarray(0, 33);
    header.writeUInt32BE(2, 16);
    header.writeUInt32BE(5, 20);
    const body = deflateSync(Buffer.from(rows.flat()));
    const chunk = Buffer.alloc(8 + body.length + 4);
    chunk.writeUInt32BE(body.length, 0);
    chunk.write('IDAT', 4, 'latin1');
    body.copy(chunk, 8);
    const image = parsePng(Buffer.concat([header, chunk, png.subarray(png.indexOf('IEND', idat, 'latin1') - 4)]));
    expect(image === null ? null : [...image.rgb]).toEqual(pixels.flat());
  });

  test('a wide screen is shrunk to at most 320 pixels, keeping its shape; anything but PPM or PNG gives none', () => {
    const small = shrink(parsePpm(ppm(1280, 800)) ?? { width: 0, height: 0, rgb: new Uint8Array() }, 320);
    expect([small.width, small.height]).toEqual([320, 200]);
    const png = thumbnailOf(ppm(1280, 800));
    expect(png === null ? null : readPng(png).width).toBe(320);
    // A PNG (QEMU 7.1 on) is read and shrunk the same way.
    const big = encodePng(parsePpm(ppm(640, 40)) ?? { width: 0, height: 0, rgb: new Uint8Array() });
    const again = thumbnailOf(big);
    const read = again === null ? null : readPng(again);
    expect([read?.width, read?.height]).toEqual([320, 20]);
    // Pixel 10 of row 3 is the mean of pixels 20 and 21 of rows 6 and 7: (20.5, 6.5, 7), rounded.
    expect([...(read?.rows.subarray(3 * 961 + 1 + 30, 3 * 961 + 1 + 33) ?? [])]).toEqual([21, 7, 7]);
    expect(thumbnailOf(Buffer.from('P3\n1 1\n255\n0 0 0\n'))).toBeNull();
    expect(thumbnailOf(Buffer.from('P6\n100000 1\n255\n'))).toBeNull();
  });
});

/** A running domain with one qcow2 disk and, with `display`, a VGA screen shown over VNC on 127.0.0.1. */
async function runningDomain(name: string, display: boolean): Promise<string> {
  const vm = lab.prefix + name;
  const file = lab.path(`${name}.qcow2`);
  await qemuImgCreate(file, { size: 16 * 1024 * 1024 });
  const screen = "    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>\n    <video><model type='vga'/></video>\n  </devices>";
  const xml = buildDomainXml({ name: vm, disks: [{ target: 'vda', file, format: 'qcow2' }] });
  const path = lab.path(`${name}.xml`);
  await writeFile(path, display ? xml.replace('  </devices>', screen) : xml);
  virshSync(['define', '--file', path]);
  mine.push(vm);
  virshSync(['start', '--domain', vm]);
  return vm;
}

async function apply(intent: Intent): Promise<void> {
  const planned = await engine.plan(source, intent);
  if (!planned.ok) throw new Error(planned.refusal.message);
  const result = await engine.apply(planned.plan);
  expect(result.status).toBe('done');
}

/** Every thumbnail file in the data folder. */
async function thumbnailFiles(): Promise<string[]> {
  const root = join(lab.path('data'), 'thumbnails');
  const folders = await readdir(root).catch(() => []);
  return (await Promise.all(folders.map(async (f) => (await readdir(join(root, f))).map((n) => join(root, f, n))))).flat();
}

describe('a snapshot of a running domain with a display', () => {
  test('keeps a thumbnail, served as a PNG data: URL; deleting the snapshot with the app removes it', async () => {
    const vm = await runningDomain('thumb', true);
    // SeaBIOS draws its screen within a moment of the start.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await apply({ op: 'create-snapshot', domain: vm, name: 's1' });
    expect(await thumbnailFiles()).toHaveLength(1);
    const { dataUrl } = await engine.thumbnail(source, vm, 's1');
    expect(dataUrl).toMatch(/^data:image\/png;base64,/);
    const png = readPng(Buffer.from((dataUrl ?? '').split(',')[1] ?? '', 'base64'));
    expect(png.width).toBeGreaterThan(0);
    expect(png.width).toBeLessThanOrEqual(320);
    expect(png.rows.length).toBe((png.width * 3 + 1) * png.height);
    if (process.env.SNAPTREE_THUMBNAIL_OUT) await writeFile(process.env.SNAPTREE_THUMBNAIL_OUT, Buffer.from((dataUrl ?? '').split(',')[1] ?? '', 'base64'));
    expect((await engine.thumbnail(source, vm, 'nope')).dataUrl).toBeNull();
    // The graph's one call for all of a domain's snapshots names only those that have one.
    const all = await readThumbnails(new VirshPerCall(TEST_URI), TEST_URI, vm, ['nope', 's1']);
    expect(Object.keys(all)).toEqual(['s1']);
    expect(all.s1).toBe(dataUrl);

    virshSync(['destroy', '--domain', vm]);
    await apply({ op: 'delete-snapshot', domain: vm, snapshot: 's1' });
    expect(await thumbnailFiles()).toHaveLength(0);
    expect((await engine.thumbnail(source, vm, 's1')).dataUrl).toBeNull();
  });

  test('asking for the thumbnails of a domain that never had one creates no folder', async () => {
    const vm = await runningDomain('never', false);
    const before = await readdir(join(lab.path('data'), 'thumbnails')).catch(() => []);
    expect(await readThumbnails(new VirshPerCall(TEST_URI), TEST_URI, vm, ['s1'])).toEqual({});
    expect((await engine.thumbnail(source, vm, 's1')).dataUrl).toBeNull();
    expect(await readdir(join(lab.path('data'), 'thumbnails')).catch(() => [])).toEqual(before);
  });

  test('a running domain without a display gets none, and the snapshot is taken all the same', async () => {
    const before = (await thumbnailFiles()).length;
    const vm = await runningDomain('blind', false);
    await apply({ op: 'create-snapshot', domain: vm, name: 's1' });
    expect((await thumbnailFiles()).length).toBe(before);
    expect((await engine.thumbnail(source, vm, 's1')).dataUrl).toBeNull();
  });
});

/** The key the app names thumbnail folders and files with (thumbnails.ts). */
const keyOf = (...parts: string[]): string => createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);

describe('thumbnails of snapshots that are gone', () => {
  test('listing the thumbnails removes those of snapshots deleted with virsh, and only the app\'s own files', async () => {
    const vm = lab.prefix + 'orphans';
    const file = lab.path('orphans.qcow2');
    await qemuImgCreate(file, { size: 16 * 1024 * 1024 });
    const xml = lab.path('orphans.xml');
    await writeFile(xml, buildDomainXml({ name: vm, disks: [{ target: 'vda', file, format: 'qcow2' }] }));
    virshSync(['define', '--file', xml]);
    mine.push(vm);
    await apply({ op: 'create-snapshot', domain: vm, name: 's1' });
    await apply({ op: 'create-snapshot', domain: vm, name: 's2' });
    const folder = join(lab.path('data'), 'thumbnails', keyOf(TEST_URI, virshSync(['domuuid', '--domain', vm]).trim()));
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const png = encodePng({ width: 1, height: 1, rgb: new Uint8Array([1, 2, 3]) });
    for (const name of ['s1', 's2', 'deleted']) await writeFile(join(folder, `${keyOf(name)}.png`), png, { mode: 0o600 });
    // Not the app's: a file of another name, a folder and a symbolic link of a thumbnail's name, all left alone.
    const outside = lab.path('outside.png');
    await writeFile(outside, png);
    await writeFile(join(folder, 'notes.txt'), 'mine');
    await mkdir(join(folder, `${keyOf('dir')}.png`));
    await symlink(outside, join(folder, `${keyOf('link')}.png`));

    virshSync(['snapshot-delete', '--domain', vm, '--snapshotname', 's1', '--metadata']);
    const found = await readThumbnails(new VirshPerCall(TEST_URI), TEST_URI, vm, ['s1', 's2', 'deleted']);
    expect(Object.keys(found)).toEqual(['s2']);
    expect((await readdir(folder)).sort()).toEqual([`${keyOf('dir')}.png`, `${keyOf('link')}.png`, `${keyOf('s2')}.png`, 'notes.txt'].sort());
    expect((await lstat(outside)).isFile()).toBe(true);
  });

  test('a domain the connection does not have is not found, not a tool failure', async () => {
    await expect(engine.thumbnail(source, `${lab.prefix}no-such-domain`, 's1')).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    await expect(readThumbnails(new VirshPerCall(TEST_URI), TEST_URI, `${lab.prefix}no-such-domain`, ['s1'])).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });
});
