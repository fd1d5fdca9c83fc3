import { describe, expect, test } from 'vitest';
import type { ScanResult } from '../model';
import { layer, seed } from '../test-seed';
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
