import { describe, expect, test } from 'vitest';
import type { Domain, Snapshot } from '../../shared/model';
import type { Plan } from '../../shared/ops/plan';
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

function plan(partial: Partial<Plan> & Pick<Plan, 'intent'>): Plan {
  return {
    id: 'x',
    source: { kind: 'libvirt', uri: 'qemu:///system' },
    steps: [],
    pointOfNoReturn: null,
    warnings: [],
    ...partial,
    impact: { created: [], written: [], trashed: [], metadata: [], changedNodes: [], unchangedNodes: [], spaceBytes: 0, mustStop: true, ...partial.impact },
  };
}

describe('highlightsFor', () => {
  test('a revert with a new branch marks the branch it leaves and draws the new one as a ghost under the snapshot', () => {
    const h = highlightsFor(domain, plan({ intent: { op: 'revert-branch', domain: 'vm', snapshot: 'snap1', branch: 'snap1.1' }, impact: { changedNodes: ['b:main', 'b:snap1.1'] } as Plan['impact'] }));
    expect(h.marks).toEqual({ 'b:main': 'changed', 'b:snap1.1': 'created' });
    expect(h.ghosts).toEqual([expect.objectContaining({ id: 'b:snap1.1', parentId: 's:snap1', current: true })]);
    const flow = toFlow(domain, h);
    expect(flow.nodes.find((n) => n.id === 'b:snap1.1')?.data).toMatchObject({ ghost: true, mark: 'created' });
    expect(flow.edges.find((e) => e.target === 'b:snap1.1')?.className).toContain('edge-ghost');
  });

  test('deleting a snapshot marks it as going; discarding marks what goes to the trash', () => {
    const deleted = highlightsFor(domain, plan({ intent: { op: 'delete-snapshot', domain: 'vm', snapshot: 'snap2' }, impact: { changedNodes: ['s:snap2'] } as Plan['impact'] }));
    expect(deleted.marks).toEqual({ 's:snap2': 'removed' });
    const discarded = highlightsFor(
      domain,
      plan({
        intent: { op: 'revert-discard', domain: 'vm', snapshot: 'snap2' },
        impact: { trashed: ['/s3', '/s2'], metadata: ['snapshot snap3 (deleted)'], changedNodes: ['b:main', 's:snap3'] } as Plan['impact'],
      }),
    );
    expect(discarded.marks).toMatchObject({ 'b:main': 'removed', 's:snap3': 'removed' });
    expect(discarded.ghosts.map((g) => g.parentId)).toEqual(['s:snap2']);
  });
});
