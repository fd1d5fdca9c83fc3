import { describe, expect, test } from 'vitest';
import type { ScanResult } from '../model';
import { assembleDomain } from '../assemble';
import { layer, seed } from '../test-seed';
import { linkedClone, scanOf, web01 } from './planners/clone-seed';
import { dependantsIndex, dependantsOf } from './dependants';
import { planOperation } from './planners';

const names = (scan: ScanResult, path: string) => dependantsOf(scan, path).map((d) => `${d.kind}:${d.name}`);

describe('dependants index', () => {
  test('a scan is indexed once: every later look-up, from any caller, reads the same index', () => {
    const scan = seed({ fork: true });
    const first = dependantsIndex(scan);
    planOperation({ scan, operationId: 'op1' }, { op: 'delete-snapshot', domain: 'vm', snapshot: 'snap2' });
    expect(dependantsIndex(scan)).toBe(first);
    expect(dependantsOf(scan, '/i/base.qcow2')).toBe(first.get('/i/base.qcow2'));
  });

  test('each scan has its own index: a rescanned copy is not answered from the old one', () => {
    const scan = seed();
    const other = seed({ fork: true });
    expect(names(scan, '/i/base.qcow2')).toEqual(['layer:/i/vm.snap1', 'snapshot:snap1']);
    expect(names(other, '/i/base.qcow2')).toEqual(['layer:/i/vm.snap1', 'layer:/i/alt.qcow2', 'snapshot:snap1']);
    expect(names(other, '/i/alt.qcow2')).toEqual(['branch:alt']);
  });

  test('a scan whose domains were replaced since is indexed again, as the CLI and the renderer replace them', () => {
    const scan = seed();
    const before = dependantsIndex(scan);
    scan.domains = seed({ fork: true }).domains;
    expect(dependantsIndex(scan)).not.toBe(before);
    expect(names(scan, '/i/base.qcow2')).toContain('layer:/i/alt.qcow2');
    scan.domains = [];
    expect(names(scan, '/i/base.qcow2')).toEqual([]);
  });

  test('a domain object replaced inside the same domains array is indexed again', () => {
    const scan = seed();
    expect(names(scan, '/i/vm.snap3')).toEqual(['disk:vda']);
    const domain = scan.domains[0]!;
    scan.domains[0] = { ...domain, layers: { ...domain.layers, '/i/vm.snap4': layer('/i/vm.snap4', '/i/vm.snap3') } };
    expect(names(scan, '/i/vm.snap3')).toEqual(['layer:/i/vm.snap4', 'disk:vda']);
  });

  test('plans are the same whether the index was built before or by the planner itself', () => {
    const intent = { op: 'revert-discard', domain: 'vm', snapshot: 'snap1' } as const;
    const cold = planOperation({ scan: seed({ fork: true }), operationId: 'op1' }, intent);
    const warmScan = seed({ fork: true });
    dependantsIndex(warmScan);
    planOperation({ scan: warmScan, operationId: 'op0' }, { op: 'delete-branch', domain: 'vm', branch: 'alt' });
    expect(planOperation({ scan: warmScan, operationId: 'op1' }, intent)).toEqual(cold);
  });
});

