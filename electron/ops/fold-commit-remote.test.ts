/**
 * Fold-commit on the test host (scripts/test-host.sh): libvirt 11 over SSH, its files there. The current tip is
 * folded into the last snapshot's saved state and that snapshot deleted, every file step made there, the parent
 * made current (docs/safety.md, rule 4). The health check there knows the file the fold wrote as the app's own.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Engine } from '../engine';
import { withEngineLab } from '../test-support/engine-lab';
import {
  applyCheckedThere,
  defineThere,
  diskSourceThere,
  existingThere,
  expectSameViewsThere,
  expectSnapshotRecordsTrueThere,
  expectStartsThere,
  exportViewsThere,
  removeThere,
  virshThere,
  writeThere,
} from '../test-support/remote-checks';
import { onTestHost, requireTestHost, TEST_HOST_URI } from '../test-support/test-host';

const MiB = 1024 * 1024;
const tag = `f${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
const prefix = `snaptree-${tag}-`;
const dir = `/var/lib/snaptree-${tag}`;
const source = { kind: 'libvirt' as const, uri: TEST_HOST_URI };
let engine: Engine;
withEngineLab((_lab, e) => {
  engine = e;
});

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

describe('fold-commit on the remote host', () => {
  test('the tip folds into s2\u2019s saved state, s2 goes, s1 becomes current, the old tip is in the trash there', async () => {
    const vm = `${prefix}fold`;
    const base = `${dir}/fold.qcow2`;
    onTestHost(`qemu-img create -q -f qcow2 ${base} 32M`);
    writeThere(base, 0x10, 0, 2 * MiB);
    defineThere({ name: vm, disks: [{ target: 'vda', file: base, format: 'qcow2' }], cdrom: false }, dir);
    for (const [k, snap] of ['s1', 's2'].entries()) {
      await applyCheckedThere(engine, source, { op: 'create-snapshot', domain: vm, name: snap });
      writeThere(diskSourceThere(vm, 'vda'), 0x30 + k, (k + 1) * 2 * MiB, MiB);
    }
    const before = await engine.scanDomain(source, vm);
    const state = before.snapshots.find((s) => s.name === 's2')?.disks[0]?.stateLayer ?? '';
    const tip = diskSourceThere(vm, 'vda');
    const views = exportViewsThere(before, `${dir}/exports`);
    const after = await applyCheckedThere(engine, source, { op: 'fold-commit', domain: vm, branch: 'main', snapshot: 's2' });
    expect(diskSourceThere(vm, 'vda')).toBe(state);
    expect(after.snapshots.map((s) => s.name)).toEqual(['s1']);
    expect(virshThere(['snapshot-current', vm, '--name']).trim()).toBe('s1');
    expect(existingThere([tip])).toEqual([]);
    expect((await engine.trash(source, vm)).map((e) => e.original)).toContain(tip);
    expectSameViewsThere(after, views, ['s:s2']);
    expectSnapshotRecordsTrueThere(vm);
    expectStartsThere(vm);
    const [report] = await engine.check(source, vm);
    expect(report?.layers.find((l) => l.path === state)?.ownWrite?.op).toBe('fold-commit');
    expect(report?.healthy).toBe(true);
  });
});
