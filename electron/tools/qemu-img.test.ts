import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AppError } from '../../shared/errors';
import { corruptRefcounts, leakCluster } from '../test-support/damage';
import type { HostRunner } from './host-runner';
import { localRunner } from './host-runner';
import {
  checkArgs,
  commitArgs,
  compareArgs,
  convertArgs,
  createArgs,
  infoArgs,
  mapArgs,
  measureArgs,
  qemuImgCheck,
  qemuImgCommit,
  qemuImgCompare,
  qemuImgConvert,
  qemuImgCreate,
  qemuImgInfo,
  qemuImgMap,
  qemuImgMeasure,
  qemuImgRebase,
  qemuImgSame,
  rebaseArgs,
  runQemuImg,
} from './qemu-img';
import { writePattern } from './qemu-io';
import { failure } from '../test-support/app-error';

const MiB = 1024 * 1024;
let dir: string;
const p = (name: string) => join(dir, name);
const q = (name: string) => ({ path: p(name), format: 'qcow2' });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snaptree-qemu-img-'));
  await qemuImgCreate(p('base.qcow2'), { size: 16 * MiB });
  await writePattern(p('base.qcow2'), 'qcow2', 1, 0, MiB);
  await qemuImgCreate(p('over.qcow2'), { backing: q('base.qcow2') });
  await writePattern(p('over.qcow2'), 'qcow2', 2, 2 * MiB, MiB);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('argument builders', () => {
  const img = { path: '-odd name', format: 'qcow2' };
  const raw = { path: '/x/b', format: 'raw' };
  test.each([
    ['info', infoArgs(img.path, { format: 'qcow2' }), ['-f']],
    ['create', createArgs(img.path, { backing: raw }), ['-f', '-F']],
    ['commit', commitArgs(img, '/x/base'), ['-f']],
    ['safe rebase', rebaseArgs(img, raw, 'safe'), ['-f', '-F']],
    ['unsafe rebase', rebaseArgs(img, raw, 'unsafe'), ['-f', '-F']],
    ['compare', compareArgs(img, raw), ['-f', '-F']],
    ['map', mapArgs(img), ['-f']],
    ['check', checkArgs(img), ['-f']],
    ['measure', measureArgs({ image: img }, 'raw'), ['-f', '-O']],
    ['convert', convertArgs(img, raw), ['-f', '-O']],
  ])('%s names every format and ends its options before any path', (_, args, flags) => {
    for (const flag of flags) expect(args[args.indexOf(flag) + 1]).toMatch(/^(qcow2|raw)$/);
    expect(args.indexOf('--')).toBeGreaterThan(0);
    expect(args.indexOf('--')).toBeLessThan(args.indexOf(img.path));
  });

  test('commit and unsafe rebase read as the plan writes them', () => {
    expect(commitArgs(img, '/x/base')).toEqual(['commit', '-f', 'qcow2', '-p', '-d', '-b', '/x/base', '--', '-odd name']);
    expect(rebaseArgs(img, raw, 'unsafe')).toEqual(['rebase', '-u', '-f', 'qcow2', '-F', 'raw', '-b', '/x/b', '--', '-odd name']);
    expect(rebaseArgs(img, null, 'safe')).toEqual(['rebase', '-p', '-f', 'qcow2', '-b', '', '--', '-odd name']);
  });

  test('a repair is never asked of an image in use', () => {
    expect(() => checkArgs(img, { repair: 'leaks', shared: true })).toThrow(AppError);
    expect(checkArgs(img, { repair: 'all' })).toEqual(['check', '--output=json', '-r', 'all', '-f', 'qcow2', '--', '-odd name']);
  });
});

