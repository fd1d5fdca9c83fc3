import { describe, expect, test } from 'vitest';
import { assembleFolder } from '../assemble';
import type { ScanResult } from '../model';
import { layer, seed } from '../test-seed';
import type { Intent, Plan, PlanResult } from './plan';
import { dependantsOf } from './dependants';
import { planOperation } from './planners';
import { stepLine } from './step-command';

function planned(scan: ScanResult, intent: Intent): Plan {
  const result = planOperation({ scan, operationId: 'op1' }, intent);
  if (!result.ok) throw new Error(`refused: ${result.refusal.message}`);
  return result.plan;
}

const kinds = (plan: Plan) => plan.steps.map((s) => s.kind);

/** The command line the preview shows for step `i`. */
const line = (plan: Plan, i: number) => {
  const step = plan.steps[i];
  return step === undefined ? undefined : stepLine(step, plan.source);
};

describe('revert with a new branch', () => {
  const plan = planned(seed(), { op: 'revert-branch', domain: 'vm', snapshot: 'snap1', branch: 'snap1.1' });

  test('creates an overlay on the saved state, redefines the domain, sets the current snapshot', () => {
    expect(kinds(plan)).toEqual(['create-overlay', 'define-domain', 'set-current-snapshot']);
    expect(plan.steps[0]).toMatchObject({ path: '/i/vm.snap1.1.vda.qcow2', backing: '/i/base.qcow2', backingFormat: 'qcow2' });
    expect(line(plan, 0)).toEqual(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', '/i/base.qcow2', '-F', 'qcow2', '--', '/i/vm.snap1.1.vda.qcow2']);
  });

  test('keeps the state it leaves as branch main and names the new one', () => {
    expect(plan.steps[1]).toMatchObject({
      disks: { vda: '/i/vm.snap1.1.vda.qcow2' },
      records: { current: 'snap1.1', branches: [{ name: 'main', tips: [{ target: 'vda', file: '/i/vm.snap3' }] }] },
    });
  });

  test("on libvirt 9.9 and later, the current snapshot records the new files as its revert disks, as libvirt's own revert does", () => {
    // There, libvirt's revert deletes the current snapshot's revert disks, or else its overlays: snap1's hold snap2's state.
    const libvirt11 = planned({ ...seed(), hypervisor: 'libvirt 11.3.0, QEMU 10.0.13' }, { op: 'revert-branch', domain: 'vm', snapshot: 'snap1', branch: 'snap1.1' });
    expect(libvirt11.steps[2]).toMatchObject({ kind: 'set-current-snapshot', snapshot: 'snap1', revertDisks: { vda: { file: '/i/vm.snap1.1.vda.qcow2', format: 'qcow2' } } });
    expect(line(libvirt11, 2)).toEqual([
      'virsh', '-c', 'qemu:///system', 'snapshot-create', '--domain', 'vm', '--xmlfile', '<record of snap1 with the files of the state left as its revert disks>', '--redefine', '--current',
    ]); // prettier-ignore
    expect(plan.steps[2]).not.toHaveProperty('revertDisks');
  });

  test('says what changes and what stays byte-identical', () => {
    expect(plan.impact).toMatchObject({ created: ['/i/vm.snap1.1.vda.qcow2'], written: [], trashed: [], mustStop: true });
    expect(plan.impact.unchangedNodes).toEqual(['s:snap1', 's:snap2', 's:snap3']);
    expect(plan.pointOfNoReturn).toBeNull();
    expect(plan.warnings[0]).toMatch(/hdc is not managed/);
  });
});

describe('refusals are results with stable codes', () => {
  test.each<[string, ScanResult, Intent, string]>([
    ['a running domain', seed({ state: 'running' }), { op: 'revert-branch', domain: 'vm', snapshot: 'snap1', branch: 'x' }, 'E_DOMAIN_RUNNING'],
    ['an unknown domain', seed(), { op: 'switch', domain: 'nope', branch: 'x' }, 'E_NOT_FOUND'],
    ['an unknown snapshot', seed(), { op: 'revert-branch', domain: 'vm', snapshot: 'snap9', branch: 'x' }, 'E_NOT_FOUND'],
    ['a branch name in use', seed({ fork: true }), { op: 'revert-branch', domain: 'vm', snapshot: 'snap1', branch: 'alt' }, 'E_NAME_TAKEN'],
    ['the same name twice', seed(), { op: 'revert-branch', domain: 'vm', snapshot: 'snap1', branch: 'main' }, 'E_NAME_TAKEN'],
    ['switching to the current branch', seed(), { op: 'switch', domain: 'vm', branch: 'main' }, 'E_BAD_INPUT'],
    ['a commit into a snapshot state', seed(), { op: 'commit', domain: 'vm', branch: 'main' }, 'E_SHARED_BACKING'],
    ['a commit into a forked base', seed({ fork: true }), { op: 'commit', domain: 'vm', branch: 'alt' }, 'E_SHARED_BACKING'],
    ['a rename onto a used name', seed({ fork: true }), { op: 'rename-branch', domain: 'vm', branch: 'main', to: 'alt' }, 'E_NAME_TAKEN'],
  ])('%s', (_name, scan, intent, code) => {
    const result: PlanResult = planOperation({ scan, operationId: 'op1' }, intent);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.refusal.code).toBe(code);
      expect(result.refusal.message.length).toBeGreaterThan(10);
    }
  });

  test('a refused commit lists every dependant', () => {
    const result = planOperation({ scan: seed({ fork: true }), operationId: 'op1' }, { op: 'commit', domain: 'vm', branch: 'alt' });
    expect(result.ok ? null : result.refusal.details?.dependants).toEqual([
      expect.objectContaining({ kind: 'layer', name: '/i/vm.snap1' }),
      expect.objectContaining({ kind: 'snapshot', name: 'snap1' }),
    ]);
  });
});

