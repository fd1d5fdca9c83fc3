import { describe, expect, test } from 'vitest';
import { fileGraph } from './file-graph';
import type { TrashEntry } from './ops/results';
import { layer, seed } from './test-seed';

describe('file graph', () => {
  const scan = seed({ fork: true });
  const domain = scan.domains[0]!;
  domain.layers['/i/stray.qcow2'] = layer('/i/stray.qcow2', '/i/vm.snap2');
  domain.branches.push({ name: 'stray.qcow2', current: false, origin: 'loose', base: null, tips: [{ target: 'vda', file: '/i/stray.qcow2' }] });
  const trashed: TrashEntry = { operationId: 'op1', domain: 'vm', original: '/i/old.qcow2', trashed: '/i/.snaptree-trash/op1/old.qcow2', size: 4096, trashedAt: '', backing: '/i/vm.snap1' };
  const graph = fileGraph(scan, domain, [trashed]);
  const node = (id: string) => graph.nodes.find((n) => n.id === id)!;

  test('one node per file, one edge per backing link, the shared base has two children', () => {
    expect(graph.nodes.map((n) => n.id).sort()).toEqual(['/i/.snaptree-trash/op1/old.qcow2', '/i/alt.qcow2', '/i/base.qcow2', '/i/stray.qcow2', '/i/vm.snap1', '/i/vm.snap2', '/i/vm.snap3']);
    expect(graph.edges.filter((e) => e.source === '/i/base.qcow2').map((e) => e.target).sort()).toEqual(['/i/alt.qcow2', '/i/vm.snap1']);
    expect(graph.edges.find((e) => e.target === trashed.trashed)).toMatchObject({ source: '/i/vm.snap1', trash: true });
  });

  test('roles and words: saved state, tips, loose files, trash, You are here', () => {
    expect(node('/i/base.qcow2')).toMatchObject({ role: 'state', group: 'vda' });
    expect(node('/i/base.qcow2').labels).toEqual(['saved state of snap1', 'base image']);
    expect(node('/i/vm.snap3')).toMatchObject({ role: 'tip', current: true });
    expect(node('/i/alt.qcow2')).toMatchObject({ role: 'tip', current: false, labels: ['tip of branch alt'] });
    expect(node('/i/stray.qcow2')).toMatchObject({ role: 'loose', group: 'vda' });
    expect(node(trashed.trashed)).toMatchObject({ role: 'trash', group: 'vda', layer: null });
    expect(graph.groups.map((g) => g.label)).toEqual(['Disk vda']);
  });

  test('frozen by what builds on it and by saved states; tips are free', () => {
    expect(node('/i/base.qcow2').frozenBy.map((d) => d.name).sort()).toEqual(['/i/alt.qcow2', '/i/vm.snap1', 'snap1']);
    expect(node('/i/vm.snap2').frozenBy.map((d) => d.name).sort()).toEqual(['/i/stray.qcow2', '/i/vm.snap3', 'snap3']);
    expect(node('/i/vm.snap3').frozenBy).toEqual([]);
    expect(node('/i/alt.qcow2').frozenBy).toEqual([]);
  });

  test('an image with an external data file carries it on its node: present, missing, or a relative name', () => {
    const withData = seed();
    const d = withData.domains[0]!;
    const base = Object.values(d.layers).find((l) => l.backing === null)!;
    base.dataFile = { path: '/data/base.raw', exists: true, size: 8 << 20 };
    const present = fileGraph(withData, d).nodes.find((n) => n.id === base.path)!;
    expect(present.dataFile).toEqual({ path: '/data/base.raw', exists: true, size: 8 << 20 });
    expect(present.labels).toContain('guest data in the external file /data/base.raw');
    base.dataFile = { path: '/data/base.raw', exists: false, size: 0 };
    expect(fileGraph(withData, d).nodes.find((n) => n.id === base.path)!.labels).toContain('its external data file /data/base.raw is missing');
    base.dataFile = { path: 'base.raw', exists: null, size: 0 };
    expect(fileGraph(withData, d).nodes.find((n) => n.id === base.path)!.labels.join(' ')).toMatch(/relative name: QEMU opens it from the working directory/);
    expect(node('/i/vm.snap3').dataFile).toBeNull();
  });

  test('a trashed file whose backing is gone goes to the trash group', () => {
    const g = fileGraph(scan, domain, [{ ...trashed, backing: '/elsewhere/x' }]);
    expect(g.nodes.find((n) => n.role === 'trash')?.group).toBe('trash');
    expect(g.groups.map((x) => x.label)).toEqual(['Disk vda', 'Trash']);
  });
});