describe('qemu-img on real images', () => {
  test('map tells which layer serves each extent', async () => {
    const extents = await qemuImgMap(q('over.qcow2'), true);
    const at = (offset: number) => extents.find((e) => e.start <= offset && offset < e.start + e.length);
    expect(at(0)).toMatchObject({ depth: 1, data: true });
    expect(at(2 * MiB)).toMatchObject({ depth: 0, data: true });
    expect(at(8 * MiB)).toMatchObject({ data: false, zero: true });
  });

  test('check finds leaks and corruptions, and repairs leaks', async () => {
    await copyFile(p('base.qcow2'), p('leaky.qcow2'));
    leakCluster(p('leaky.qcow2'));
    await copyFile(p('base.qcow2'), p('corrupt.qcow2'));
    corruptRefcounts(p('corrupt.qcow2'));
    expect(await qemuImgCheck(q('base.qcow2'), { shared: true })).toMatchObject({ checkErrors: 0, corruptions: 0, leaks: 0 });
    expect(await qemuImgCheck(q('leaky.qcow2'))).toMatchObject({ leaks: 1, corruptions: 0 });
    expect((await qemuImgCheck(q('corrupt.qcow2'))).corruptions).toBeGreaterThan(0);
    expect(await qemuImgCheck(q('leaky.qcow2'), { repair: 'leaks' })).toMatchObject({ leaks: 0, leaksFixed: 1 });
    expect((await qemuImgCheck(q('leaky.qcow2'))).leaks).toBe(0);
  });

  test('measure sizes an image and an empty one', async () => {
    const image = await qemuImgMeasure({ image: q('over.qcow2') }, 'qcow2');
    expect(image.required).toBeGreaterThanOrEqual(2 * MiB);
    expect(image.fullyAllocated).toBeGreaterThan(16 * MiB);
    expect((await qemuImgMeasure({ size: 16 * MiB }, 'raw')).required).toBe(16 * MiB);
  });

  test('commit writes the top into its base, and compare sees the same guest bytes', async () => {
    await qemuImgCreate(p('cbase.qcow2'), { size: 16 * MiB });
    await writePattern(p('cbase.qcow2'), 'qcow2', 1, 0, MiB);
    await qemuImgCreate(p('ctop.qcow2'), { backing: q('cbase.qcow2') });
    await writePattern(p('ctop.qcow2'), 'qcow2', 7, 3 * MiB, MiB);
    expect(await qemuImgCompare(q('ctop.qcow2'), q('cbase.qcow2'))).toEqual({ identical: false, firstDifference: 3 * MiB });
    const progress: number[] = [];
    await qemuImgCommit(q('ctop.qcow2'), p('cbase.qcow2'), { onProgress: (n) => progress.push(n) });
    expect(progress.at(-1)).toBe(100);
    expect(await qemuImgSame(q('ctop.qcow2'), q('cbase.qcow2'))).toBe(true);
  });

  test('an unsafe rebase rewrites only the name; a safe one keeps the guest view', async () => {
    await qemuImgCreate(p('other.qcow2'), { size: 16 * MiB });
    await qemuImgCreate(p('r1.qcow2'), { backing: q('base.qcow2') });
    await qemuImgRebase(q('r1.qcow2'), q('other.qcow2'), 'unsafe');
    expect((await qemuImgInfo(p('r1.qcow2'), { format: 'qcow2' }))[0]?.['backing-filename']).toBe(p('other.qcow2'));
    expect(await qemuImgSame(q('r1.qcow2'), q('base.qcow2'))).toBe(false);
    await qemuImgCreate(p('r2.qcow2'), { backing: q('base.qcow2') });
    await qemuImgRebase(q('r2.qcow2'), null, 'safe');
    expect((await qemuImgInfo(p('r2.qcow2'), { format: 'qcow2' }))[0]?.['backing-filename']).toBeUndefined();
    expect(await qemuImgSame(q('r2.qcow2'), q('base.qcow2'))).toBe(true);
  });

  test('convert reports progress up to 100 and copies the whole chain', async () => {
    const progress: number[] = [];
    await qemuImgConvert(q('over.qcow2'), { path: p('flat.raw'), format: 'raw' }, { shared: true }, { onProgress: (n) => progress.push(n) });
    expect(progress.length).toBeGreaterThan(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(100);
    expect(await qemuImgSame(q('over.qcow2'), { path: p('flat.raw'), format: 'raw' })).toBe(true);
  });

  test('aborting a convert stops qemu-img with E_CANCELLED', async () => {
    await qemuImgCreate(p('big.qcow2'), { size: 512 * MiB });
    await writePattern(p('big.qcow2'), 'qcow2', 5, 0, 512 * MiB);
    const controller = new AbortController();
    const progress: number[] = [];
    const run = qemuImgConvert(q('big.qcow2'), { path: p('big-copy.qcow2'), format: 'qcow2' }, { compress: true }, {
      signal: controller.signal,
      onProgress: (n) => {
        progress.push(n);
        controller.abort();
      },
    });
    const error = await failure(run);
    expect(error.code).toBe('E_CANCELLED');
    expect(progress.at(-1)).toBeLessThan(100);
  });

  test('a failure is a ToolError with qemu-img, its arguments and its last line', async () => {
    const error = await failure(runQemuImg(infoArgs(p('missing.qcow2'), { format: 'qcow2' })));
    expect(error.code).toBe('E_TOOL');
    expect(error.details).toMatchObject({ tool: 'qemu-img', exitCode: 1 });
    expect(error.message).toMatch(/^qemu-img failed: .*missing\.qcow2/);
  });

  test('a timeout stops a call that takes too long', async () => {
    const slow: HostRunner = { ...localRunner, run: (_tool, _args, options) => localRunner.run('sleep', ['5'], options) };
    const error = await failure(runQemuImg(['info', '--', p('base.qcow2')], { runner: slow, timeoutMs: 200 }));
    expect(error.code).toBe('E_TOOL');
    expect(error.message).toMatch(/did not answer within 0\.2 s/);
  });
});

describe('a raw file whose first bytes are a qcow2 header naming /etc/hostname', () => {
  const trap = () => ({ path: p('trap.raw'), format: 'raw' });
  beforeAll(async () => {
    // A guest can write exactly this to the start of its raw disk.
    await qemuImgCreate(p('trap.raw'), { format: 'qcow2', size: MiB, backing: { path: '/etc/hostname', format: 'raw' } });
    await truncate(p('trap.raw'), 256 * 1024);
  });

  test('is read as raw by every command: its bytes, never the file it names', async () => {
    const bytes = await readFile(p('trap.raw'));
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('QFI\xfb');
    const info = await qemuImgInfo(trap().path, { format: 'raw' });
    expect(info).toHaveLength(1);
    expect(info[0]).toMatchObject({ format: 'raw', 'virtual-size': bytes.length });
    expect(info[0]?.['backing-filename']).toBeUndefined();
    const extents = await qemuImgMap(trap());
    expect(extents.every((e) => e.depth === 0 && e.filename !== '/etc/hostname')).toBe(true);
    expect((await qemuImgMeasure({ image: trap() }, 'raw')).required).toBe(bytes.length);
    await qemuImgConvert(trap(), { path: p('trap-copy.raw'), format: 'raw' });
    expect((await readFile(p('trap-copy.raw'))).equals(bytes)).toBe(true);
    expect(await qemuImgSame(trap(), { path: p('trap-copy.raw'), format: 'raw' })).toBe(true);
  });

  test('is not checked: raw has no metadata to check', async () => {
    expect((await failure(qemuImgCheck(trap()))).code).toBe('E_NOT_SUPPORTED');
    expect(existsSync(p('trap.raw'))).toBe(true);
  });
});
