import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Domain } from '../../shared/model';
import { scanFolder } from '../scan/scan-folder';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';
import { compareNodes } from './compare';

const MiB = 1024 * 1024;
let dir: string;
let tree: Domain;
const p = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snaptree-compare-'));
  await qemuImgCreate(p('base.qcow2'), { size: 64 * MiB });
  await writePattern(p('base.qcow2'), 'qcow2', 1, 0, 8 * MiB);
  for (const name of ['a.qcow2', 'b.qcow2', 'c.qcow2', 'd.qcow2']) await qemuImgCreate(p(name), { backing: { path: p('base.qcow2'), format: 'qcow2' } });
  // Two branches from one fork, writing known patterns at known offsets.
  await writePattern(p('a.qcow2'), 'qcow2', 2, 1 * MiB, MiB);
  await qemuImgCreate(p('a2.qcow2'), { backing: { path: p('a.qcow2'), format: 'qcow2' } });
  await writePattern(p('a2.qcow2'), 'qcow2', 3, 6 * MiB, MiB);
  await writePattern(p('b.qcow2'), 'qcow2', 4, 4 * MiB, MiB);
  await writePattern(p('b.qcow2'), 'qcow2', 5, 1 * MiB, MiB / 2);
  const scanned = await scanFolder(dir);
  tree = scanned.domains.find((d) => d.name === 'base.qcow2') as Domain;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('compareNodes', () => {
  test('names the fork, what each side added, the regions each side wrote, and the first difference', async () => {
    const result = await compareNodes(tree, 'b:a2.qcow2', 'b:b.qcow2');
    const [disk] = result.disks;
    expect(disk?.fork).toBe(p('base.qcow2'));
    expect(disk?.a.ownLayers).toEqual([p('a2.qcow2'), p('a.qcow2')]);
    expect(disk?.b.ownLayers).toEqual([p('b.qcow2')]);
    expect(disk?.a.changed).toEqual([
      [1 * MiB, MiB],
      [6 * MiB, MiB],
    ]);
    expect(disk?.b.changed).toEqual([
      [1 * MiB, MiB / 2],
      [4 * MiB, MiB],
    ]);
    expect(disk?.identical).toBe(false);
    expect(disk?.firstDifference).toBe(1 * MiB);
    expect(disk?.virtualSize).toBe(64 * MiB);
    expect(disk?.a.allocatedSinceFork).toBeGreaterThan(2 * MiB);
  });

  test('two branches that wrote nothing since the fork read the same bytes', async () => {
    const [disk] = (await compareNodes(tree, 'b:c.qcow2', 'b:d.qcow2')).disks;
    expect(disk).toMatchObject({ identical: true, firstDifference: null, fork: p('base.qcow2') });
    expect(disk?.a.changed).toEqual([]);
  });

  test('a saved state against a branch tip', async () => {
    const [disk] = (await compareNodes(tree, 's:base.qcow2', 'b:b.qcow2')).disks;
    expect(disk?.fork).toBe(p('base.qcow2'));
    expect(disk?.a.ownLayers).toEqual([]);
    expect(disk?.b.changed).toHaveLength(2);
  });

  test('a raw layer in the middle of a chain against a branch tip', async () => {
    const [disk] = (await compareNodes(tree, `f:${p('a.qcow2')}`, 'b:b.qcow2')).disks;
    expect(disk?.a).toMatchObject({ file: p('a.qcow2'), ownLayers: [p('a.qcow2')], changed: [[1 * MiB, MiB]] });
    expect(disk?.fork).toBe(p('base.qcow2'));
    expect(disk?.firstDifference).toBe(1 * MiB);
  });

  test('unknown nodes are a clear error', async () => {
    await expect(compareNodes(tree, 'b:nope', 'b:b.qcow2')).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    await expect(compareNodes(tree, `f:${p('elsewhere.qcow2')}`, 'b:b.qcow2')).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });
});
