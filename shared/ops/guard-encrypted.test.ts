import { describe, expect, test } from 'vitest';
import type { ScanResult } from '../model';
import { seed } from '../test-seed';
import type { Intent } from './plan';
import { planOperation } from './planners';

const ctx = (scan: ScanResult) => ({ scan, operationId: '7d3c1a52-3f7e-4f0a-9a55-0d7f6f1f2b10' });

/** The seed with one of its layers encrypted. */
function withEncrypted(path: string, how: 'aes' | 'luks' = 'luks'): ScanResult {
  const scan = seed();
  const layer = scan.domains[0]?.layers[path];
  if (layer === undefined) throw new Error(`no layer ${path} in the seed`);
  layer.encrypted = how;
  return scan;
}

describe('plans never open a chain holding an encrypted image', () => {
  test.each<[string, string, Intent]>([
    ['a new snapshot on an encrypted current disk', '/i/vm.snap3', { op: 'create-snapshot', domain: 'vm', name: 'later' }],
    ['a new snapshot on a chain with an encrypted base', '/i/base.qcow2', { op: 'create-snapshot', domain: 'vm', name: 'later' }],
    ['a revert that builds an overlay on an encrypted saved state', '/i/base.qcow2', { op: 'revert-branch', domain: 'vm', snapshot: 'snap1', branch: 'kept' }],
    ['deleting a snapshot (commit or rebase) through an encrypted layer', '/i/vm.snap1', { op: 'delete-snapshot', domain: 'vm', snapshot: 'snap2' }],
    ['repairing an encrypted image', '/i/vm.snap2', { op: 'repair', domain: 'vm', path: '/i/vm.snap2', mode: 'leaks' }],
    ['a linked clone on an encrypted saved state', '/i/base.qcow2', { op: 'clone', domain: 'vm', node: { kind: 'snapshot', name: 'snap1' }, name: 'vm-clone', mode: 'linked' }],
    ['a full clone through an encrypted layer', '/i/vm.snap1', { op: 'clone', domain: 'vm', node: { kind: 'snapshot', name: 'snap2' }, name: 'vm-clone', mode: 'full' }],
    ['an export through an encrypted layer', '/i/base.qcow2', { op: 'export', domain: 'vm', node: { kind: 'branch', name: 'main' }, to: '/out', format: 'raw' }],
  ])('refuses %s', (_name, path, intent) => {
    const result = planOperation(ctx(withEncrypted(path)), intent);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.refusal.code).toBe('E_NOT_SUPPORTED');
      expect(result.refusal.message).toMatch(/encrypted image .*secret/);
    }
  });

  test('the same plans stand when nothing is encrypted, and metadata-only steps on an encrypted chain stand too', () => {
    expect(planOperation(ctx(seed()), { op: 'create-snapshot', domain: 'vm', name: 'later' }).ok).toBe(true);
    expect(planOperation(ctx(seed()), { op: 'revert-branch', domain: 'vm', snapshot: 'snap1', branch: 'kept' }).ok).toBe(true);
    expect(planOperation(ctx(withEncrypted('/i/base.qcow2', 'aes')), { op: 'delete-snapshot', domain: 'vm', snapshot: 'snap2', metadataOnly: true }).ok).toBe(true);
  });
});
