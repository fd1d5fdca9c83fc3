import { describe, expect, test } from 'vitest';
import type { Domain, Snapshot } from '../../shared/model';
import type { Impact, Intent, Plan } from '../../shared/ops/plan';
import { highlightsFor } from './highlights';
import { toFlow } from './to-flow';

function snap(name: string, parent: string | null, state: string): Snapshot {
  return { name, parent, description: null, created: null, state: 'shutoff', current: false, memoryFile: null, revertFiles: [], disks: [{ target: 'vda', kind: 'external', overlay: null, stateLayer: state }] };
}

const domain: Domain = {
  name: 'vm',
  state: 'shut off',
  disks: [],
  snapshots: [snap('snap1', null, '/b'), snap('snap2', 'snap1', '/s1'), snap('snap3', 'snap2', '/s2')],
  branches: [{ name: 'main', current: true, origin: 'domain', base: 'snap3', tips: [{ target: 'vda', file: '/s3' }] }],
  layers: {},
  problems: [],
};

function plan(intent: Intent, impact: Partial<Impact>): Plan {
  return {
    id: 'x',
    intent,
    source: { kind: 'libvirt', uri: 'qemu:///system' },
    steps: [],
    pointOfNoReturn: null,
    warnings: [],
    impact: {
      created: [],
      written: [],
      trashed: [],
      metadata: [],
      changedNodes: [],
      unchangedNodes: [],
      spaceBytes: 0,
      mustStop: true,
      createdNodes: [],
      removedSnapshots: [],
      removedBranches: [],
      renamed: null,
      currentAfter: 'b:main',
      ...impact,
    },
  };
}

describe('highlightsFor', () => {
  test('a revert with a new branch marks the branch it leaves and draws the new one as a ghost under the snapshot', () => {
    const h = highlightsFor(
      domain,
      plan(
        { op: 'revert-branch', domain: 'vm', snapshot: 'snap1', branch: 'snap1.1' },
        { changedNodes: ['b:main', 'b:snap1.1'], createdNodes: [{ id: 'b:snap1.1', name: 'snap1.1', kind: 'branch', parentId: 's:snap1' }], currentAfter: 'b:snap1.1' },
      ),
    );
    expect(h.marks).toEqual({ 'b:main': 'changed', 'b:snap1.1': 'created' });
    expect(h.ghosts).toEqual([expect.objectContaining({ id: 'b:snap1.1', parentId: 's:snap1', current: true })]);
    const flow = toFlow(domain, h);
    expect(flow.nodes.find((n) => n.id === 'b:snap1.1')?.data).toMatchObject({ ghost: true, mark: 'created' });
    expect(flow.edges.find((e) => e.target === 'b:snap1.1')?.className).toContain('edge-ghost');
  });

  test('deleting a snapshot marks it as going; discarding marks what goes and draws the branch again under the snapshot', () => {
    const deleted = highlightsFor(domain, plan({ op: 'delete-snapshot', domain: 'vm', snapshot: 'snap2' }, { changedNodes: ['s:snap2'], removedSnapshots: ['snap2'] }));
    expect(deleted.marks).toEqual({ 's:snap2': 'removed' });
    const discarded = highlightsFor(
      domain,
      plan(
        { op: 'revert-discard', domain: 'vm', snapshot: 'snap2' },
        {
          trashed: ['/s3', '/s2'],
          changedNodes: ['b:main', 's:snap3'],
          removedSnapshots: ['snap3'],
          removedBranches: ['main'],
          createdNodes: [{ id: 'b:main', name: 'main', kind: 'branch', parentId: 's:snap2' }],
        },
      ),
    );
    expect(discarded.marks).toMatchObject({ 'b:main': 'removed', 's:snap3': 'removed', 'b:main#new': 'created' });
    expect(discarded.ghosts).toEqual([expect.objectContaining({ id: 'b:main#new', parentId: 's:snap2', current: true })]);
  });

  test('a rename marks the old name as going and draws the new one in its place', () => {
    const h = highlightsFor(domain, plan({ op: 'rename-branch', domain: 'vm', branch: 'main', to: 'work' }, { renamed: { from: 'main', to: 'work' }, currentAfter: 'b:work' }));
    expect(h.marks).toEqual({ 'b:main': 'removed', 'b:work': 'created' });
    expect(h.ghosts).toEqual([expect.objectContaining({ id: 'b:work', parentId: 's:snap3', current: true })]);
  });

  test('You are here moves in the preview: the landing node says so, the You are here of now is dimmed; a plan that stays moves nothing', () => {
    const fork = { ...domain, branches: [...domain.branches, { name: 'alt', current: false, origin: 'metadata' as const, base: 'snap1', tips: [{ target: 'vda', file: '/a' }] }] };
    const switched = highlightsFor(fork, plan({ op: 'switch', domain: 'vm', branch: 'alt' }, { changedNodes: ['b:main', 'b:alt'], currentAfter: 'b:alt' }));
    expect(switched.hereAfter).toBe('b:alt');
    const flow = toFlow(fork, switched);
    expect(flow.nodes.find((n) => n.id === 'b:alt')?.data.here).toBe('after');
    expect(flow.nodes.find((n) => n.id === 'b:main')?.data.here).toBe('before');
    const reverted = highlightsFor(
      domain,
      plan({ op: 'revert-branch', domain: 'vm', snapshot: 'snap1', branch: 'snap1.1' }, { createdNodes: [{ id: 'b:snap1.1', name: 'snap1.1', kind: 'branch', parentId: 's:snap1' }], currentAfter: 'b:snap1.1' }),
    );
    expect(reverted.hereAfter).toBe('b:snap1.1');
    const deleted = highlightsFor(domain, plan({ op: 'delete-snapshot', domain: 'vm', snapshot: 'snap2' }, { removedSnapshots: ['snap2'] }));
    expect(deleted.hereAfter).toBeNull();
    expect(toFlow(domain, deleted).nodes.find((n) => n.id === 'b:main')?.data.here).toBeUndefined();
  });

  test('the display text is never read: a record line saying "deleted" marks nothing', () => {
    const h = highlightsFor(domain, plan({ op: 'delete-branch', domain: 'vm', branch: 'main' }, { metadata: ['snapshot snap3 (deleted)'] }));
    expect(h.marks).toEqual({});
  });
});
