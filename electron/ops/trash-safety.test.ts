import { localHostFiles } from './host-files';
import { randomUUID } from 'node:crypto';
import { chmod, chown, lstat, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Source } from '../../shared/model';
import { TRASH_DIR } from '../../shared/ops/trash-names';
import { Engine } from '../engine';
import { qemuImgCreate } from '../tools/qemu-img';
import { runStep, type StepContext } from './steps';
import { fingerprint } from '../test-support/fingerprint';

const MiB = 1024 * 1024;
const NOBODY = 65534;
let root: string;
let images: string;
let foreign: string;
let source: Source;
let engine: Engine;
const foreignOp = randomUUID();

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'snaptree-trash-safety-'));
  process.env.SNAPTREE_DATA_DIR = join(root, 'data');
  images = join(root, 'images');
  foreign = join(root, 'foreign');
  await mkdir(images);
  await qemuImgCreate(join(images, 'base.qcow2'), { size: 4 * MiB });
  for (const tip of ['a.qcow2', 'b.qcow2']) await qemuImgCreate(join(images, tip), { backing: { path: join(images, 'base.qcow2'), format: 'qcow2' } });
  // Somewhere the engine must never touch, dressed as a trash folder: an operation folder, a manifest, an image.
  await mkdir(join(foreign, foreignOp), { recursive: true, mode: 0o700 });
  await writeFile(join(foreign, foreignOp, '.operation.json'), `${JSON.stringify({ operationId: foreignOp, domain: 'base.qcow2', op: 'delete-branch' })}\n`);
  await writeFile(join(foreign, foreignOp, 'a.qcow2'), 'a file of someone else, not an image\n');
  await writeFile(join(foreign, 'notes.txt'), 'keep me\n');
  source = { kind: 'folder', path: images };
  engine = new Engine({ host: 'serve' });
});

afterEach(async () => {
  await engine.close();
  await rm(root, { recursive: true, force: true });
});

const ctx = (operationId = randomUUID()): StepContext => ({ virsh: null, files: localHostFiles, operationId, domain: 'base.qcow2', op: 'delete-branch' });
const trashStep = (path: string) => ({ kind: 'trash' as const, path, sentence: '', command: [] });

/** Lists, restores and empties the trash; each must be refused. The first image must still be in place. */
async function expectTrashRefused(message: RegExp): Promise<void> {
  await expect(engine.trash(source)).rejects.toMatchObject({ code: 'E_NOT_SUPPORTED', message: expect.stringMatching(message) });
  await expect(engine.restoreTrash(source, { operationId: foreignOp })).rejects.toThrow();
  await expect(engine.emptyTrash(source, {})).rejects.toThrow();
}

/** Plans delete-branch on b.qcow2 and, should a plan come back, runs it: the planted trash must stop it. */
async function deleteBranch(): Promise<{ refused: string | null }> {
  const result = await engine.plan(source, { op: 'delete-branch', domain: 'base.qcow2', branch: 'b.qcow2' });
  if (!result.ok) return { refused: result.refusal.message };
  const ran = await engine.apply(result.plan).then(
    () => null,
    (error: Error) => error.message,
  );
  return { refused: ran };
}

describe('the trash is used only when it is the engine\'s own folder', () => {
  test('a .snaptree-trash symlink to a foreign folder is refused by list, restore, empty and delete-branch; the foreign folder stays byte-identical', async () => {
    await symlink(foreign, join(images, TRASH_DIR));
    const before = await fingerprint(foreign);
    await expectTrashRefused(/symbolic link/);
    const scan = await engine.scan(source);
    expect(scan.problems.map((p) => p.code)).toContain('unsafe-trash');
    const { refused } = await deleteBranch();
    expect(refused).toMatch(/trash folder .* not the engine's own|symbolic link/);
    // And the step itself, should a plan reach it anyway: it refuses before moving anything.
    await expect(runStep(trashStep(join(images, 'b.qcow2')), ctx())).rejects.toThrow(/symbolic link/);
    expect(await fingerprint(foreign)).toEqual(before);
    expect((await lstat(join(images, 'b.qcow2'))).isFile()).toBe(true);
  });

  test('an operation folder that is a symlink is refused: nothing is listed, restored or emptied through it', async () => {
    await mkdir(join(images, TRASH_DIR), { mode: 0o700 });
    await symlink(join(foreign, foreignOp), join(images, TRASH_DIR, foreignOp));
    const before = await fingerprint(foreign);
    await expectTrashRefused(/symbolic link/);
    await expect(runStep(trashStep(join(images, 'b.qcow2')), ctx(foreignOp))).rejects.toThrow(/symbolic link/);
    expect(await fingerprint(foreign)).toEqual(before);
    expect((await lstat(join(images, 'b.qcow2'))).isFile()).toBe(true);
  });

  test('a manifest that is a symlink is refused and never written through', async () => {
    const op = randomUUID();
    await mkdir(join(images, TRASH_DIR, op), { recursive: true, mode: 0o700 });
    await chmod(join(images, TRASH_DIR), 0o700);
    await symlink(join(foreign, 'notes.txt'), join(images, TRASH_DIR, op, '.operation.json'));
    const before = await fingerprint(foreign);
    await expect(engine.trash(source)).rejects.toMatchObject({ code: 'E_NOT_SUPPORTED', message: expect.stringMatching(/symbolic link/) });
    await expect(runStep(trashStep(join(images, 'b.qcow2')), ctx(op))).rejects.toThrow(/symbolic link/);
    expect(await fingerprint(foreign)).toEqual(before);
    expect((await lstat(join(images, 'b.qcow2'))).isFile()).toBe(true);
  });

  test.each([
    ['with mode 0755', async (trash: string) => chmod(trash, 0o755), /mode 0755/],
    ['owned by nobody', async (trash: string) => chown(trash, NOBODY, NOBODY), /belongs to uid 65534/],
  ])('a trash folder %s is refused by list, restore, empty and delete-branch', async (_what, spoil, message) => {
    const trash = join(images, TRASH_DIR);
    await mkdir(join(trash, foreignOp), { recursive: true, mode: 0o700 });
    await chmod(trash, 0o700);
    await writeFile(join(trash, foreignOp, 'a.qcow2'), 'planted\n');
    await spoil(trash);
    const before = await fingerprint(images);
    await expectTrashRefused(message);
    const { refused } = await deleteBranch();
    expect(refused).toMatch(/not the engine's own|mode 0755|belongs to uid/);
    expect(await fingerprint(images)).toEqual(before);
  });

  test('entries of the trash not named by an operation id are ignored: not listed, not restored, not emptied', async () => {
    const trash = join(images, TRASH_DIR);
    await mkdir(join(trash, 'not-an-operation'), { recursive: true, mode: 0o700 });
    await chmod(trash, 0o700);
    await writeFile(join(trash, 'not-an-operation', 'a.qcow2'), 'planted\n');
    const before = await fingerprint(images);
    expect(await engine.trash(source)).toEqual([]);
    await expect(engine.restoreTrash(source, { operationId: 'not-an-operation' })).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    expect(await engine.emptyTrash(source, {})).toBe(0);
    expect(await fingerprint(images)).toEqual(before);
  });
});
