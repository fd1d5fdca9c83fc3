/**
 * The acceptance scenarios S1–S6 and S8 (SPEC.md, section 7) on the test host (scripts/test-host.sh): libvirt 11
 * and QEMU 10 reached over SSH, its files in a chroot, so every file the engine reads, writes or trashes is there
 * and never the file of the same path here. The checks are those of operations.test.ts and
 * operations-more.test.ts, made there (remote-checks.ts); decoys at the same paths here stay byte for byte. Then
 * interop with libvirt 11's own revert and delete of external snapshots, rules 1–4 after each step.
 */
import { rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Domain } from '../../shared/model';
import type { Intent, Plan } from '../../shared/ops/plan';
import { stepCommand } from '../../shared/ops/step-command';
import { snapshotGraph } from '../../shared/snapshot-graph';
import type { Engine } from '../engine';
import { nodeViews } from '../test-support/checks';
import { withEngineLab } from '../test-support/engine-lab';
import {
  applyCheckedThere,
  backingThere,
  defineThere,
  diskSourceThere,
  existingThere,
  expectDecoysUntouched,
  expectParentsAgreeThere,
  expectSameViewsThere,
  expectSnapshotRecordsTrueThere,
  expectStartsThere,
  exportViewsThere,
  missingRecordFilesThere,
  modeThere,
  plantDecoys,
  readsThere,
  removeThere,
  sameBytesThere,
  sumsThere,
  virshThere,
  writeThere,
} from '../test-support/remote-checks';
import { onTestHost, requireTestHost, TEST_HOST_URI } from '../test-support/test-host';