describe('switch and rename', () => {
  test('switching points the disks at the branch tips and keeps the current state as a branch', () => {
    const plan = planned(seed({ fork: true }), { op: 'switch', domain: 'vm', branch: 'alt' });
    expect(kinds(plan)).toEqual(['define-domain', 'set-current-snapshot']);
    expect(plan.steps[0]).toMatchObject({
      disks: { vda: '/i/alt.qcow2' },
      records: { current: 'alt', branches: [{ name: 'main', tips: [{ target: 'vda', file: '/i/vm.snap3' }] }] },
    });
    expect(plan.steps[1]).toMatchObject({ snapshot: 'snap1' });
  });

  test('renaming the current branch changes only the records', () => {
    const plan = planned(seed(), { op: 'rename-branch', domain: 'vm', branch: 'main', to: 'trunk' });
    expect(plan.steps).toEqual([expect.objectContaining({ kind: 'define-domain', disks: { vda: '/i/vm.snap3' }, records: { current: 'trunk', branches: [] } })]);
  });
});

describe('delete snapshot', () => {
  test('with one child: commit into the saved state, repoint, update records, trash the overlay', () => {
    const plan = planned(seed(), { op: 'delete-snapshot', domain: 'vm', snapshot: 'snap2' });
    expect(kinds(plan)).toEqual(['commit', 'rebase', 'redefine-snapshot', 'delete-snapshot-metadata', 'trash']);
    expect(plan.steps[0]).toMatchObject({ top: '/i/vm.snap2', base: '/i/vm.snap1' });
    expect(plan.steps[1]).toMatchObject({ path: '/i/vm.snap3', backing: '/i/vm.snap1', unsafe: true });
    expect(plan.steps[2]).toMatchObject({ snapshot: 'snap3', replace: { '/i/vm.snap2': '/i/vm.snap1' } });
    expect(plan.steps[4]).toMatchObject({ kind: 'trash', path: '/i/vm.snap2' });
    expect(line(plan, 4)).toBeNull();
    expect(line(plan, 0)).toEqual(['qemu-img', 'commit', '-f', 'qcow2', '-p', '-d', '-b', '/i/vm.snap1', '--', '/i/vm.snap2']);
    expect(line(plan, 1)).toEqual(['qemu-img', 'rebase', '-u', '-f', 'qcow2', '-F', 'qcow2', '-b', '/i/vm.snap1', '--', '/i/vm.snap3']);
    expect(plan.pointOfNoReturn).toBe(0);
    expect(plan.impact).toMatchObject({ written: ['/i/vm.snap1', '/i/vm.snap3'], trashed: ['/i/vm.snap2'], spaceBytes: 1 << 20 });
  });

  test('the latest snapshot: its overlay is the current disk, so the domain is pointed at the saved state', () => {
    const plan = planned(seed(), { op: 'delete-snapshot', domain: 'vm', snapshot: 'snap3' });
    expect(kinds(plan)).toEqual(['commit', 'define-domain', 'delete-snapshot-metadata', 'trash']);
    expect(plan.steps[1]).toMatchObject({ disks: { vda: '/i/vm.snap2' } });
  });

  test('with a fork at its saved state and a child snapshot on its overlay: only the record goes', () => {
    const plan = planned(seed({ fork: true }), { op: 'delete-snapshot', domain: 'vm', snapshot: 'snap1' });
    expect(kinds(plan)).toEqual(['redefine-snapshot', 'delete-snapshot-metadata']);
    expect(plan.steps[0]).toMatchObject({ snapshot: 'snap2', replace: {} });
    expect(plan.impact.trashed).toEqual([]);
    expect(plan.warnings[0]).toMatch(/only the snapshot's record goes/);
  });

  test('metadata only never touches a file', () => {
    const plan = planned(seed(), { op: 'delete-snapshot', domain: 'vm', snapshot: 'snap2', metadataOnly: true });
    expect(kinds(plan)).toEqual(['redefine-snapshot', 'delete-snapshot-metadata']);
  });
});

describe('commit in an image folder', () => {
  test('a tip whose backing serves nothing else is committed and trashed', () => {
    const layers = { '/f/base.qcow2': layer('/f/base.qcow2', null), '/f/mid.qcow2': layer('/f/mid.qcow2', '/f/base.qcow2'), '/f/top.qcow2': layer('/f/top.qcow2', '/f/mid.qcow2') };
    const scan: ScanResult = { source: { kind: 'folder', path: '/f' }, scannedAt: '', hypervisor: null, domains: assembleFolder(layers, []), problems: [] };
    const plan = planned(scan, { op: 'commit', domain: 'base.qcow2', branch: 'top.qcow2' });
    expect(kinds(plan)).toEqual(['commit', 'trash']);
    expect(plan.steps[0]).toMatchObject({ top: '/f/top.qcow2', base: '/f/mid.qcow2' });
  });
});

describe('revert discarding, delete branch, create snapshot', () => {
  test('discarding trashes only what the abandoned line alone used and points the kept snapshot at the new file', () => {
    const plan = planned(seed({ fork: true }), { op: 'revert-discard', domain: 'vm', snapshot: 'snap2' });
    expect(kinds(plan)).toEqual(['create-overlay', 'define-domain', 'set-current-snapshot', 'redefine-snapshot', 'delete-snapshot-metadata', 'trash', 'trash']);
    expect(plan.impact.trashed.sort()).toEqual(['/i/vm.snap2', '/i/vm.snap3']);
    // snap2 keeps its saved state (vm.snap1); its record now names the new file instead of vm.snap2.
    expect(plan.steps[3]).toMatchObject({ snapshot: 'snap2', replace: { '/i/vm.snap2': plan.impact.created[0] } });
    expect(plan.steps[4]).toMatchObject({ snapshot: 'snap3' });
  });

  test('a branch is deleted with its own tip; a layer another branch needs stays', () => {
    const plan = planned(seed({ fork: true }), { op: 'delete-branch', domain: 'vm', branch: 'alt' });
    expect(kinds(plan)).toEqual(['define-domain', 'trash']);
    expect(plan.impact.trashed).toEqual(['/i/alt.qcow2']);
    const current = planOperation({ scan: seed(), operationId: 'op1' }, { op: 'delete-branch', domain: 'vm', branch: 'main' });
    expect(current.ok ? null : current.refusal.code).toBe('E_BAD_INPUT');
  });

  test('a snapshot is one virsh command with a diskspec per managed disk and the CD-ROM left out', () => {
    const plan = planned(seed(), { op: 'create-snapshot', domain: 'vm', name: 'snap4' });
    expect(line(plan, 0)).toEqual([
      'virsh', '-c', 'qemu:///system', 'snapshot-create-as', '--domain', 'vm', '--name', 'snap4', '--disk-only', '--atomic',
      '--diskspec', 'vda,snapshot=external,file=/i/vm.snap4.vda.qcow2', '--diskspec', 'hdc,snapshot=no',
    ]);
    const taken = planOperation({ scan: seed(), operationId: 'op1' }, { op: 'create-snapshot', domain: 'vm', name: 'snap1' });
    expect(taken.ok ? null : taken.refusal.code).toBe('E_NAME_TAKEN');
  });
});

describe('dependants', () => {
  test("libvirt's <revertDisks> records count: a file they build on is frozen", () => {
    const scan = seed();
    const domain = scan.domains[0]!;
    domain.layers['/i/vm.revert'] = layer('/i/vm.revert', '/i/vm.snap1');
    domain.snapshots[1]!.revertFiles = ['/i/vm.revert'];
    expect(dependantsOf(scan, '/i/vm.snap1').map((d) => `${d.kind}:${d.name}`)).toEqual(['layer:/i/vm.snap2', 'layer:/i/vm.revert', 'snapshot:snap2', 'snapshot:snap2']);
  });
});

describe('repair', () => {
  test('leaks: one qemu-img check -r leaks on the file, which is the only file written', () => {
    const plan = planned(seed(), { op: 'repair', domain: 'vm', path: '/i/vm.snap1', mode: 'leaks' });
    expect(plan.steps.map((s) => stepLine(s, plan.source))).toEqual([['qemu-img', 'check', '-r', 'leaks', '-f', 'qcow2', '--', '/i/vm.snap1']]);
    expect(plan.impact).toMatchObject({ written: ['/i/vm.snap1'], created: [], trashed: [], changedNodes: [] });
    expect(plan.pointOfNoReturn).toBe(0);
  });

  test('all: a copy goes to the trash first, and what builds on the file is named', () => {
    const plan = planned(seed(), { op: 'repair', domain: 'vm', path: '/i/vm.snap1', mode: 'all' });
    expect(plan.steps.map((s) => s.kind)).toEqual(['keep-copy', 'repair']);
    expect(plan.impact.created).toEqual(['/i/.snaptree-trash/op1/vm.snap1']);
    expect(plan.impact.changedNodes).toEqual(['s:snap2']);
    expect(plan.pointOfNoReturn).toBe(1);
    expect(plan.warnings[0]).toMatch(/vm\.snap2 is built on it/);
  });

  test('refused: a raw file, a file of no disk, a running domain', () => {
    const scan = seed();
    scan.domains[0]!.layers['/i/base.qcow2']!.format = 'raw';
    const refusal = (s: ScanResult, path: string) => {
      const result = planOperation({ scan: s, operationId: 'op1' }, { op: 'repair', domain: 'vm', path, mode: 'leaks' });
      return result.ok ? 'planned' : result.refusal.code;
    };
    expect(refusal(scan, '/i/base.qcow2')).toBe('E_NOT_SUPPORTED');
    expect(refusal(scan, '/elsewhere.qcow2')).toBe('E_NOT_FOUND');
    expect(refusal(seed({ state: 'running' }), '/i/vm.snap1')).toBe('E_DOMAIN_RUNNING');
  });
});
