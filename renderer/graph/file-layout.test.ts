import { describe, expect, test } from 'vitest';
import { fileGraph, type FileGraph, type FileNode } from '../../shared/file-graph';
import { layer, seed } from '../../shared/test-seed';
import { FILE_HEIGHT, FILE_WIDTH, layoutFiles, type FileFlow } from './file-layout';

type Box = { id: string; group: string; x: number; y: number };

/** Files where they land on the canvas: a file's position is relative to its group's. */
function boxes(flow: FileFlow): Box[] {
  const origin = new Map(flow.nodes.filter((n) => n.type === 'disk').map((n) => [n.id, n.position]));
  return flow.nodes
    .filter((n) => n.type === 'file')
    .map((n) => ({ id: n.id, group: n.parentId ?? '', x: n.position.x + (origin.get(n.parentId ?? '')?.x ?? NaN), y: n.position.y + (origin.get(n.parentId ?? '')?.y ?? NaN) }));
}

/** Every picture the file view must keep: parents first, no overlaps, files right of their backing, groups stacked around their files. */
function expectReadable(flow: FileFlow, loopEdges = new Set<string>()): void {
  const placed = boxes(flow);
  for (const file of flow.nodes.filter((n) => n.type === 'file')) expect(flow.nodes.findIndex((n) => n.id === file.parentId)).toBeLessThan(flow.nodes.indexOf(file));
  const at = new Map(placed.map((b) => [b.id, b]));
  for (const edge of flow.edges) if (!loopEdges.has(edge.id)) expect(at.get(edge.source)!.x + FILE_WIDTH, edge.id).toBeLessThan(at.get(edge.target)!.x);
  // Sorted by top edge, a file can only meet the files that start less than one box lower.
  const byY = [...placed].sort((a, b) => a.y - b.y);
  for (let i = 0; i < byY.length; i++) {
    for (let j = i + 1; j < byY.length && byY[j]!.y - byY[i]!.y < FILE_HEIGHT; j++) {
      expect(Math.abs(byY[i]!.x - byY[j]!.x) >= FILE_WIDTH, `${byY[i]!.id} and ${byY[j]!.id} overlap`).toBe(true);
    }
  }
  const groups = flow.nodes.filter((n) => n.type === 'disk');
  for (let i = 1; i < groups.length; i++) expect(groups[i]!.position.y).toBeGreaterThanOrEqual(groups[i - 1]!.position.y + groups[i - 1]!.height!);
  for (const box of placed) {
    const group = groups.find((g) => g.id === box.group)!;
    expect(box.x).toBeGreaterThanOrEqual(group.position.x);
    expect(box.y).toBeGreaterThanOrEqual(group.position.y);
    expect(box.x + FILE_WIDTH).toBeLessThanOrEqual(group.position.x + group.width!);
    expect(box.y + FILE_HEIGHT).toBeLessThanOrEqual(group.position.y + group.height!);
  }
}

/** A bare file node for graphs built by hand. */
function file(id: string, group = 'vda'): FileNode {
  return { id, path: id, group, role: 'layer', labels: [], current: false, layer: null, dataFile: null, trash: null, frozenBy: [] };
}
const link = (source: string, target: string) => ({ id: `${source}->${target}`, source, target, trash: false });