const MiB = 1024 * 1024;
const BIN = join(__dirname, '..', '..', 'bin', 'virt-snaptree.cjs');
const tag = `r${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
const prefix = `snaptree-${tag}-`;
const dir = `/var/lib/snaptree-${tag}`;
const exportsDir = `${dir}/exports`;
const source = { kind: 'libvirt' as const, uri: TEST_HOST_URI };
let engine: Engine;
withEngineLab((_lab, e) => {
  engine = e;
});

const apply = (intent: Intent): Promise<Domain> => applyCheckedThere(engine, source, intent);

async function planned(intent: Intent): Promise<Plan> {
  const result = await engine.plan(source, intent);
  if (!result.ok) throw new Error(`refused: ${result.refusal.code} ${result.refusal.message}`);
  return result.plan;
}

/**
 * Runs `body` with decoys here at the paths of the domain's files there (and at `more`): this computer's files
 * of those names, and its folder, are the same after.
 */
async function withDecoys<T>(vm: string, body: () => Promise<T>, more: string[] = []): Promise<T> {
  const scanned = await engine.scanDomain(source, vm);
  rmSync(dir, { recursive: true, force: true });
  const planted = plantDecoys([...new Set([...Object.keys(scanned.layers), ...more])]);
  const result = await body();
  expectDecoysUntouched(planted);
  return result;
}

/** Snapshot taken by the host's virsh, disk-only, the CD-ROM left out. */
function snapshotThere(vm: string, name: string, cdrom: boolean): void {
  virshThere(['snapshot-create-as', vm, name, '--disk-only', '--atomic', ...(cdrom ? ['--diskspec', 'hdc,snapshot=no'] : [])]);
}

/** A domain there with the given disks (fresh qcow2 with data) and snapshots taken by the app, data after each. */
async function build(name: string, targets: string[], snapshots: string[], cdrom = false): Promise<string> {
  const vm = `${prefix}${name}`;
  const disks = targets.map((target) => ({ target, file: `${dir}/${name}-${target}.qcow2`, format: 'qcow2' as const }));
  onTestHost(`mkdir -p ${dir} && ${disks.map((d) => `qemu-img create -q -f qcow2 ${d.file} 32M`).join(' && ')}`);
  for (const [i, d] of disks.entries()) writeThere(d.file, 0x10 + i, 0, 2 * MiB);
  defineThere({ name: vm, disks, cdrom }, dir);
  for (const [k, snap] of snapshots.entries()) {
    await apply({ op: 'create-snapshot', domain: vm, name: snap });
    for (const [i, target] of targets.entries()) writeThere(diskSourceThere(vm, target), 0x30 + 16 * k + i, (k + 1) * 2 * MiB, MiB);
  }
  return vm;
}

beforeAll(() => {
  requireTestHost();
  onTestHost(`mkdir -p ${dir}`);
});

afterAll(() => {
  try {
    removeThere(prefix, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('the seed on the remote host (S1–S4)', () => {
  const vm = `${prefix}seed`;
  beforeAll(() => {
    // base → snap1 → snap2 → snap3, data in every layer, the current tip too.
    onTestHost(`mkdir -p ${dir} && qemu-img create -q -f qcow2 ${dir}/seed.qcow2 64M`);
    writeThere(`${dir}/seed.qcow2`, 0x10, 0, 8 * MiB);
    defineThere({ name: vm, disks: [{ target: 'vda', file: `${dir}/seed.qcow2`, format: 'qcow2' }], cdrom: true }, dir);
    for (const [i, snap] of ['snap1', 'snap2', 'snap3'].entries()) {
      snapshotThere(vm, snap, true);
      writeThere(diskSourceThere(vm, 'vda'), 0x21 + i, (i + 1) * 8 * MiB, 2 * MiB);
    }
  });

  test('S1: revert to snap1 with a new branch snap1.1', async () => {
    const overlay = `${dir}/${vm}.snap1.1.vda.qcow2`;
    await withDecoys(vm, async () => {
      const before = await engine.scanDomain(source, vm);
      const views = exportViewsThere(before, `${exportsDir}/s1`);
      const files = sumsThere(Object.keys(before.layers));
      const plan = await planned({ op: 'revert-branch', domain: vm, snapshot: 'snap1', branch: 'snap1.1' });
      expect(plan.steps[0] && stepCommand(plan.steps[0])?.args.slice(0, 1)).toEqual(['create']);
      const after = await apply(plan.intent);
      const snap1 = after.snapshots.find((s) => s.name === 'snap1');
      expect(diskSourceThere(vm, 'vda')).toBe(overlay);
      expect(backingThere(overlay)).toBe(snap1?.disks[0]?.stateLayer);
      expect(modeThere(overlay)).toBe(0o600);
      expect(after.branches.map((b) => [b.name, b.current, b.base])).toEqual([
        ['snap1.1', true, 'snap1'],
        ['main', false, 'snap3'],
      ]);
      expect(sumsThere(Object.keys(files))).toEqual(files);
      expectSameViewsThere(after, views);
      expectSnapshotRecordsTrueThere(vm);
      expectStartsThere(vm);
    }, [overlay]);
    // libvirt there agrees: the next snapshot is a child of snap1, in snapshot-parent and in the tree.
    snapshotThere(vm, 'snap4', true);
    expect(virshThere(['snapshot-parent', vm, 'snap4']).trim()).toBe('snap1');
    const rescanned = await engine.scanDomain(source, vm);
    expect(rescanned.snapshots.find((s) => s.name === 'snap4')?.parent).toBe('snap1');
    expectParentsAgreeThere(rescanned);
  });

  test('S2: switch back to main; what was written on snap1.1 stays in its tip', async () => {
    const tip = diskSourceThere(vm, 'vda');
    writeThere(tip, 0x55, 40 * MiB, MiB);
    await withDecoys(vm, async () => {
      const after = await apply({ op: 'switch', domain: vm, branch: 'main' });
      expect(diskSourceThere(vm, 'vda')).toBe(after.branches.find((b) => b.name === 'main')?.tips[0]?.file);
      expect(readsThere(diskSourceThere(vm, 'vda'), 0x23, 24 * MiB, 2 * MiB)).toBe(true);
      expect(readsThere(diskSourceThere(vm, 'vda'), 0x55, 40 * MiB, MiB)).toBe(false);
      expect(readsThere(tip, 0x55, 40 * MiB, MiB)).toBe(true);
      expect(after.branches.find((b) => b.name === 'snap1.1')?.origin).toBe('metadata');
      expectSnapshotRecordsTrueThere(vm);
      expectStartsThere(vm);
    });
  });

  test('S3: delete snap2 (one child): everything else reads the same, records re-parented', async () => {
    await withDecoys(vm, async () => {
      const before = await engine.scanDomain(source, vm);
      const views = exportViewsThere(before, `${exportsDir}/s3`);
      const plan = await planned({ op: 'delete-snapshot', domain: vm, snapshot: 'snap2' });
      expect(plan.steps.map((s) => s.kind)).toContain('commit');
      const after = await apply(plan.intent);
      expect(after.snapshots.map((s) => s.name).sort()).toEqual(['snap1', 'snap3', 'snap4']);
      expect(after.snapshots.find((s) => s.name === 'snap3')?.parent).toBe('snap1');
      expect(virshThere(['snapshot-parent', vm, 'snap3']).trim()).toBe('snap1');
      expectSameViewsThere(after, views, ['s:snap2']);
      expectSnapshotRecordsTrueThere(vm);
      expectStartsThere(vm);
    });
  });

  test('S4: a commit into a shared layer is refused with the reason; deleting snap1 keeps both branches', async () => {
    const refused = await engine.plan(source, { op: 'commit', domain: vm, branch: 'snap1.1' });
    expect(refused.ok ? 'planned' : refused.refusal.code).toBe('E_SHARED_BACKING');
    if (!refused.ok) expect(refused.refusal.message).toMatch(/depend/);
    await withDecoys(vm, async () => {
      const before = await engine.scanDomain(source, vm);
      const views = exportViewsThere(before, `${exportsDir}/s4`);
      const after = await apply({ op: 'delete-snapshot', domain: vm, snapshot: 'snap1' });
      expect(after.snapshots.map((s) => s.name).sort()).toEqual(['snap3', 'snap4']);
      expect(after.branches.map((b) => b.name).sort()).toEqual(['main', 'snap1.1']);
      expectSameViewsThere(after, views, ['s:snap1']);
      expectSnapshotRecordsTrueThere(vm);
      expectStartsThere(vm);
    });
  });
});

describe('S5: commit on the remote host', () => {
  test('a tip is committed into a backing file nothing else uses; refused when a snapshot holds it', async () => {
    const vm = await build('commit', ['vda'], ['s1']);
    const refused = await engine.plan(source, { op: 'commit', domain: vm, branch: 'main' });
    expect(refused.ok ? 'planned' : refused.refusal.code).toBe('E_SHARED_BACKING');
    virshThere(['snapshot-delete', vm, 's1', '--metadata']);
    await withDecoys(vm, async () => {
      const before = await engine.scanDomain(source, vm);
      const views = exportViewsThere(before, `${exportsDir}/commit`);
      const tip = diskSourceThere(vm, 'vda');
      const base = backingThere(tip) as string;
      const after = await apply({ op: 'commit', domain: vm, branch: 'main' });
      expect(diskSourceThere(vm, 'vda')).toBe(base);
      expect(existingThere([tip])).toEqual([]);
      expectSameViewsThere(after, views);
      const trash = await engine.trash(source, vm);
      expect(trash.map((e) => e.original)).toEqual([tip]);
      expect(existingThere(trash.map((e) => e.trashed))).toEqual(trash.map((e) => e.trashed));
      expectStartsThere(vm);
    });
  });
});

describe('S6: revert discarding on the remote host', () => {
  test("only the abandoned branch's own files go to the trash there, and restoring them works", async () => {
    const vm = await build('discard', ['vda'], ['s1', 's2']);
    await withDecoys(vm, async () => {
      const before = await engine.scanDomain(source, vm);
      const views = exportViewsThere(before, `${exportsDir}/discard`);
      const s1State = before.snapshots.find((s) => s.name === 's1')?.disks[0]?.stateLayer as string;
      const abandoned = [diskSourceThere(vm, 'vda'), before.snapshots.find((s) => s.name === 's2')?.disks[0]?.stateLayer as string];
      const sums = sumsThere(abandoned);
      const after = await apply({ op: 'revert-discard', domain: vm, snapshot: 's1' });
      expect(after.snapshots.map((s) => s.name)).toEqual(['s1']);
      expect(backingThere(diskSourceThere(vm, 'vda'))).toBe(s1State);
      expect(existingThere(abandoned)).toEqual([]);
      expectSameViewsThere(after, views, ['s:s2', 'b:main']);
      expectSnapshotRecordsTrueThere(vm);
      expectStartsThere(vm);

      const trash = await engine.trash(source, vm);
      expect(trash.map((e) => e.original).sort()).toEqual([...abandoned].sort());
      for (const entry of trash) expect(entry.trashed.startsWith(`${dir}/.snaptree-trash/`), entry.trashed).toBe(true);
      expect(existingThere(trash.map((e) => e.trashed)).sort()).toEqual(trash.map((e) => e.trashed).sort());
      const operationId = trash[0]?.operationId as string;
      await expect(engine.emptyTrash(source, { operationId: 'no-such-operation' }, vm)).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
      expect((await engine.restoreTrash(source, { operationId }, vm)).sort()).toEqual([...abandoned].sort());
      expect(sumsThere(abandoned)).toEqual(sums);
    });
  });
});

describe('S8: two disks and a CD-ROM on the remote host', () => {
  test('every operation acts on both disks at once; the CD-ROM stays as it is', async () => {
    const vm = await build('two', ['vda', 'vdb'], ['s1', 's2'], true);
    await withDecoys(vm, async () => {
      const start = await engine.scanDomain(source, vm);
      expect(start.disks.find((d) => d.target === 'hdc')?.managed).toBe(false);
      const views = exportViewsThere(start, `${exportsDir}/two`);
      const reverted = await apply({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'b2' });
      const s1 = reverted.snapshots.find((s) => s.name === 's1');
      for (const target of ['vda', 'vdb']) {
        expect(backingThere(diskSourceThere(vm, target))).toBe(s1?.disks.find((d) => d.target === target)?.stateLayer);
      }
      expect(reverted.branches.find((b) => b.name === 'main')?.tips.map((t) => t.target)).toEqual(['vda', 'vdb']);
      expectSameViewsThere(reverted, views, ['b:main', 'b:b2']);

      const switched = await apply({ op: 'switch', domain: vm, branch: 'main' });
      expect(switched.branches.find((b) => b.current)?.name).toBe('main');
      const views2 = exportViewsThere(switched, `${exportsDir}/two-2`);
      const deleted = await apply({ op: 'delete-snapshot', domain: vm, snapshot: 's2' });
      expect(deleted.snapshots.map((s) => s.name)).toEqual(['s1']);
      expect(deleted.disks.find((d) => d.target === 'hdc')?.managed).toBe(false);
      expectSameViewsThere(deleted, views2, ['s:s2']);
      expectSnapshotRecordsTrueThere(vm);
      expectStartsThere(vm);
    });
  });
});

describe('clone and export on the remote host', () => {
  test("full and linked clones of s1 read its bytes there and start; exports equal it; the source's files and this computer's stay", async () => {
    const vm = await build('cl', ['vda'], ['s1', 's2']);
    const [clones, out] = [`${dir}/clones`, `${dir}/out`];
    onTestHost(`mkdir -p ${clones} ${out}`);
    await withDecoys(
      vm,
      async () => {
        const before = await engine.scanDomain(source, vm);
        const state = viewKey(before, 's:s1/vda');
        const sums = sumsThere(Object.keys(before.layers));
        const views = exportViewsThere(before, `${exportsDir}/cl`);
        const s1 = { kind: 'snapshot', name: 's1' } as const;

        // Full: written past the page cache there, a standalone private image.
        const full = `${prefix}cl-full`;
        const fullIntent: Intent = { op: 'clone', domain: vm, node: s1, name: full, mode: 'full', dir: clones };
        const convert = (await planned(fullIntent)).steps.find((step) => step.kind === 'convert');
        expect(convert && stepCommand(convert)?.args).toEqual(expect.arrayContaining(['-t', 'none']));
        await apply(fullIntent);
        const fullDisk = diskSourceThere(full, 'vda');
        expect(fullDisk.startsWith(`${clones}/`)).toBe(true);
        expect(backingThere(fullDisk)).toBeNull();
        expect(modeThere(fullDisk)).toBe(0o600);
        expect(sameBytesThere(views['s:s1/vda'] ?? '', fullDisk)).toBe(true);
        expectStartsThere(full);

        // Linked: an overlay there on s1's saved state.
        const linked = `${prefix}cl-linked`;
        await apply({ op: 'clone', domain: vm, node: s1, name: linked, mode: 'linked', dir: clones });
        const linkedDisk = diskSourceThere(linked, 'vda');
        expect(backingThere(linkedDisk)).toBe(state);
        expect(sameBytesThere(views['s:s1/vda'] ?? '', linkedDisk)).toBe(true);
        expectStartsThere(linked);

        // Exports of s1 to raw and to compressed qcow2.
        await apply({ op: 'export', domain: vm, node: s1, to: out, format: 'raw' });
        await apply({ op: 'export', domain: vm, node: s1, to: out, format: 'qcow2', compress: true });
        const made = onTestHost(`ls -A ${out}`).split('\n').filter(Boolean).sort();
        expect(made).toHaveLength(2);
        const raw = `${out}/${made.find((n) => n.endsWith('.raw')) ?? '?'}`;
        const qcow2 = `${out}/${made.find((n) => n.endsWith('.qcow2')) ?? '?'}`;
        expect(sameBytesThere(views['s:s1/vda'] ?? '', raw, 'raw')).toBe(true);
        expect(sameBytesThere(views['s:s1/vda'] ?? '', qcow2)).toBe(true);

        // The CLI into a folder that is only there: checked there, not here.
        const cliOut = `${dir}/cli-out`;
        onTestHost(`mkdir -p ${cliOut}`);
        const cli = await execa(process.execPath, [BIN, 'export', '--connect', TEST_HOST_URI, vm, 's1', '--to', cliOut, '--format', 'raw', '--yes'], { reject: false });
        expect(cli.exitCode, cli.stderr).toBe(0);
        const byCli = onTestHost(`ls -A ${cliOut}`).split('\n').filter(Boolean);
        expect(byCli).toHaveLength(1);
        expect(sameBytesThere(views['s:s1/vda'] ?? '', `${cliOut}/${byCli[0] ?? ''}`, 'raw')).toBe(true);

        expect(sumsThere(Object.keys(before.layers))).toEqual(sums);
        // The linked clone there builds on s1's saved state: deleting s1 keeps that file.
        const deleting = await planned({ op: 'delete-snapshot', domain: vm, snapshot: 's1' });
        expect(deleting.impact.trashed).not.toContain(state);
      },
      [`${clones}/decoy.qcow2`, `${out}/decoy.raw`],
    );
  });
});

describe('free space on the remote host', () => {
  test("an export too big for a folder there is refused before it starts, from the room read there; nothing is made", async () => {
    const vm = await build('room', ['vda'], ['s1']);
    const tiny = `${dir}/tiny`;
    // 1 MiB of room there; this computer's folder of that name, if any, is not what counts.
    onTestHost(`mkdir -p ${tiny} && mount -t tmpfs -o size=1m,mode=0755 tmpfs ${tiny}`);
    try {
      const result = await engine.plan(source, { op: 'export', domain: vm, node: { kind: 'snapshot', name: 's1' }, to: tiny, format: 'qcow2' });
      expect(result.ok ? 'planned' : result.refusal.code).toBe('E_NO_SPACE');
      expect(result.ok ? '' : result.refusal.message).toContain(tiny);
      expect(onTestHost(`ls -A ${tiny}`).trim()).toBe('');
      // The same export into a folder there with room goes through.
      onTestHost(`mkdir -p ${dir}/roomy`);
      await apply({ op: 'export', domain: vm, node: { kind: 'snapshot', name: 's1' }, to: `${dir}/roomy`, format: 'qcow2' });
      expect(onTestHost(`ls -A ${dir}/roomy`).split('\n').filter(Boolean)).toHaveLength(1);
    } finally {
      onTestHost(`umount ${tiny}`);
    }
  });
});

/** The file of a node's disk by its key (snapshot `s:NAME/TARGET`, branch `b:NAME/TARGET`) in a scan. */
function viewKey(domain: Domain, key: string): string {
  const file = nodeViews(domain)[key];
  if (file === undefined) throw new Error(`no ${key}`);
  return file;
}

/** A domain there with snapshots s1, s2 taken by the host's virsh, data in each layer. */
function nativeDomain(name: string): string {
  const vm = `${prefix}${name}`;
  const file = `${dir}/${name}.qcow2`;
  onTestHost(`mkdir -p ${dir} && qemu-img create -q -f qcow2 ${file} 32M`);
  writeThere(file, 0x10, 0, 2 * MiB);
  defineThere({ name: vm, disks: [{ target: 'vda', file, format: 'qcow2' }] }, dir);
  for (const [i, snap] of ['s1', 's2'].entries()) {
    snapshotThere(vm, snap, false);
    writeThere(diskSourceThere(vm, 'vda'), 0x40 + i, (i + 1) * 2 * MiB, MiB);
  }
  return vm;
}

/** The app's tree of the domain: no error, the branch You are here on, and libvirt's parents. */
async function treeOf(vm: string, gone: string[] = []): Promise<Domain> {
  const domain = await engine.scanDomain(source, vm);
  expect(domain.problems.filter((p) => p.severity === 'error')).toEqual([]);
  expectParentsAgreeThere(domain);
  expectSnapshotRecordsTrueThere(vm, gone);
  return domain;
}

describe('interop with libvirt 11 on the remote host', () => {
  /** A domain natively reverted to s1 by libvirt 11, data written on its auto-named overlay; with what libvirt left gone. */
  async function nativelyReverted(name: string): Promise<{ vm: string; overlay: string; gone: string[]; reverted: Domain }> {
    const vm = nativeDomain(name);
    virshThere(['snapshot-revert', vm, 's1']);
    // libvirt 11 removed the state on top of s2, never snapshotted; s2's record still names it.
    const gone = missingRecordFilesThere(vm);
    expect(gone).toEqual([`${dir}/${name}.s2`]);
    const overlay = diskSourceThere(vm, 'vda');
    expect(overlay).toMatch(new RegExp(`^${dir}/${name}\\.\\d+$`));
    writeThere(overlay, 0x66, 6 * MiB, MiB);
    return { vm, overlay, gone, reverted: await treeOf(vm, gone) };
  }

  test("libvirt's own revert, then the app's tree and operations on that domain", async () => {
    const { vm, overlay, gone, reverted } = await nativelyReverted('native');
    await withDecoys(vm, async () => {
      const here = snapshotGraph(reverted).find((n) => n.kind === 'branch' && n.current);
      expect(here?.parentId).toBe('s:s1');
      expect(here?.branch?.tips.map((t) => t.file)).toEqual([overlay]);
      const views = exportViewsThere(reverted, `${exportsDir}/native`);

      // The app goes back to s1 on a branch of its own: libvirt's overlay stays, as a branch.
      const branched = await apply({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'side' });
      expect(backingThere(diskSourceThere(vm, 'vda'))).toBe(branched.snapshots.find((s) => s.name === 's1')?.disks[0]?.stateLayer);
      expect(branched.branches.find((b) => b.tips[0]?.file === overlay)?.current).toBe(false);
      expect(readsThere(overlay, 0x66, 6 * MiB, MiB)).toBe(true);
      expectSameViewsThere(branched, views);
      expectSnapshotRecordsTrueThere(vm, gone);
      expectStartsThere(vm);

      // And deletes s1, which both branches and s2 stand on.
      const views2 = exportViewsThere(branched, `${exportsDir}/native-2`);
      const deleted = await apply({ op: 'delete-snapshot', domain: vm, snapshot: 's1' });
      expect(deleted.snapshots.map((s) => s.name)).toEqual(['s2']);
      expect(deleted.branches.length).toBe(branched.branches.length);
      expectSameViewsThere(deleted, views2, ['s:s1']);
      expectStartsThere(vm);
    }, [overlay]);
  });

  test("after libvirt's own revert, the snapshot it left is still one to return to: its saved state is in its record", async () => {
    // libvirt 11 removed s2's overlay, but s2's record keeps the definition it saved, whose disk is s2's state.
    const { vm, gone, reverted } = await nativelyReverted('native2');
    expect(reverted.snapshots.find((s) => s.name === 's2')?.disks[0]?.stateLayer, "s2's saved state, per its record").toBe(`${dir}/native2.s1`);
    const views = exportViewsThere(reverted, `${exportsDir}/native2`);
    const branched = await apply({ op: 'revert-branch', domain: vm, snapshot: 's2', branch: 'again' });
    expect(backingThere(diskSourceThere(vm, 'vda'))).toBe(`${dir}/native2.s1`);
    expectSameViewsThere(branched, views);
    expectSnapshotRecordsTrueThere(vm, gone);
  });

  test("the app's branch, then libvirt's own revert: libvirt deletes the state it leaves, and nothing else", async () => {
    const vm = nativeDomain('interop');
    await withDecoys(vm, async () => {
      await apply({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'b1' });
      const b1Tip = diskSourceThere(vm, 'vda');
      writeThere(b1Tip, 0x77, 6 * MiB, MiB);
      const before = await treeOf(vm);
      const views = exportViewsThere(before, `${exportsDir}/interop`);
      const s2State = before.snapshots.find((s) => s.name === 's2')?.disks[0]?.stateLayer as string;
      const mainTip = before.branches.find((b) => b.name === 'main')?.tips[0]?.file as string;

      // libvirt 11 reverts to s2 itself: a new overlay on s2's state. It deletes the state it leaves: the current
      // snapshot's revert disks, which the app recorded (b1's tip), never s1's overlay (which holds s2's state).
      virshThere(['snapshot-revert', vm, 's2']);
      expect(existingThere([s2State, mainTip, b1Tip]), "what stays after libvirt's revert").toEqual([s2State, mainTip]);
      const reverted = await treeOf(vm);
      expect(reverted.problems.filter((p) => p.severity === 'error')).toEqual([]);
      expect(backingThere(diskSourceThere(vm, 'vda'))).toBe(s2State);
      expect(snapshotGraph(reverted).find((n) => n.kind === 'branch' && n.current)?.parentId).toBe('s:s2');
      // Every snapshot, and main's tip (now a loose tip: libvirt put back the definition s2 saved, without branch
      // records), reads as before.
      const main = reverted.branches.find((b) => b.tips[0]?.file === mainTip);
      expect(sameBytesThere(views['b:main/vda'] as string, mainTip)).toBe(true);
      expect(main?.base).toBe('s2');
      expectSameViewsThere(reverted, views, ['b:main', 'b:b1']);
    });
  });

  test("the app's branch and switch back, then libvirt's own delete and revert, then the app's tree again", async () => {
    const vm = nativeDomain('interop2');
    await withDecoys(vm, async () => {
      await apply({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'b1' });
      const b1Tip = diskSourceThere(vm, 'vda');
      writeThere(b1Tip, 0x77, 6 * MiB, MiB);
      const switched = await apply({ op: 'switch', domain: vm, branch: 'main' });
      const views = exportViewsThere(switched, `${exportsDir}/interop2`);

      // libvirt 11 deletes s2, the current snapshot, itself: a block commit of main's tip into s2's state.
      virshThere(['snapshot-delete', vm, 's2']);
      const deleted = await treeOf(vm);
      expect(deleted.snapshots.map((s) => s.name)).toEqual(['s1']);
      expect(deleted.branches.map((b) => b.name).sort()).toEqual(['b1', 'main']);
      expect(readsThere(diskSourceThere(vm, 'vda'), 0x41, 4 * MiB, MiB)).toBe(true);
      expectSameViewsThere(deleted, views, ['s:s2']);
      expectStartsThere(vm);

      // libvirt 11 reverts to s1 itself: main's state, never snapshotted, goes; b1's tip stays, with its data.
      const views2 = exportViewsThere(deleted, `${exportsDir}/interop2-2`);
      virshThere(['snapshot-revert', vm, 's1']);
      const reverted = await treeOf(vm);
      expect(snapshotGraph(reverted).find((n) => n.kind === 'branch' && n.current)?.parentId).toBe('s:s1');
      expect(readsThere(b1Tip, 0x77, 6 * MiB, MiB)).toBe(true);
      const b1 = reverted.branches.find((b) => b.tips[0]?.file === b1Tip);
      expect(b1 && { current: b1.current, base: b1.base }).toEqual({ current: false, base: 's1' });
      expect(sameBytesThere(views2['b:b1/vda'] as string, b1Tip)).toBe(true);
      expectSameViewsThere(reverted, views2, ['b:main', 'b:b1']);
      expectStartsThere(vm);
      // libvirt put back the definition s1 saved, which holds no branch record: b1 is shown as the loose tip it is
      // now, named by its file.
      expect(b1 && [b1.name, b1.origin], "b1 after libvirt's revert replaced the domain's definition").toEqual([basename(b1Tip), 'loose']);
    });
  });

  /**
   * After the app's revert and one more step, libvirt 11's own revert: every frozen layer and the other branch's tip
   * stay (libvirt deletes only the state it leaves), and every snapshot still reads as before.
   */
  async function thenNativeRevert(name: string, step: (vm: string) => Promise<void>, to: string): Promise<void> {
    const vm = nativeDomain(name);
    await apply({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'b1' });
    await step(vm);
    const before = await treeOf(vm);
    // libvirt 11's own delete knows only the chain the domain runs on: the tree says so.
    expect(before.problems.find((p) => p.code === 'native-delete')).toMatchObject({ severity: 'info', message: expect.stringContaining('"main"') });
    const views = exportViewsThere(before, `${exportsDir}/${name}`);
    const kept = [...new Set(before.snapshots.flatMap((s) => s.disks.flatMap((d) => (d.stateLayer !== null ? [d.stateLayer] : []))))];
    const mainTip = before.branches.find((b) => b.name === 'main')?.tips[0]?.file as string;
    virshThere(['snapshot-revert', vm, to]);
    expect(existingThere([...kept, mainTip]), `frozen layers and main's tip after libvirt's revert to ${to}`).toEqual([...kept, mainTip]);
    const after = await treeOf(vm, missingRecordFilesThere(vm));
    const state = after.snapshots.find((s) => s.name === to)?.disks[0]?.stateLayer;
    expect(backingThere(diskSourceThere(vm, 'vda')), 'the domain runs on a new overlay on the saved state').toBe(state);
    expectSameViewsThere(after, views, before.branches.map((b) => `b:${b.name}`));
    expect(sameBytesThere(views['b:main/vda'] as string, mainTip)).toBe(true);
  }

  test("the app's revert, then its metadata-only delete of the next snapshot: libvirt's revert keeps s1 a snapshot, never the bare base", async () => {
    await thenNativeRevert('meta', async (vm) => {
      await apply({ op: 'delete-snapshot', domain: vm, snapshot: 's2', metadataOnly: true });
    }, 's1');
  });

  test("the app's revert, then a snapshot taken and deleted by the app: libvirt's revert deletes no frozen layer", async () => {
    await thenNativeRevert('takeback', async (vm) => {
      await apply({ op: 'create-snapshot', domain: vm, name: 'tmp' });
      await apply({ op: 'delete-snapshot', domain: vm, snapshot: 'tmp' });
    }, 's2');
  });

  test("the app's revert to s2, then its metadata-only delete of s1 (s2's record redefined while current): libvirt's revert deletes no branch tip", async () => {
    const vm = nativeDomain('redef');
    await apply({ op: 'revert-branch', domain: vm, snapshot: 's2', branch: 'b2' });
    await apply({ op: 'delete-snapshot', domain: vm, snapshot: 's1', metadataOnly: true });
    const before = await treeOf(vm);
    const mainTip = before.branches.find((b) => b.name === 'main')?.tips[0]?.file as string;
    const views = exportViewsThere(before, `${exportsDir}/redef`);
    virshThere(['snapshot-revert', vm, 's2']);
    expect(existingThere([mainTip]), "main's tip after libvirt's revert").toEqual([mainTip]);
    expect(sameBytesThere(views['b:main/vda'] as string, mainTip)).toBe(true);
  });
});
