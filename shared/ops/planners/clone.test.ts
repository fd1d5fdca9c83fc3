/** Clone: a new domain from a snapshot or a branch, linked (overlays) or full (standalone copies). */
import { describe, expect, test } from 'vitest';
import { seed } from '../../test-seed';
import type { Intent, IntentOf, Plan, PlanResult, Step } from '../plan';
import { planOperation } from '../planners';
import { scanOf, web01 } from './clone-seed';
import type { ScanResult } from '../../model';

const ID = '00000000-0000-0000-0000-000000000000';
const fromSnap1: IntentOf<'clone'> = { op: 'clone', domain: 'web01', node: { kind: 'snapshot', name: 'snap1' }, name: 'web01-clone', mode: 'linked' };

const plan = (scan: ScanResult, intent: Intent): Plan => {
  const result = planOperation({ scan, operationId: ID }, intent);
  if (!result.ok) throw new Error(result.refusal.message);
  return result.plan;
};
const refusal = (result: PlanResult): string => (result.ok ? 'planned' : `${result.refusal.code}: ${result.refusal.message}`);
const refused = (scan: ScanResult, intent: Intent): string => refusal(planOperation({ scan, operationId: ID }, intent));
const kinds = (steps: Step[]) => steps.map((s) => s.kind);

describe('a linked clone of a snapshot', () => {
  test('each managed disk gets an overlay on the saved state beside it, then the clone is defined on them', () => {
    const { steps, impact, pointOfNoReturn, warnings } = plan(scanOf(web01()), fromSnap1);
    expect(kinds(steps)).toEqual(['create-overlay', 'create-overlay', 'define-clone']);
    expect(steps[0]).toMatchObject({ path: '/img/web01-clone.vda.qcow2', backing: '/img/web01-vda.qcow2', backingFormat: 'qcow2' });
    expect(steps[1]).toMatchObject({ path: '/img/web01-clone.vdb.qcow2', backing: '/img/web01-vdb.qcow2', backingFormat: 'qcow2' });
    expect(steps[2]).toEqual(
      expect.objectContaining({
        kind: 'define-clone',
        source: 'web01',
        name: 'web01-clone',
        node: { kind: 'snapshot', name: 'snap1' },
        disks: { vda: '/img/web01-clone.vda.qcow2', vdb: '/img/web01-clone.vdb.qcow2' },
        formats: { vda: 'qcow2', vdb: 'qcow2' },
        nvram: null,
      }),
    );
    expect(pointOfNoReturn).toBeNull();
    expect(impact).toMatchObject({
      created: ['/img/web01-clone.vda.qcow2', '/img/web01-clone.vdb.qcow2'],
      written: [],
      trashed: [],
      changedNodes: [],
      createdNodes: [],
      mustStop: false,
      currentAfter: 'b:main',
    });
    expect(impact.unchangedNodes.sort()).toEqual(['b:main', 's:snap1']);
    expect(impact.spaceBytes).toBeLessThan(1 << 20);
    // The writable block device is shared; the CD-ROM, the read-only and the shareable disk are not warned about.
    expect(warnings.filter((w) => w.startsWith('Disk '))).toHaveLength(1);
    expect(warnings[0]).toMatch(/^Disk vdc is not managed .*web01 and web01-clone would both write to it/);
    // The files it builds on are pinned; the CD-ROM is carried as it is, and the plan says so.
    expect(warnings).toContain('While web01-clone exists, web01-vda.qcow2, web01-vdb.qcow2 stay pinned: no commit, fold or delete on web01 removes them or changes what web01-clone reads through them.');
    expect(warnings.filter((w) => w.startsWith('CD-ROM '))).toHaveLength(1);
    expect(warnings.find((w) => w.startsWith('CD-ROM '))).toMatch(/^CD-ROM \w+ stays as it is: (web01-clone uses the same ISO \(.+\), read-only|empty)\.$/);
    expect(warnings).toHaveLength(3);
  });

  test('`dir` puts the new files there; `start` boots the clone last', () => {
    const { steps } = plan(scanOf(web01()), { ...fromSnap1, dir: '/fast', start: true });
    expect(kinds(steps)).toEqual(['create-overlay', 'create-overlay', 'define-clone', 'start-domain']);
    expect(steps.slice(0, 2).map((s) => (s.kind === 'create-overlay' ? s.path : ''))).toEqual(['/fast/web01-clone.vda.qcow2', '/fast/web01-clone.vdb.qcow2']);
    expect(steps[3]).toMatchObject({ domain: 'web01-clone', paused: false });
  });

  test('a UEFI domain: the clone gets its own copy of the variable store beside the source\u2019s', () => {
    const scan = scanOf(web01({ nvram: '/var/lib/libvirt/qemu/nvram/web01_VARS.fd' }));
    const { steps, impact } = plan(scan, fromSnap1);
    expect(kinds(steps)).toEqual(['create-overlay', 'create-overlay', 'copy-nvram', 'define-clone']);
    expect(steps[2]).toMatchObject({ path: '/var/lib/libvirt/qemu/nvram/web01_VARS.fd', copy: '/var/lib/libvirt/qemu/nvram/web01-clone_VARS.fd' });
    expect(steps[3]).toMatchObject({ nvram: '/var/lib/libvirt/qemu/nvram/web01-clone_VARS.fd' });
    expect(impact.created).toContain('/var/lib/libvirt/qemu/nvram/web01-clone_VARS.fd');
  });

  test('a snapshot with saved memory: the clone boots from its disks, and the plan says so', () => {
    const facts = web01();
    facts.snapshots[0]!.memoryFile = '/img/web01.snap1.mem';
    expect(plan(scanOf(facts), fromSnap1).warnings).toContain("Snapshot snap1 saved web01's memory too; web01-clone does not resume from it, it boots from the disks as they were saved.");
  });

  test('a running source is cloned from a snapshot as it runs', () => {
    expect(kinds(plan(scanOf(web01({ state: 'running' })), fromSnap1).steps)).toEqual(['create-overlay', 'create-overlay', 'define-clone']);
  });
});