describe('file layout (tidy tree per disk)', () => {
  test('groups come before their files, files never overlap, and every file sits right of its backing file', () => {
    const scan = seed({ fork: true });
    const domain = scan.domains[0]!;
    // A second disk with its own chain, so there are two groups.
    domain.layers['/i/data.qcow2'] = layer('/i/data.qcow2', null);
    domain.layers['/i/data.top'] = layer('/i/data.top', '/i/data.qcow2');
    domain.disks.push({ target: 'vdb', device: 'disk', file: '/i/data.top', format: 'qcow2', managed: true, chain: ['/i/data.top', '/i/data.qcow2'] });
    const flow = layoutFiles(fileGraph(scan, domain), { '/i/vm.snap1': ['1 leaked cluster(s)'] });

    expect(flow.nodes.filter((n) => n.type === 'disk').map((n) => n.id)).toEqual(['group:vda', 'group:vdb']);
    expect(flow.nodes.filter((n) => n.type === 'file')).toHaveLength(Object.keys(domain.layers).length);
    expectReadable(flow);
    expect(flow.nodes.find((f) => f.id === '/i/vm.snap1')?.data).toMatchObject({ findings: ['1 leaked cluster(s)'] });
  });

  test('a base shared by two disks sits in one group; the other disk starts one column right of it', () => {
    const scan = seed();
    const domain = scan.domains[0]!;
    domain.layers['/i/data.top'] = layer('/i/data.top', '/i/base.qcow2');
    domain.disks.push({ target: 'vdb', device: 'disk', file: '/i/data.top', format: 'qcow2', managed: true, chain: ['/i/data.top', '/i/base.qcow2'] });
    const flow = layoutFiles(fileGraph(scan, domain));
    expectReadable(flow);
    const at = new Map(boxes(flow).map((b) => [b.id, b]));
    expect(at.get('/i/base.qcow2')).toMatchObject({ group: 'group:vda' });
    expect(at.get('/i/data.top')).toMatchObject({ group: 'group:vdb', x: at.get('/i/vm.snap1')!.x });
  });

  test('a trashed file is drawn right of the file it was built on, in its group; one built on nothing goes to the Trash group', () => {
    const scan = seed();
    const domain = scan.domains[0]!;
    const entry = { operationId: 'op', domain: 'vm', size: 1, trashedAt: '' };
    const graph = fileGraph(scan, domain, [
      { ...entry, original: '/i/old.qcow2', trashed: '/t/old.qcow2', backing: '/i/vm.snap1' },
      { ...entry, original: '/i/lone.qcow2', trashed: '/t/lone.qcow2', backing: null },
    ]);
    const flow = layoutFiles(graph);
    expectReadable(flow);
    const at = new Map(boxes(flow).map((b) => [b.id, b]));
    expect(at.get('/t/old.qcow2')).toMatchObject({ group: 'group:vda', x: at.get('/i/vm.snap2')!.x });
    expect(at.get('/t/lone.qcow2')).toMatchObject({ group: 'group:trash' });
    expect(flow.edges.find((e) => e.target === '/t/old.qcow2')?.className).toBe('edge-file edge-trash');
  });

  test('a loop of backing links is cut where it closes: every file is drawn once and nothing overlaps', () => {
    const graph: FileGraph = {
      groups: [{ id: 'vda', label: 'Disk vda' }],
      nodes: ['a', 'b', 'c', 'd'].map((id) => file(id)),
      edges: [link('c', 'a'), link('a', 'b'), link('b', 'c'), link('b', 'd')],
    };
    const flow = layoutFiles(graph);
    expect(flow.nodes.filter((n) => n.type === 'file').map((n) => n.id).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(flow.edges).toHaveLength(4);
    expectReadable(flow, new Set(['c->a']));
  });

  test('2,000 files in long forking chains over three groups are laid out readably in a fraction of a second', () => {
    const count = 2000;
    const id = (i: number) => `/i/img${i}`;
    const nodes = Array.from({ length: count }, (_, i) => file(id(i), i < 1500 ? 'vda' : i < 1900 ? 'vdb' : 'other files'));
    const edges = Array.from({ length: count - 1 }, (_, k) => k + 1)
      .filter((i) => i % 97 !== 0)
      .map((i) => link(id(i % 5 === 0 ? Math.floor(i * 0.7) : i - 1), id(i)));
    const graph: FileGraph = { groups: [{ id: 'vda', label: 'Disk vda' }, { id: 'vdb', label: 'Disk vdb' }, { id: 'other files', label: 'Other files' }], nodes, edges };
    const started = performance.now();
    const flow = layoutFiles(graph);
    const took = performance.now() - started;
    expect(flow.nodes.filter((n) => n.type === 'file')).toHaveLength(count);
    expectReadable(flow);
    expect(took).toBeLessThan(200);
  });
});
