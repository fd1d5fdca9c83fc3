import { describe, expect, test } from 'vitest';
import type { Snapshot } from '../../shared/model';
import type { GraphNode } from '../../shared/snapshot-graph';
import { searchNodes, stepMatch } from './search';

function snapNode(name: string, description: string | null, created: string | null): GraphNode {
  const snapshot: Snapshot = { name, parent: null, description, created, state: 'shutoff', current: false, memoryFile: null, revertFiles: [], disks: [] };
  return { id: `s:${name}`, kind: 'snapshot', name, parentId: null, current: false, size: 0, snapshot };
}

const nodes: GraphNode[] = [
  snapNode('before-upgrade', 'PHP 8.3 installed', '2026-03-01T10:15:00Z'),
  snapNode('snap2', null, '2026-03-02T09:00:00Z'),
  { id: 'b:main', kind: 'branch', name: 'main', parentId: 's:snap2', current: true, size: 0 },
];
const order = ['s:before-upgrade', 's:snap2', 'b:main'];

describe('searching the graph', () => {
  test('finds by name, description and date, case-insensitive, in tree order', () => {
    expect(searchNodes(nodes, order, 'UPGRADE')).toEqual(['s:before-upgrade']);
    expect(searchNodes(nodes, order, 'php 8.3')).toEqual(['s:before-upgrade']);
    expect(searchNodes(nodes, order, '2026-03-02')).toEqual(['s:snap2']);
    expect(searchNodes(nodes, order, '2026-03-01 10:15')).toEqual(['s:before-upgrade']);
    expect(searchNodes(nodes, order, 'a')).toEqual(['s:before-upgrade', 's:snap2', 'b:main']);
    expect(searchNodes(nodes, [...order].reverse(), 'a')).toEqual(['b:main', 's:snap2', 's:before-upgrade']);
  });

  test('finds a date written as the app shows it ("Nov 24"), as by its ISO form', () => {
    const dated = [snapNode('weekly', null, '2026-11-24T12:00:00Z'), snapNode('other', null, '2026-11-25T12:00:00Z')];
    const ids = ['s:weekly', 's:other'];
    expect(searchNodes(dated, ids, 'Nov 24')).toEqual(['s:weekly']);
    expect(searchNodes(dated, ids, 'nov 24, 2026')).toEqual(['s:weekly']);
    expect(searchNodes(dated, ids, '2026-11-24')).toEqual(['s:weekly']);
  });

  test('blank text and no match find nothing', () => {
    expect(searchNodes(nodes, order, '  ')).toEqual([]);
    expect(searchNodes(nodes, order, 'nothing-here')).toEqual([]);
  });

  test('the next and previous match wrap round', () => {
    expect(stepMatch(3, null, 1)).toBe(0);
    expect(stepMatch(3, null, -1)).toBe(2);
    expect(stepMatch(3, 2, 1)).toBe(0);
    expect(stepMatch(3, 0, -1)).toBe(2);
    expect(stepMatch(0, null, 1)).toBeNull();
  });
});
