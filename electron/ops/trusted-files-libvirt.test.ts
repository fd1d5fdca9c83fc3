/**
 * The trusted-file rule on libvirt domains and in recovery: a rebase never writes a child another user owns,
 * libvirt never creates a snapshot's overlay where something stands, and recovery replays a journal only on
 * files no other user can change.
 */
import { spawnSync } from 'node:child_process';
import { chown, lstat, mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Intent, Plan, Step } from '../../shared/ops/plan';
import { Engine } from '../engine';
import { TestLab, TEST_URI, virshSync } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';
import { readJournals } from './journal';
import { fingerprint } from '../test-support/fingerprint';

const MiB = 1024 * 1024;
const NOBODY = 65534;
const BIN = join(__dirname, '..', '..', 'bin', 'virt-snaptree.cjs');
const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;
let run = 0;

/** A folder of its own for one test, with a domain on base.qcow2 (data in it) and the given snapshots taken. */
async function seed(snapshots: string[]): Promise<{ vm: string; dir: string }> {
  const id = `t${++run}`;
  const dir = lab.path(id);
  await mkdir(dir, { mode: 0o755 });
  const base = join(dir, 'base.qcow2');
  await qemuImgCreate(base, { size: 8 * MiB });
  await writePattern(base, 'qcow2', 0x10, 0, MiB);
  const vm = await lab.define({ name: id, disks: [{ target: 'vda', file: base, format: 'qcow2' }] });
  for (const snap of snapshots) lab.snapshot(vm, snap);
  return { vm, dir };
}

async function planned(intent: Intent, from: typeof source | { kind: 'folder'; path: string } = source): Promise<Plan> {
  const result = await engine.plan(from, intent);
  if (!result.ok) throw new Error(`refused: ${result.refusal.message}`);
  return result.plan;
}

const snapshotsOf = (vm: string) => virshSync(['snapshot-list', '--domain', vm, '--name']).trim();

beforeAll(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  await mkdir(lab.path('victims'), { mode: 0o700 });
  engine = new Engine({ host: 'serve' });
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
});

describe('libvirt domains: files other users own are never written, and libvirt never creates through a link', () => {
  test('deleting a snapshot whose child belongs to user 65534 is refused before any step: the rebase would write that child', async () => {
    const { vm, dir } = await seed(['s1', 's2']);
    const plan = await planned({ op: 'delete-snapshot', domain: vm, snapshot: 's1' });
    const rebase = plan.steps.find((s): s is Extract<Step, { kind: 'rebase' }> => s.kind === 'rebase');
    if (rebase === undefined) throw new Error('no rebase step');
    await chown(rebase.path, NOBODY, NOBODY);
    const before = [await fingerprint(dir), snapshotsOf(vm)];
    const journals = (await readJournals()).length;
    await expect(engine.apply(plan)).rejects.toMatchObject({
      code: 'E_NOT_SUPPORTED',
      message: expect.stringContaining(`${rebase.path}: it belongs to user 65534`) as unknown,
    });
    expect([await fingerprint(dir), snapshotsOf(vm)]).toEqual(before);
    expect(await readJournals()).toHaveLength(journals);
  });

  test('a dangling link planted at the new overlay: the snapshot is refused before libvirt runs, nothing is made at its target, and the error claims nothing false', async () => {
    const { vm, dir } = await seed([]);
    const plan = await planned({ op: 'create-snapshot', domain: vm, name: 's1' });
    const step = plan.steps.find((s): s is Extract<Step, { kind: 'create-snapshot' }> => s.kind === 'create-snapshot');
    const overlay = step?.overlays.vda;
    if (overlay === undefined) throw new Error('no overlay');
    const target = join(lab.path('victims'), `planted-${vm}`);
    await symlink(target, overlay);
    const before = [await fingerprint(dir), snapshotsOf(vm)];
    const journals = (await readJournals()).length;
    const refusal = engine.apply(plan);
    await expect(refusal).rejects.toMatchObject({ code: 'E_CHANGED', message: expect.stringContaining(`${overlay}, where the snapshot's new overlay of vda goes, is already taken by a symbolic link to ${target}`) as unknown });
    await expect(refusal).rejects.toMatchObject({ message: expect.not.stringMatching(/undone|fresh scan confirms/) as unknown });
    expect(await lstat(target).catch(() => null)).toBeNull();
    expect([await fingerprint(dir), snapshotsOf(vm)]).toEqual(before);
    expect(await readJournals()).toHaveLength(journals);
  });
});

describe('recovery replays a journal only on files no other user can change', () => {
  test('a commit killed after it ran, whose files then go to user 65534: recover refuses and changes nothing; once given back, it finishes', async () => {
    const dir = lab.path('recover');
    await mkdir(dir, { mode: 0o755 });
    const [base, top] = [join(dir, 'base.qcow2'), join(dir, 'top.qcow2')];
    await qemuImgCreate(base, { size: 8 * MiB });
    await qemuImgCreate(top, { backing: { path: base, format: 'qcow2' } });
    await writePattern(top, 'qcow2', 0x44, 0, MiB);
    const folder = { kind: 'folder' as const, path: dir };
    expect((await planned({ op: 'commit', domain: 'base.qcow2', branch: 'top.qcow2' }, folder)).steps.length).toBeGreaterThan(1);
    const child = spawnSync(process.execPath, [BIN, 'commit', '--folder', dir, top, '--yes'], { env: { ...process.env, SNAPTREE_CRASH_AT: '0:done' }, encoding: 'utf8' });
    expect(child.signal, child.stderr).toBe('SIGKILL');
    for (const file of [base, top]) await chown(file, NOBODY, NOBODY);
    const before = await fingerprint(dir);
    const [refused] = await engine.recover();
    expect(refused).toMatchObject({ outcome: 'failed', message: expect.stringMatching(/(base|top)\.qcow2: it belongs to user 65534/) as unknown });
    expect(await fingerprint(dir)).toEqual(before);
    for (const file of [base, top]) await chown(file, 0, 0);
    const [fixed] = await engine.recover();
    expect(fixed).toMatchObject({ outcome: 'finished' });
    expect(await lstat(top).catch(() => null)).toBeNull();
  });
});