describe('a full clone', () => {
  test('each managed disk is copied whole into a standalone qcow2; the space is what the chain holds', () => {
    const { steps, impact } = plan(scanOf(web01()), { ...fromSnap1, mode: 'full' });
    expect(kinds(steps)).toEqual(['convert', 'convert', 'define-clone']);
    expect(steps[0]).toEqual(expect.objectContaining({ source: '/img/web01-vda.qcow2', sourceFormat: 'qcow2', target: '/img/web01-clone.vda.qcow2', format: 'qcow2', compress: false }));
    expect(impact.spaceBytes).toBe((3 << 20) + (5 << 20));
    expect(impact.changedNodes).toEqual([]);
  });

  test('of a branch: its tips are copied, and the branch goes on in its own files', () => {
    const { steps, impact } = plan(scanOf(web01()), { ...fromSnap1, node: { kind: 'branch', name: 'main' }, mode: 'full' });
    expect(kinds(steps)).toEqual(['convert', 'convert', 'define-clone']);
    expect(steps[1]).toMatchObject({ source: '/img/web01.snap1.vdb.qcow2', target: '/img/web01-clone.vdb.qcow2' });
    expect(impact.spaceBytes).toBe((3 << 20) + (1 << 20) + (5 << 20) + (1 << 20));
  });
});

describe('a linked clone of a branch freezes its tips first', () => {
  test('the current branch: new tips for main, the domain moved onto them, the clone on the old tips', () => {
    const { steps, impact, warnings } = plan(scanOf(web01()), { ...fromSnap1, node: { kind: 'branch', name: 'main' } });
    expect(kinds(steps)).toEqual(['create-overlay', 'create-overlay', 'define-domain', 'create-overlay', 'create-overlay', 'define-clone']);
    expect(steps[0]).toMatchObject({ path: '/img/web01.main.vda.qcow2', backing: '/img/web01.snap1.vda.qcow2' });
    expect(steps[2]).toMatchObject({ domain: 'web01', disks: { vda: '/img/web01.main.vda.qcow2', vdb: '/img/web01.main.vdb.qcow2' }, records: { current: 'main', branches: [] } });
    expect(steps[3]).toMatchObject({ path: '/img/web01-clone.vda.qcow2', backing: '/img/web01.snap1.vda.qcow2' });
    expect(steps[0]?.sentence).toMatch(/branch main goes on in this new, empty file/);
    expect(warnings[0]).toBe('Branch main goes on in new files (web01.main.vda.qcow2, web01.main.vdb.qcow2); its files so far are frozen for the clone.');
    expect(impact.changedNodes).toEqual(['b:main']);
    expect(impact.created).toEqual(['/img/web01.main.vda.qcow2', '/img/web01.main.vdb.qcow2', '/img/web01-clone.vda.qcow2', '/img/web01-clone.vdb.qcow2']);
    expect(impact.metadata).toEqual(['definition of the new domain web01-clone', 'definition of web01', 'branch records']);
  });

  test('on a libvirt that reverts external snapshots itself, the current snapshot records the new tips as its revert disks', () => {
    const scan = { ...scanOf(web01()), hypervisor: 'libvirt 11.3.0, QEMU 10.0.13' };
    const { steps } = plan(scan, { ...fromSnap1, node: { kind: 'branch', name: 'main' } });
    expect(kinds(steps)).toEqual(['create-overlay', 'create-overlay', 'define-domain', 'set-current-snapshot', 'create-overlay', 'create-overlay', 'define-clone']);
    expect(steps[3]).toMatchObject({
      snapshot: 'snap1',
      revertDisks: { vda: { file: '/img/web01.main.vda.qcow2', format: 'qcow2' }, vdb: { file: '/img/web01.main.vdb.qcow2', format: 'qcow2' } },
    });
  });

  test('another branch: only its record moves to the new tip; the disks stay', () => {
    const { steps } = plan(seed({ fork: true }), { op: 'clone', domain: 'vm', node: { kind: 'branch', name: 'alt' }, name: 'vm2', mode: 'linked' });
    expect(kinds(steps)).toEqual(['create-overlay', 'define-domain', 'create-overlay', 'define-clone']);
    expect(steps[0]).toMatchObject({ path: '/i/vm.alt.vda.qcow2', backing: '/i/alt.qcow2' });
    expect(steps[1]).toMatchObject({ disks: { vda: '/i/vm.snap3' }, records: { branches: [{ name: 'alt', tips: [{ target: 'vda', file: '/i/vm.alt.vda.qcow2' }] }] } });
    expect(steps[2]).toMatchObject({ path: '/i/vm2.vda.qcow2', backing: '/i/alt.qcow2' });
  });

  test('a new tip name already in use takes the next number', () => {
    const facts = web01();
    const scan = scanOf(facts, { ...web01({ name: 'other' }), layers: { ...web01({ name: 'other' }).layers, '/img/web01.main.vda.qcow2': { ...facts.layers['/img/web01-vda.qcow2']!, path: '/img/web01.main.vda.qcow2' } } });
    const { steps } = plan(scan, { ...fromSnap1, node: { kind: 'branch', name: 'main' } });
    expect(steps[0]).toMatchObject({ path: '/img/web01.main.2.vda.qcow2' });
  });
});

