import { localHostFiles } from './host-files';
import { execFileSync } from 'node:child_process';
import { chmod, chown, link, lstat, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Plan, Step } from '../../shared/ops/plan';
import { Engine } from '../engine';
import { TestLab, TEST_URI, virshSync } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';
import { readJournals } from './journal';
import { runStep, undoStep, type StepContext } from './steps';
import { fingerprint } from '../test-support/fingerprint';

const MiB = 1024 * 1024;
const NOBODY = 65534;
const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;
let images: string;
let vm: string;
/** A folder only root can enter: the attacker's links point into it. */
let rootOnly: string;

/** The domain as libvirt holds it: its definition and its current snapshot. */
const domainState = () => [virshSync(['dumpxml', '--domain', vm, '--inactive']), virshSync(['snapshot-current', '--domain', vm, '--name'])];

beforeEach(async () => {
  lab = await new TestLab().init();
  // The lab folder (and /tmp above it) must let the attacker, uid 65534, reach the image folder.
  await chmod(lab.dir, 0o755);
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  images = lab.path('imgs');
  rootOnly = lab.path('root-only');
  await mkdir(images, { mode: 0o755 });
  await mkdir(rootOnly, { mode: 0o700 });
  await qemuImgCreate(join(images, 'top.qcow2'), { size: 4 * MiB });
  vm = await lab.define({ name: 'D', disks: [{ target: 'vda', file: join(images, 'top.qcow2'), format: 'qcow2' }] });
  lab.snapshot(vm, 's1');
  engine = new Engine({ host: 'serve' });
});

afterEach(async () => {
  await engine.close();
  await lab.cleanup();
});

/** Plans `revert -b b2 D s1`; returns the plan and the path of the new overlay it names. */
async function planRevert(): Promise<{ plan: Plan; overlay: string }> {
  const result = await engine.plan(source, { op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'b2' });
  if (!result.ok) throw new Error(`refused: ${result.refusal.message}`);
  const create = result.plan.steps.find((s): s is Extract<Step, { kind: 'create-overlay' }> => s.kind === 'create-overlay');
  if (create === undefined) throw new Error('no new overlay');
  return { plan: result.plan, overlay: create.path };
}

describe('a new overlay never follows or replaces what stands at its path', () => {
  test('an image folder owned by nobody with a dangling link planted at the new overlay: the revert is refused before any step, nothing is created', async () => {
    const { plan, overlay } = await planRevert();
    await chown(images, NOBODY, NOBODY);
    // The attacker plants the link as themselves.
    execFileSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--', 'ln', '-s', join(rootOnly, 'planted'), overlay]);
    const before = [await fingerprint(images), domainState()];
    await expect(engine.apply(plan)).rejects.toMatchObject({ code: 'E_NOT_SUPPORTED', message: expect.stringMatching(/belongs to user 65534/) as unknown });
    expect(await lstat(join(rootOnly, 'planted')).catch(() => null)).toBeNull();
    expect([await fingerprint(images), domainState()]).toEqual(before);
    expect(await readJournals()).toEqual([]);
  });

  test('in a trusted folder, a dangling link at the new overlay: the step refuses, nothing is created at its target, and the revert rolls back', async () => {
    const { plan, overlay } = await planRevert();
    await symlink(join(rootOnly, 'planted'), overlay);
    const before = [await fingerprint(images), domainState()];
    await expect(engine.apply(plan)).rejects.toMatchObject({ code: 'E_CHANGED', message: expect.stringMatching(/already exists; it was not made by this operation/) as unknown });
    expect(await lstat(join(rootOnly, 'planted')).catch(() => null)).toBeNull();
    expect([await fingerprint(images), domainState()]).toEqual(before);
    expect((await readJournals()).map((j) => j.status)).toEqual(['rolled-back']);
  });

  test.each([
    [
      "another user's image on the same backing (the attacker's disk as the new branch)",
      async (path: string, backing: string) => {
        await qemuImgCreate(path, { backing: { path: backing, format: 'qcow2' } });
        await chown(path, NOBODY, NOBODY);
      },
    ],
    [
      'a hard link to a root-only image on the same backing',
      async (path: string, backing: string) => {
        await qemuImgCreate(join(rootOnly, 'secret.qcow2'), { backing: { path: backing, format: 'qcow2' } });
        await link(join(rootOnly, 'secret.qcow2'), path);
      },
    ],
  ])('in a trusted folder, %s at the new overlay: the revert is refused and the file stays byte-identical', async (_what, plant) => {
    const { plan, overlay } = await planRevert();
    const step = plan.steps.find((s) => s.kind === 'create-overlay') as Extract<Step, { kind: 'create-overlay' }>;
    await plant(overlay, step.backing);
    const before = [await fingerprint(images), await fingerprint(rootOnly), domainState()];
    // The fresh scan sees the image and the re-plan refuses the name; the step itself refuses too, should a plan reach it.
    await expect(engine.apply(plan)).rejects.toMatchObject({ code: expect.stringMatching(/E_NAME_TAKEN|E_CHANGED/) as unknown });
    const ctx: StepContext = { virsh: null, files: localHostFiles, operationId: plan.id, domain: vm, op: 'revert-branch' };
    await expect(runStep(step, ctx)).rejects.toMatchObject({ code: 'E_CHANGED', message: expect.stringMatching(/not made by this operation/) as unknown });
    expect([await fingerprint(images), await fingerprint(rootOnly), domainState()]).toEqual(before);
  });

  test('the step takes up its own earlier work (pre-created, then written) and its undo removes only that', async () => {
    const { plan, overlay } = await planRevert();
    const step = plan.steps.find((s) => s.kind === 'create-overlay') as Step;
    const ctx: StepContext = { virsh: null, files: localHostFiles, operationId: plan.id, domain: vm, op: 'revert-branch' };
    // A crash between creating the empty file and qemu-img: the file is root's, 0600, empty.
    await writeFile(overlay, '', { mode: 0o600 });
    await runStep(step, ctx);
    const made = await lstat(overlay);
    expect([made.isFile(), made.size > 0, made.mode & 0o777]).toEqual([true, true, 0o600]);
    await runStep(step, ctx);
    await undoStep(step, { kind: 'none' }, ctx);
    expect(await lstat(overlay).catch(() => null)).toBeNull();
    // An empty file that is not root's 0600 one, or a link, is not its work: the step refuses it, the undo leaves it.
    await writeFile(overlay, '', { mode: 0o644 });
    await expect(runStep(step, ctx)).rejects.toMatchObject({ code: 'E_CHANGED' });
    await undoStep(step, { kind: 'none' }, ctx);
    expect((await lstat(overlay)).size).toBe(0);
    await rm(overlay);
    await symlink(join(rootOnly, 'planted'), overlay);
    await expect(runStep(step, ctx)).rejects.toMatchObject({ code: 'E_CHANGED' });
    await undoStep(step, { kind: 'none' }, ctx);
    expect((await lstat(overlay)).isSymbolicLink()).toBe(true);
    expect(await lstat(join(rootOnly, 'planted')).catch(() => null)).toBeNull();
  });
});