describe('a clone is a dependant of the files it builds on', () => {
  const source = () => assembleDomain(web01());
  const withClone = () => {
    const web = source();
    return scanOf(web, linkedClone(web, 'web01-clone'));
  };

  test('the saved state a linked clone builds on names the clone; its own files are not the source\u2019s', () => {
    const scan = withClone();
    expect(dependantsOf(scan, '/img/web01-vda.qcow2')).toEqual([
      // The clone does not hold the source's overlay: from its side, that is another domain's disk.
      { kind: 'layer', domain: 'web01', name: '/img/web01.snap1.vda.qcow2', description: 'web01.snap1.vda.qcow2 is built on it (a disk of domain web01)' },
      { kind: 'snapshot', domain: 'web01', name: 'snap1', description: 'it holds the saved state of snapshot snap1 (vda)' },
      { kind: 'clone', domain: 'web01-clone', name: '/img/web01-clone.vda.qcow2', description: "clone web01-clone's disk vda builds on it" },
    ]);
    expect(names(scan, '/img/web01-clone.vda.qcow2')).toEqual(['disk:vda']);
  });

  test('another domain on a shared base that is no clone is named as a domain', () => {
    const web = source();
    const { cloneOf: _record, ...other } = linkedClone(web, 'golden-user');
    const [dep] = dependantsOf(scanOf(web, other), '/img/web01-vda.qcow2').filter((d) => d.domain === 'golden-user');
    expect(dep).toEqual({ kind: 'layer', domain: 'golden-user', name: '/img/golden-user.vda.qcow2', description: 'golden-user.vda.qcow2 is built on it (a disk of domain golden-user)' });
  });

  test('a commit that would write into the clone\u2019s backing file is refused, naming the clone', () => {
    // Without snap1's record, the base is free but for the clone.
    const facts = { ...web01(), snapshots: [] };
    const alone = planOperation({ scan: scanOf(facts), operationId: 'op' }, { op: 'commit', domain: 'web01', branch: 'main' });
    expect(alone.ok).toBe(true);
    const web = assembleDomain(facts);
    const result = planOperation({ scan: scanOf(web, linkedClone(web, 'web01-clone')), operationId: 'op' }, { op: 'commit', domain: 'web01', branch: 'main' });
    expect(result.ok ? 'planned' : `${result.refusal.code}: ${result.refusal.message}`).toMatch(/^E_SHARED_BACKING: .*clone web01-clone's disk vda builds on it/);
  });

  test('deleting the snapshot whose saved state a clone builds on keeps that file: only the record goes', () => {
    const plain = planOperation({ scan: scanOf(web01()), operationId: 'op' }, { op: 'delete-snapshot', domain: 'web01', snapshot: 'snap1' });
    expect(plain.ok && plain.plan.steps.map((s) => s.kind)).toContain('commit');
    const result = planOperation({ scan: withClone(), operationId: 'op' }, { op: 'delete-snapshot', domain: 'web01', snapshot: 'snap1' });
    if (!result.ok) throw new Error(result.refusal.message);
    expect(result.plan.steps.map((s) => s.kind)).toEqual(['delete-snapshot-metadata']);
    expect(result.plan.impact.written).toEqual([]);
    expect(result.plan.warnings[0]).toMatch(/clone web01-clone's disk vda builds on it/);
  });

  test('deleting a snapshot whose overlay a clone builds on (a branch frozen for it) keeps the overlay', () => {
    // main went on in new files on snap1's overlays; the clone builds on those overlays.
    const facts = web01();
    for (const target of ['vda', 'vdb']) {
      const tip = `/img/web01.main.${target}.qcow2`;
      facts.layers[tip] = layer(tip, `/img/web01.snap1.${target}.qcow2`);
      const disk = facts.disks.find((d) => d.target === target)!;
      disk.file = tip;
    }
    const web = assembleDomain(facts);
    const plain = planOperation({ scan: scanOf(web), operationId: 'op' }, { op: 'delete-snapshot', domain: 'web01', snapshot: 'snap1' });
    expect(plain.ok && plain.plan.impact.trashed).toEqual(['/img/web01.snap1.vda.qcow2', '/img/web01.snap1.vdb.qcow2']);
    const scan = scanOf(web, linkedClone(web, 'web01-clone', (t) => `/img/web01.snap1.${t}.qcow2`));
    const result = planOperation({ scan, operationId: 'op' }, { op: 'delete-snapshot', domain: 'web01', snapshot: 'snap1' });
    if (!result.ok) throw new Error(result.refusal.message);
    expect(result.plan.impact).toMatchObject({ written: [], trashed: [] });
    expect(result.plan.warnings[0]).toBe('Disk vda: web01.snap1.vda.qcow2 is what clone web01-clone builds on; the files stay, only the snapshot\u2019s record goes.'.replace('\u2019', "'"));
  });
});

describe('deleting a branch whose frozen files a clone builds on', () => {
  test('the branch\u2019s own new tip goes; the files the clone reads stay', () => {
    const facts = web01();
    // Branch old: its tip was frozen for the clone (old.vda on base), and it went on in old2.vda.
    facts.layers['/img/old.vda.qcow2'] = layer('/img/old.vda.qcow2', '/img/web01-vda.qcow2');
    facts.layers['/img/old2.vda.qcow2'] = layer('/img/old2.vda.qcow2', '/img/old.vda.qcow2');
    facts.disks = facts.disks.filter((d) => d.target !== 'vdb');
    facts.snapshots[0]!.disks = facts.snapshots[0]!.disks.slice(0, 1);
    facts.recorded = { current: null, branches: [{ name: 'old', tips: [{ target: 'vda', file: '/img/old2.vda.qcow2' }] }] };
    const web = assembleDomain(facts);
    const alone = planOperation({ scan: scanOf(web), operationId: 'op' }, { op: 'delete-branch', domain: 'web01', branch: 'old' });
    expect(alone.ok && alone.plan.impact.trashed.sort()).toEqual(['/img/old.vda.qcow2', '/img/old2.vda.qcow2']);
    const scan = scanOf(web, linkedClone(web, 'web01-clone', () => '/img/old.vda.qcow2'));
    const result = planOperation({ scan, operationId: 'op' }, { op: 'delete-branch', domain: 'web01', branch: 'old' });
    expect(result.ok && result.plan.impact.trashed).toEqual(['/img/old2.vda.qcow2']);
  });
});