describe('clone refusals', () => {
  test.each<[string, ScanResult, IntentOf<'clone'>, RegExp]>([
    ['a name another domain has', scanOf(web01(), web01({ name: 'web01-clone' })), fromSnap1, /^E_NAME_TAKEN: There is already a domain named "web01-clone"/],
    ['the source\u2019s own name', scanOf(web01()), { ...fromSnap1, name: 'web01' }, /^E_NAME_TAKEN/],
    ['a snapshot that is not there', scanOf(web01()), { ...fromSnap1, node: { kind: 'snapshot', name: 'nope' } }, /^E_NOT_FOUND: Domain "web01" has no snapshot named "nope"/],
    ['a branch that is not there', scanOf(web01()), { ...fromSnap1, node: { kind: 'branch', name: 'nope' } }, /^E_NOT_FOUND: Domain "web01" has no branch named "nope"/],
    ['the current branch of a running domain', scanOf(web01({ state: 'running' })), { ...fromSnap1, node: { kind: 'branch', name: 'main' } }, /^E_DOMAIN_RUNNING: .*Shut the VM off, or take a snapshot and clone from it/],
    ['the current branch of a paused domain, full', scanOf(web01({ state: 'paused' })), { ...fromSnap1, node: { kind: 'branch', name: 'main' }, mode: 'full' }, /^E_DOMAIN_RUNNING/],
  ])('refuses %s', (_what, scan, intent, expected) => {
    expect(refused(scan, intent)).toMatch(expected);
  });

  test('a file already known at a new path is refused, naming it', () => {
    const facts = web01();
    facts.layers['/img/web01-clone.vdb.qcow2'] = { ...facts.layers['/img/web01-vdb.qcow2']!, path: '/img/web01-clone.vdb.qcow2' };
    expect(refused(scanOf(facts), fromSnap1)).toBe('E_NAME_TAKEN: The file /img/web01-clone.vdb.qcow2 already exists.');
  });

  test('two disks that would get the same file are refused', () => {
    const facts = web01();
    facts.disks[1] = { ...facts.disks[1]!, target: 'vd,a' };
    facts.disks.push({ ...facts.disks[1]!, target: 'vd_a', file: '/img/web01-vda.qcow2' });
    facts.snapshots[0]!.disks = [
      { target: 'vda', kind: 'external', overlay: '/img/web01.snap1.vda.qcow2' },
      { target: 'vd,a', kind: 'external', overlay: '/img/web01.snap1.vdb.qcow2' },
      { target: 'vd_a', kind: 'external', overlay: '/img/web01-vda.qcow2' },
    ];
    expect(refused(scanOf(facts), { ...fromSnap1, node: { kind: 'branch', name: 'main' }, mode: 'full', dir: '/x' })).toMatch(/^E_NAME_TAKEN: Two disks of the clone would both be \/x\/web01-clone.vd_a.qcow2/);
  });

  test('a domain with no managed disk', () => {
    const facts = web01();
    facts.disks = facts.disks.filter((d) => !d.managed);
    expect(refused(scanOf(facts), fromSnap1)).toBe('E_NOT_SUPPORTED: Domain "web01" has no managed disk to copy.');
  });

  test('a snapshot that holds no saved state of a disk', () => {
    const facts = web01();
    facts.snapshots[0]!.disks = facts.snapshots[0]!.disks.slice(0, 1);
    expect(refused(scanOf(facts), fromSnap1)).toMatch(/^E_NOT_SUPPORTED: Snapshot "snap1" holds no external saved state of disk vdb/);
  });

  test('an image folder: a clone needs libvirt', () => {
    const scan = scanOf({ ...web01(), state: 'folder' });
    expect(refused(scan, fromSnap1)).toMatch(/^E_NOT_SUPPORTED: "web01" is an image folder/);
  });
});
