/** Fold-commit: a branch tip folded into the one snapshot whose saved state it builds on, that snapshot deleted. */
import { describe, expect, test } from 'vitest';
import { layer, seed } from '../../test-seed';
import { planOperation } from '../planners';
import { foldCandidate } from './fold-commit';

const ID = '00000000-0000-0000-0000-000000000000';

describe('fold-commit', () => {
  test('the current tip is committed into snap3\u2019s saved state, the disk points there, snap3\u2019s record goes, the tip goes to the trash', () => {
    const scan = seed();
    const domain = scan.domains[0]!;
    expect(foldCandidate(scan, domain, domain.branches[0]!)).toBe('snap3');
    const result = planOperation({ scan, operationId: ID }, { op: 'fold-commit', domain: 'vm', branch: 'main', snapshot: 'snap3' });
    if (!result.ok) throw new Error(result.refusal.message);
    const { steps, impact, pointOfNoReturn } = result.plan;
    expect(steps.map((s) => s.kind)).toEqual(['commit', 'define-domain', 'delete-snapshot-metadata', 'trash']);
    expect(steps[0]).toMatchObject({ top: '/i/vm.snap3', base: '/i/vm.snap2' });
    expect(steps[1]).toMatchObject({ disks: { vda: '/i/vm.snap2' } });
    expect(steps[2]).toMatchObject({ snapshot: 'snap3' });
    expect(steps[3]).toMatchObject({ path: '/i/vm.snap3' });
    expect(pointOfNoReturn).toBe(0);
    expect(impact).toMatchObject({ written: ['/i/vm.snap2'], trashed: ['/i/vm.snap3'], removedSnapshots: ['snap3'] });
    expect(impact.unchangedNodes.sort()).toEqual(['s:snap1', 's:snap2']);
  });

  test('on a libvirt that reverts external snapshots itself, the parent of the current snapshot folded away becomes current', () => {
    const scan = { ...seed(), hypervisor: 'libvirt 11.3.0, QEMU 10.0.13' };
    const result = planOperation({ scan, operationId: ID }, { op: 'fold-commit', domain: 'vm', branch: 'main', snapshot: 'snap3' });
    if (!result.ok) throw new Error(result.refusal.message);
    expect(result.plan.steps.map((s) => s.kind)).toEqual(['commit', 'define-domain', 'delete-snapshot-metadata', 'set-current-snapshot', 'trash']);
    // snap2's own overlay is the file the domain is left on: no revert disks.
    expect(result.plan.steps[3]).toMatchObject({ snapshot: 'snap2', revertDisks: null });
  });

  test('a file other things build on is never written: refused with every dependant in its details', () => {
    const scan = seed({ fork: true });
    const domain = scan.domains[0]!;
    const alt = domain.branches.find((b) => b.name === 'alt')!;
    // alt builds on base, snap1's saved state, which vm.snap1 builds on too.
    expect(foldCandidate(scan, domain, alt)).toBe('snap1');
    const result = planOperation({ scan, operationId: ID }, { op: 'fold-commit', domain: 'vm', branch: 'alt', snapshot: 'snap1' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.refusal.code).toBe('E_SHARED_BACKING');
    expect(result.refusal.details).toMatchObject({ base: '/i/base.qcow2', dependants: [expect.objectContaining({ name: '/i/vm.snap1' })] });
  });

  test('a snapshot whose saved state the tip does not build on is refused', () => {
    const result = planOperation({ scan: seed(), operationId: ID }, { op: 'fold-commit', domain: 'vm', branch: 'main', snapshot: 'snap1' });
    expect(result.ok ? 'planned' : result.refusal.message).toMatch(/does not hold the saved state of snapshot snap1/);
  });

  test('no candidate where the tip builds on no snapshot\u2019s saved state', () => {
    const scan = seed({ fork: true });
    const domain = scan.domains[0]!;
    domain.layers['/i/alt.top'] = layer('/i/alt.top', '/i/alt.qcow2');
    const alt = domain.branches.find((b) => b.name === 'alt')!;
    alt.tips = [{ target: 'vda', file: '/i/alt.top' }];
    expect(foldCandidate(scan, domain, alt)).toBeNull();
  });
});
