import { describe, expect, test } from 'vitest';
import type { Domain, Snapshot } from '../../shared/model';
import { moveFocus, toFlow } from './to-flow';

function snap(name: string, parent: string | null, created: string): Snapshot {
  return { name, parent, description: null, created, state: 'shutoff', current: false, memoryFile: null, revertFiles: [], disks: [] };
}

const domain: Domain = {
  name: 'vm',
  state: 'shut off',
  disks: [],
  snapshots: [snap('snap1', null, '2026-01-01'), snap('snap2', 'snap1', '2026-01-02'), snap('snap3', 'snap2', '2026-01-03')],
  branches: [
    { name: 'main', current: true, origin: 'domain', base: 'snap3', tips: [{ target: 'vda', file: '/m' }] },
    { name: 'snap1.1', current: false, origin: 'metadata', base: 'snap1', tips: [{ target: 'vda', file: '/n' }] },
  ],
  layers: {},
  problems: [{ code: 'missing-backing', severity: 'error', message: 'x', path: '/n' }],
};

describe('toFlow', () => {
  test('a node other domains build on carries their names, says so to a screen reader, and is never folded away', () => {
    const used = toFlow(domain, undefined, undefined, { usedBy: new Map([['s:snap1', ['vm-clone']]]) });
    const node = used.nodes.find((n) => n.id === 's:snap1');
    expect(node?.data.usedBy).toEqual(['vm-clone']);
    expect(node?.ariaLabel).toContain('used by clone vm-clone');
    expect(used.nodes.find((n) => n.id === 's:snap2')?.data.usedBy).toBeUndefined();
  });

  const graph = toFlow(domain);
  const at = (id: string) => graph.nodes.find((n) => n.id === id)?.position;

  test('lays the tree out with the root at the left and each child one column further', () => {
    expect(at('s:snap1')?.x).toBe(0);
    expect(at('s:snap2')!.x).toBeGreaterThan(at('s:snap1')!.x);
    expect(at('b:snap1.1')?.x).toBe(at('s:snap2')?.x);
    expect(at('b:main')!.x).toBeGreaterThan(at('s:snap3')!.x);
  });

  test('siblings do not overlap', () => {
    expect(Math.abs(at('b:snap1.1')!.y - at('s:snap2')!.y)).toBeGreaterThanOrEqual(68);
  });

  test('every node has its size for culling and one edge from its parent', () => {
    expect(graph.nodes.every((n) => n.width === 200 && n.height === 84)).toBe(true);
    expect(graph.edges.map((e) => `${e.source}>${e.target}`).sort()).toEqual(['s:snap1>b:snap1.1', 's:snap1>s:snap2', 's:snap2>s:snap3', 's:snap3>b:main']);
    expect(graph.edges.find((e) => e.target === 'b:main')?.animated).toBe(true);
  });

  test('problems are counted on the node whose files they name', () => {
    expect(graph.nodes.find((n) => n.id === 'b:snap1.1')?.data.findings).toHaveLength(1);
    expect(graph.nodes.find((n) => n.id === 'b:main')?.data.findings).toEqual([]);
  });

  test('arrow keys move to parent, child and siblings', () => {
    expect(moveFocus(graph, null, 'ArrowDown')).toBe(graph.order[0]);
    expect(moveFocus(graph, 's:snap2', 'ArrowLeft')).toBe('s:snap1');
    expect(moveFocus(graph, 's:snap1', 'ArrowLeft')).toBe('s:snap1');
    expect(moveFocus(graph, 's:snap3', 'ArrowRight')).toBe('b:main');
    const siblings = graph.childrenOf['s:snap1'] ?? [];
    expect(siblings).toHaveLength(2);
    expect(moveFocus(graph, siblings[0] as string, 'ArrowDown')).toBe(siblings[1]);
    expect(moveFocus(graph, siblings[1] as string, 'ArrowUp')).toBe(siblings[0]);
  });

  test('a 2,000-node graph is laid out with no two nodes on one spot', () => {
    const many: Snapshot[] = [];
    for (let i = 0; i < 2000; i++) many.push(snap(`s${i}`, i === 0 ? null : `s${Math.floor((i - 1) / 3)}`, `2026-01-01T00:00:${i}`));
    const big = toFlow({ ...domain, snapshots: many, branches: [], problems: [] });
    expect(big.nodes).toHaveLength(2000);
    expect(new Set(big.nodes.map((n) => `${n.position.x},${n.position.y}`)).size).toBe(2000);
  });
});

