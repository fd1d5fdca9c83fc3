import { localHostFiles } from '../ops/host-files';
import { createHash, randomUUID } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Source } from '../../shared/model';
import type { Intent } from '../../shared/ops/plan';
import { TRASH_DIR } from '../../shared/ops/trash-names';
import { Engine } from '../engine';
import { runStep } from '../ops/steps';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';

const MiB = 1024 * 1024;
let root: string;
let folder: string;
let libvirt: string;
let engine: Engine;
let source: Source;

async function sums(dir: string, names: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of names) out[name] = createHash('sha256').update(await readFile(join(dir, name))).digest('hex');
  return out;
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'snaptree-outside-'));
  process.env.SNAPTREE_DATA_DIR = join(root, 'data');
  folder = join(root, 'folder');
  libvirt = join(root, 'libvirt-images');
  await mkdir(folder);
  await mkdir(libvirt);
  // A libvirt disk elsewhere: a base and the VM's current overlay, with data in both.
  await qemuImgCreate(join(libvirt, 'base.qcow2'), { size: 16 * MiB });
  await writePattern(join(libvirt, 'base.qcow2'), 'qcow2', 1, 0, MiB);
  await qemuImgCreate(join(libvirt, 'vm.qcow2'), { backing: { path: join(libvirt, 'base.qcow2'), format: 'qcow2' } });
  await writePattern(join(libvirt, 'vm.qcow2'), 'qcow2', 2, MiB, MiB);
  await symlink(join(libvirt, 'vm.qcow2'), join(folder, 'vm.qcow2'));
  source = { kind: 'folder', path: folder };
  engine = new Engine({ host: 'serve' });
});

afterEach(async () => {
  await engine.close();
  await rm(root, { recursive: true, force: true });
});

describe('a folder source never acts on files outside the folder', () => {
  test('an image reached through a symlink out of the folder is shown with a warning; delete-branch, commit and repair on it are refused; it stays byte-identical', async () => {
    const before = await sums(libvirt, ['base.qcow2', 'vm.qcow2']);
    const scan = await engine.scan(source);
    const tree = scan.domains.find((d) => d.layers[join(libvirt, 'vm.qcow2')] !== undefined);
    expect(tree).toBeDefined();
    const warnings = tree?.problems.filter((p) => p.code === 'outside-folder') ?? [];
    expect(warnings.map((p) => p.path).sort()).toEqual([join(libvirt, 'base.qcow2'), join(libvirt, 'vm.qcow2')]);
    expect(warnings.every((p) => p.severity === 'warning' && /outside the folder/.test(p.message))).toBe(true);

    const domain = tree?.name ?? '';
    const intents: Intent[] = [
      { op: 'delete-branch', domain, branch: 'vm.qcow2' },
      { op: 'commit', domain, branch: 'vm.qcow2' },
      { op: 'repair', domain, path: join(libvirt, 'vm.qcow2'), mode: 'all' },
      { op: 'repair', domain, path: join(libvirt, 'base.qcow2'), mode: 'leaks' },
    ];
    const refusals: string[] = [];
    for (const intent of intents) {
      const result = await engine.plan(source, intent);
      // Should a plan come back, it runs: the files outside must still be as they were.
      if (result.ok) await engine.apply(result.plan).catch(() => undefined);
      else refusals.push(result.refusal.message);
    }
    expect(refusals).toHaveLength(intents.length);
    for (const message of refusals) expect(message).toMatch(/outside the folder/);
    expect(await sums(libvirt, ['base.qcow2', 'vm.qcow2'])).toEqual(before);
    expect((await lstat(join(folder, 'vm.qcow2'))).isSymbolicLink()).toBe(true);
  });

  test('trashing a symlink moves the link into the trash beside it, never its target', async () => {
    const operationId = randomUUID();
    const before = await sums(libvirt, ['base.qcow2', 'vm.qcow2']);
    await runStep({ kind: 'trash', path: join(folder, 'vm.qcow2'), sentence: '' }, { virsh: null, files: localHostFiles, operationId, domain: 'x', op: 'delete-branch' });
    const trashed = join(folder, TRASH_DIR, operationId, 'vm.qcow2');
    expect((await lstat(trashed)).isSymbolicLink()).toBe(true);
    expect(await readlink(trashed)).toBe(join(libvirt, 'vm.qcow2'));
    expect((await stat(join(libvirt, 'vm.qcow2'))).isFile()).toBe(true);
    await expect(lstat(join(libvirt, TRASH_DIR))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await sums(libvirt, ['base.qcow2', 'vm.qcow2'])).toEqual(before);
  });
});
