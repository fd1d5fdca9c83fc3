import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';
import { stripBackingFormat } from '../test-support/damage';
import { scanFolder } from './scan-folder';

const MiB = 1024 * 1024;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snaptree-folder-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const p = (name: string) => join(dir, name);

async function overlay(name: string, backing: string, format = 'qcow2'): Promise<void> {
  await qemuImgCreate(p(name), { backing: { path: p(backing), format } });
}

/** What qemu-img itself says the backing chain of `file` is, top first. */
function qemuChain(file: string): string[] {
  const out = execFileSync('qemu-img', ['info', '--backing-chain', '--output=json', file], { encoding: 'utf8' });
  return (JSON.parse(out) as Array<{ filename: string }>).map((i) => i.filename);
}


describe('scanFolder', () => {
  test('a linear chain becomes saved states with one tip, matching qemu-img', async () => {
    await qemuImgCreate(p('base.qcow2'), { size: 64 * MiB });
    await writePattern(p('base.qcow2'), 'qcow2', 1, 0, 2 * MiB);
    await overlay('mid.qcow2', 'base.qcow2');
    await overlay('top.qcow2', 'mid.qcow2');
    await writePattern(p('top.qcow2'), 'qcow2', 3, 0, MiB);

    const result = await scanFolder(dir);
    expect(result.domains).toHaveLength(1);
    const [tree] = result.domains;
    expect(tree?.snapshots.map((s) => [s.name, s.parent])).toEqual([
      ['base.qcow2', null],
      ['mid.qcow2', 'base.qcow2'],
    ]);
    expect(tree?.branches.map((b) => [b.name, b.base])).toEqual([['top.qcow2', 'mid.qcow2']]);
    expect(Object.keys(tree?.layers ?? {}).sort()).toEqual(qemuChain(p('top.qcow2')).sort());
    expect(tree?.layers[p('base.qcow2')]?.actualSize).toBeGreaterThan(2 * MiB);
    expect(tree?.layers[p('top.qcow2')]?.backingFormat).toBe('qcow2');
    expect(result.problems).toEqual([]);
  });

  test('a fork gives the shared layer two children and two tips', async () => {
    await qemuImgCreate(p('base.qcow2'), { size: 16 * MiB });
    await overlay('a.qcow2', 'base.qcow2');
    await overlay('b.qcow2', 'base.qcow2');
    const [tree] = (await scanFolder(dir)).domains;
    expect(tree?.snapshots.map((s) => s.name)).toEqual(['base.qcow2']);
    expect(tree?.branches.map((b) => [b.name, b.base]).sort()).toEqual([
      ['a.qcow2', 'base.qcow2'],
      ['b.qcow2', 'base.qcow2'],
    ]);
  });

  test('relative backing names resolve against the overlay directory and paths are canonical', async () => {
    await qemuImgCreate(p('base.qcow2'), { size: 16 * MiB });
    // A relative name, written from another working directory: QEMU resolves it against the overlay.
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', p('top.qcow2')], { cwd: tmpdir() });
    await symlink(p('top.qcow2'), p('link-to-top.qcow2'));
    const [tree] = (await scanFolder(join(dir, '.', '..', dir.split('/').pop() as string))).domains;
    const top = tree?.layers[p('top.qcow2')];
    expect(top?.backingName).toBe('base.qcow2');
    expect(top?.backing).toBe(p('base.qcow2'));
    // The symlink is the same layer, not a second tip.
    expect(Object.keys(tree?.layers ?? {})).toHaveLength(2);
  });

  test('a missing backing file is a problem and the rest is still read', async () => {
    await qemuImgCreate(p('gone.qcow2'), { size: 16 * MiB });
    await overlay('orphan.qcow2', 'gone.qcow2');
    await unlink(p('gone.qcow2'));
    await qemuImgCreate(p('fine.qcow2'), { size: 16 * MiB });
    const result = await scanFolder(dir);
    const problems = result.domains.flatMap((d) => d.problems);
    expect(problems).toContainEqual(expect.objectContaining({ code: 'missing-backing', path: p('orphan.qcow2') }));
    expect(result.domains.map((d) => d.name).sort()).toEqual(['fine.qcow2', 'orphan.qcow2']);
  });

  test('a backing link without a format is reported and its backing is not opened', async () => {
    await qemuImgCreate(p('base.qcow2'), { size: 16 * MiB });
    await overlay('top.qcow2', 'base.qcow2');
    await stripBackingFormat(p('top.qcow2'));
    const result = await scanFolder(dir);
    const top = result.domains.flatMap((d) => Object.values(d.layers)).find((l) => l.path === p('top.qcow2'));
    expect(top?.backingFormat).toBeNull();
    expect(result.domains.flatMap((d) => d.problems)).toContainEqual(
      expect.objectContaining({ code: 'backing-no-format', path: p('top.qcow2') }),
    );
  });

  test('a raw base joins the graph through its qcow2 overlay', async () => {
    await qemuImgCreate(p('disk.raw'), { format: 'raw', size: 16 * MiB });
    await overlay('over.qcow2', 'disk.raw', 'raw');
    const [tree] = (await scanFolder(dir)).domains;
    expect(tree?.layers[p('disk.raw')]?.format).toBe('raw');
    expect(tree?.snapshots.map((s) => s.name)).toEqual(['disk.raw']);
  });

  test('a cycle is reported without hanging', async () => {
    await qemuImgCreate(p('a.qcow2'), { size: 16 * MiB });
    await overlay('b.qcow2', 'a.qcow2');
    execFileSync('qemu-img', ['rebase', '-u', '-b', p('b.qcow2'), '-F', 'qcow2', p('a.qcow2')]);
    const result = await scanFolder(dir);
    expect(result.domains.flatMap((d) => d.problems).map((x) => x.code)).toContain('cycle');
  });

  test('names with spaces, quotes and unicode are read as they are', async () => {
    const name = "my disk 'ünïcødé' $(x).qcow2";
    await qemuImgCreate(p('base.qcow2'), { size: 16 * MiB });
    await overlay(name, 'base.qcow2');
    const [tree] = (await scanFolder(dir)).domains;
    expect(tree?.branches.map((b) => b.name)).toEqual([name]);
    expect(tree?.layers[p(name)]?.backing).toBe(p('base.qcow2'));
  });

  test('an unreadable folder is a clear error', async () => {
    await expect(scanFolder(p('no-such-folder'))).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });
});