describe('toFlow keeps places stable', () => {
  const placeOf = (d: Domain) => new Map(toFlow(d).nodes.map((n) => [n.id, `${n.position.x},${n.position.y}`]));
  const same = (before: Map<string, string>, after: Map<string, string>, except: string[]) => {
    for (const [id, at] of before) if (!except.includes(id) && after.has(id)) expect([id, after.get(id)]).toEqual([id, at]);
  };

  test('the order the scan lists snapshots in does not move anything', () => {
    const shuffled = { ...domain, snapshots: [...domain.snapshots].reverse(), branches: [...domain.branches].reverse() };
    expect(placeOf(shuffled)).toEqual(placeOf(domain));
  });

  test('taking a snapshot moves only You are here, one column on', () => {
    const before = placeOf(domain);
    const taken: Domain = {
      ...domain,
      snapshots: [...domain.snapshots, snap('snap4', 'snap3', '2026-01-04')],
      branches: domain.branches.map((b) => (b.name === 'main' ? { ...b, base: 'snap4' } : b)),
    };
    const after = placeOf(taken);
    same(before, after, ['b:main']);
    expect(after.get('s:snap4')).toBe(before.get('b:main'));
  });

  test('a new branch from a revert and the deletion of a leaf leave every other node in place', () => {
    const before = placeOf(domain);
    const reverted: Domain = {
      ...domain,
      branches: [...domain.branches.map((b) => ({ ...b, current: false })), { name: 'snap2.1', current: true, origin: 'metadata', base: 'snap2', tips: [{ target: 'vda', file: '/o' }] }],
    };
    same(before, placeOf(reverted), []);
    const deleted: Domain = { ...domain, branches: domain.branches.filter((b) => b.name !== 'snap1.1') };
    same(before, placeOf(deleted), []);
  });

  test('deleting the snapshot a branch forks at keeps the branch below the chain, with an edge to the shared base file', () => {
    // The demo lab: base ← snap1 ← snap2 ← snap3 ← main, and experiment forked at snap1 (its tip backed by base).
    const layer = (path: string, backing: string | null) => ({ path, format: 'qcow2', virtualSize: 1, actualSize: 1, backing, backingName: backing, backingFormat: backing === null ? null : 'qcow2' });
    const disk = (stateLayer: string, overlay: string) => ({ target: 'vda', kind: 'external', overlay, stateLayer });
    const lab = (withSnap1: boolean): Domain => ({
      name: 'demo',
      state: 'shut off',
      disks: [],
      snapshots: [
        ...(withSnap1 ? [{ ...snap('snap1', null, '2026-01-01'), disks: [disk('/base', '/s1')] }] : []),
        { ...snap('snap2', withSnap1 ? 'snap1' : null, '2026-01-05'), disks: [disk('/s1', '/s2')] },
        { ...snap('snap3', 'snap2', '2026-01-09'), disks: [disk('/s2', '/s3')] },
      ],
      branches: [
        { name: 'main', current: true, origin: 'domain', base: 'snap3', tips: [{ target: 'vda', file: '/s3' }] },
        { name: 'experiment', current: false, origin: 'metadata', base: withSnap1 ? 'snap1' : null, tips: [{ target: 'vda', file: '/x' }] },
      ],
      layers: { '/base': layer('/base', null), '/s1': layer('/s1', '/base'), '/s2': layer('/s2', '/s1'), '/s3': layer('/s3', '/s2'), '/x': layer('/x', '/base') },
      problems: [],
    });
    const rowOf = (graph: ReturnType<typeof toFlow>, id: string) => graph.nodes.find((n) => n.id === id)?.position.y ?? NaN;
    const before = toFlow(lab(true));
    const after = toFlow(lab(false));
    expect(rowOf(before, 'b:experiment')).toBeGreaterThan(rowOf(before, 's:snap2'));
    expect(rowOf(after, 'b:experiment')).toBeGreaterThan(rowOf(after, 's:snap2'));
    const edge = after.edges.find((e) => e.target === 'b:experiment');
    expect(edge).toMatchObject({ source: 's:snap2', label: 'both on base' });
    expect(edge?.ariaLabel).toContain('same base file base');
  });

  test('a chain of 300 snapshots opens folded: its ends and one node for the rest', () => {
    const chain: Snapshot[] = [];
    for (let i = 0; i < 300; i++) chain.push(snap(`c${i}`, i === 0 ? null : `c${i - 1}`, `2026-02-01T00:00:${String(i).padStart(3, '0')}`));
    const long: Domain = { ...domain, snapshots: chain, branches: [{ name: 'main', current: true, origin: 'domain', base: 'c299', tips: [{ target: 'vda', file: '/m' }] }], problems: [] };
    const graph = toFlow(long);
    const runs = graph.nodes.filter((n) => n.type === 'run');
    expect(runs).toHaveLength(1);
    expect(runs[0]?.data.count).toBe(295);
    expect(graph.nodes.length).toBeLessThan(10);
    expect(graph.hiddenIn['s:c150']).toBe(runs[0]?.id);
    expect(graph.treeOrder).toHaveLength(301);
    const opened = toFlow(long, undefined, undefined, { expanded: new Set([runs[0]?.id ?? '']) });
    expect(opened.nodes).toHaveLength(301);
  });

  test('every node has a spoken name: kind, name and state', () => {
    const graph = toFlow({ ...domain, snapshots: domain.snapshots.map((s) => (s.name === 'snap3' ? { ...s, current: true } : s)) });
    const label = (id: string) => graph.nodes.find((n) => n.id === id)?.ariaLabel;
    expect(label('s:snap3')).toBe("Snapshot snap3, libvirt's current snapshot");
    expect(label('b:main')).toBe('Branch main, You are here');
    expect(label('b:snap1.1')).toBe('Branch snap1.1, 1 problem');
    expect(graph.edges.every((e) => e.focusable === false)).toBe(true);
    expect(graph.edges.find((e) => e.target === 'b:main')?.ariaLabel).toBe('From snap3 to main');
  });
});
