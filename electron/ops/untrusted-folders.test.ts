import { localHostFiles } from './host-files';
import { randomUUID } from 'node:crypto';
import { chmod, chown, lstat, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Source } from '../../shared/model';
import type { Intent } from '../../shared/ops/plan';
import { Engine } from '../engine';
import { qemuImgCreate } from '../tools/qemu-img';
import { recoverAll } from './executor';
import { createJournal, readJournals } from './journal';
import { runStep } from './steps';
import { fingerprint } from '../test-support/fingerprint';

const MiB = 1024 * 1024;
const NOBODY = 65534;
let root: string;
let images: string;
let source: Source;
let engine: Engine;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'snaptree-untrusted-'));
  await chmod(root, 0o755);
  process.env.SNAPTREE_DATA_DIR = join(root, 'data');
  images = await makeImages(join(root, 'images'));
  source = { kind: 'folder', path: images };
  engine = new Engine({ host: 'serve' });
});

/** base → mid → a (branch a.qcow2, whose commit writes mid) and base → b (branch b.qcow2), in a new folder `dir`. */
async function makeImages(dir: string): Promise<string> {
  await mkdir(dir, { mode: 0o755 });
  await qemuImgCreate(join(dir, 'base.qcow2'), { size: 4 * MiB });
  await qemuImgCreate(join(dir, 'mid.qcow2'), { backing: { path: join(dir, 'base.qcow2'), format: 'qcow2' } });
  await qemuImgCreate(join(dir, 'a.qcow2'), { backing: { path: join(dir, 'mid.qcow2'), format: 'qcow2' } });
  await qemuImgCreate(join(dir, 'b.qcow2'), { backing: { path: join(dir, 'base.qcow2'), format: 'qcow2' } });
  return dir;
}

afterEach(async () => {
  await engine.close();
  await rm(root, { recursive: true, force: true });
});

async function apply(intent: Intent): Promise<void> {
  const result = await engine.plan(source, intent);
  if (!result.ok) throw new Error(`refused: ${result.refusal.message}`);
  await engine.apply(result.plan);
}

const deleteB: Intent = { op: 'delete-branch', domain: 'base.qcow2', branch: 'b.qcow2' };
const commitA: Intent = { op: 'commit', domain: 'base.qcow2', branch: 'a.qcow2' };

describe('files are changed only in folders no other user can change', () => {
  test.each([
    ['writable by everyone without the sticky bit', (dir: string) => chmod(dir, 0o777), /written by everyone \(mode 0777, no sticky bit\)/],
    ['owned by another user', (dir: string) => chown(dir, NOBODY, NOBODY), /belongs to user 65534/],
    ['writable by everyone with the sticky bit', (dir: string) => chmod(dir, 0o1777), /written by everyone \(mode 1777\); the sticky bit/],
  ])('in an image folder %s, restore, empty, delete-branch and commit are refused and nothing moves', async (_what, spoil, message) => {
    await apply(deleteB);
    const trashed = await engine.trash(source);
    expect(trashed.map((e) => basename(e.original))).toEqual(['b.qcow2']);
    await spoil(images);
    const before = await fingerprint(images);
    const refused = { code: 'E_NOT_SUPPORTED', message: expect.stringMatching(message) as unknown };
    await expect(engine.restoreTrash(source, {})).rejects.toMatchObject(refused);
    await expect(engine.emptyTrash(source, {})).rejects.toMatchObject(refused);
    await expect(apply(commitA)).rejects.toMatchObject(refused);
    // b is in the trash; restore it by hand so delete-branch has something to (not) move.
    expect(await fingerprint(images)).toEqual(before);
    await chmod(images, 0o755);
    await chown(images, 0, 0);
    await engine.restoreTrash(source, {});
    await spoil(images);
    const again = await fingerprint(images);
    await expect(apply(deleteB)).rejects.toMatchObject(refused);
    // And the trash step itself, should a plan reach it anyway.
    await expect(runStep({ kind: 'trash', path: join(images, 'b.qcow2'), sentence: '' }, { virsh: null, files: localHostFiles, operationId: randomUUID(), domain: 'base.qcow2', op: 'delete-branch' })).rejects.toMatchObject(refused);
    expect(await fingerprint(images)).toEqual(again);
    // Only the first delete-branch was journaled: the refused plans wrote none.
    expect(await readJournals()).toHaveLength(1);
  });

  test('recovery refuses to replay a journal in a folder that became writable by others, and reports it; once fixed, it rolls back', async () => {
    const result = await engine.plan(source, deleteB);
    if (!result.ok) throw new Error(result.refusal.message);
    const plan = result.plan;
    // A crash right after the trash step ran: its journal says started.
    await createJournal({ id: plan.id, createdAt: new Date().toISOString(), uri: null, plan, status: 'running', steps: plan.steps.map((s) => ({ state: s.kind === 'trash' ? 'started' : 'pending' })) });
    const trash = plan.steps.find((s) => s.kind === 'trash');
    if (trash === undefined) throw new Error('no trash step');
    await runStep(trash, { virsh: null, files: localHostFiles, operationId: plan.id, domain: 'base.qcow2', op: 'delete-branch' });
    await chmod(images, 0o777);
    const before = await fingerprint(images);
    const [report] = await recoverAll(() => null);
    expect(report).toMatchObject({ outcome: 'failed', message: expect.stringMatching(/written by everyone/) as unknown });
    expect(await fingerprint(images)).toEqual(before);
    await chmod(images, 0o755);
    const [fixed] = await recoverAll(() => null);
    expect(fixed).toMatchObject({ outcome: 'rolled-back' });
    expect((await lstat(join(images, 'b.qcow2'))).isFile()).toBe(true);
  });

  test('a plan is refused before its journal when a folder on the way belongs to another user', async () => {
    const outer = join(root, 'outer');
    await mkdir(outer, { mode: 0o755 });
    const inner = await makeImages(join(outer, 'images'));
    await chown(outer, NOBODY, NOBODY);
    source = { kind: 'folder', path: inner };
    const before = await fingerprint(inner);
    await expect(apply(deleteB)).rejects.toMatchObject({ code: 'E_NOT_SUPPORTED', message: expect.stringContaining(`${inner}: ${outer}, which belongs to user 65534`) as unknown });
    expect(await fingerprint(inner)).toEqual(before);
    expect(await readJournals()).toEqual([]);
  });
});
