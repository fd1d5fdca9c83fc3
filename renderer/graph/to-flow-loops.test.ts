import { describe, expect, test } from 'vitest';
import type { Domain, Snapshot } from '../../shared/model';
import { toFlow } from './to-flow';

function snap(name: string, parent: string | null): Snapshot {
  return { name, parent, description: null, created: null, state: 'shutoff', current: false, memoryFile: null, revertFiles: [], disks: [] };
}

function domainOf(snapshots: Snapshot[]): Domain {
  return { name: 'vm', state: 'shut off', disks: [], snapshots, branches: [], layers: {}, problems: [] };
}

describe('toFlow with parent links that loop', () => {
  test('a self-parent and a ring are laid out, each node once, cut into roots', () => {
    const graph = toFlow(domainOf([snap('self', 'self'), snap('a', 'c'), snap('b', 'a'), snap('c', 'b'), snap('ok', null)]));
    expect(graph.nodes.map((n) => n.id).sort()).toEqual(['s:a', 's:b', 's:c', 's:ok', 's:self']);
    expect(graph.parentOf['s:self']).toBeNull();
    expect(graph.parentOf['s:a']).toBeNull();
    expect(graph.edges.map((e) => e.id).sort()).toEqual(['s:a->s:b', 's:b->s:c']);
  });

  test('names that differ only in spaces are distinct nodes; duplicate ids are laid out once', () => {
    const graph = toFlow(domainOf([snap(' lead', null), snap('lead', ' lead'), snap('lead', 'lead')]));
    expect(graph.nodes.map((n) => n.id).sort()).toEqual(['s: lead', 's:lead']);
    expect(graph.order).toHaveLength(2);
  });
});
