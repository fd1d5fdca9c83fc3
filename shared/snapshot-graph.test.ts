import { describe, expect, test } from 'vitest';
import { formatTree } from './format-tree';
import type { Domain } from './model';
import { formatBytes, snapshotGraph } from './snapshot-graph';

const domain: Domain = {
  name: 'vm',
  state: 'shut off',
  disks: [{ target: 'vda', device: 'disk', file: '/t', format: 'qcow2', managed: true, chain: ['/t', '/s', '/b'] }],
  snapshots: [
    { name: 'one', parent: null, description: null, created: null, state: 'shutoff', current: false, memoryFile: null, revertFiles: [], disks: [{ target: 'vda', kind: 'external', overlay: '/s', stateLayer: '/b' }] },
    { name: 'two', parent: 'one', description: null, created: null, state: 'shutoff', current: true, memoryFile: null, revertFiles: [], disks: [{ target: 'vda', kind: 'external', overlay: '/t', stateLayer: '/s' }] },
    { name: 'orphan', parent: 'deleted-meanwhile', description: null, created: null, state: 'shutoff', current: false, memoryFile: null, revertFiles: [], disks: [] },
  ],
  branches: [
    { name: 'main', current: true, origin: 'domain', base: 'two', tips: [{ target: 'vda', file: '/t' }] },
    { name: 'one', current: false, origin: 'loose', base: 'one', tips: [{ target: 'vda', file: '/x' }] },
  ],
  layers: {
    '/b': { path: '/b', format: 'qcow2', virtualSize: 0, actualSize: 3 * 1024 * 1024, backing: null, backingName: null, backingFormat: null },
    '/s': { path: '/s', format: 'qcow2', virtualSize: 0, actualSize: 2048, backing: '/b', backingName: '/b', backingFormat: 'qcow2' },
    '/t': { path: '/t', format: 'qcow2', virtualSize: 0, actualSize: 512, backing: '/s', backingName: '/s', backingFormat: 'qcow2' },
  },
  problems: [],
};

describe('snapshotGraph', () => {
  test('one node per snapshot and per branch, with parents and sizes', () => {
    const nodes = snapshotGraph(domain);
    expect(nodes.map((n) => [n.id, n.parentId, n.current, n.size])).toEqual([
      ['s:one', null, false, 3 * 1024 * 1024],
      ['s:two', 's:one', false, 2048],
      ['s:orphan', null, false, 0],
      ['b:main', 's:two', true, 512],
      ['b:one', 's:one', false, 0],
    ]);
  });
});

describe('formatTree', () => {
  test('prints the tree with the You are here marker', () => {
    const text = formatTree({ source: { kind: 'libvirt', uri: 'qemu:///system' }, scannedAt: '', hypervisor: null, domains: [domain], problems: [] });
    expect(text).toContain('└─ ⎇ main  [branch, 512 B]  ◀ You are here');
    expect(text).toContain('disk vda: /t (qcow2, chain of 3)');
  });
});

test.each([
  [0, '0 B'],
  [1023, '1023 B'],
  [1024, '1.0 KiB'],
  [5 * 1024 * 1024 * 1024, '5.0 GiB'],
])('formatBytes(%d) is %s', (bytes, text) => {
  expect(formatBytes(bytes)).toBe(text);
});
