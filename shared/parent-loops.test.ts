import { describe, expect, test } from 'vitest';
import { assembleDomain, type DomainFacts } from './assemble';
import { formatTree } from './format-tree';
import type { Layer } from './model';
import { loopCuts } from './parent-loops';
import { snapshotGraph } from './snapshot-graph';

function layer(path: string, backing: string | null): Layer {
  return { path, format: 'qcow2', virtualSize: 1 << 20, actualSize: 100, backing, backingName: backing, backingFormat: backing ? 'qcow2' : null };
}

type Snap = DomainFacts['snapshots'][number];
function snap(name: string, parent: string | null, extra: Partial<Snap> = {}): Snap {
  return { name, parent, description: null, created: null, state: 'shutoff', current: false, memoryFile: null, revertFiles: [], disks: [], ...extra };
}

function facts(snapshots: Snap[], layers: Layer[] = [layer('/a', null)], file = '/a'): DomainFacts {
  return {
    name: 'vm',
    state: 'shut off',
    disks: [{ target: 'vda', device: 'disk', file, format: 'qcow2', managed: true }],
    snapshots,
    recorded: { current: null, branches: [] },
    layers: Object.fromEntries(layers.map((l) => [l.path, l])),
    problems: [],
  };
}

describe('loopCuts', () => {
  test.each([
    ['no loop', { a: null, b: 'a' }, []],
    ['a self-parent', { a: 'a' }, ['a']],
    ['a ring of three, cut at its least name', { c: 'a', a: 'b', b: 'c', d: 'c' }, ['a']],
    ['two rings', { x: 'y', y: 'x', ' p': 'p', p: ' p' }, [' p', 'x']],
  ])('%s', (_name, parents: Record<string, string | null>, cuts) => {
    expect(loopCuts(Object.keys(parents), (id) => parents[id] ?? null).sort()).toEqual(cuts);
  });
});

describe('parent loops in libvirt metadata', () => {
  const looped = facts([snap('s1', 's3'), snap('s2', 's1'), snap('s3', 's2'), snap('self', 'self'), snap(' s1', null)]);

  test('become problems, one per loop, and the graph cuts each at the same snapshot every time', () => {
    const domain = assembleDomain(looped);
    const problems = domain.problems.filter((p) => p.code === 'metadata-cycle');
    expect(problems.map((p) => p.snapshot).sort()).toEqual(['s1', 'self']);
    expect(problems.find((p) => p.snapshot === 'self')?.message).toMatch(/its own parent/);
    expect(domain.snapshots.find((s) => s.name === 's1')?.parent).toBeNull();
    expect(domain.snapshots.find((s) => s.name === ' s1')?.parent).toBeNull();
    expect(assembleDomain(looped).problems).toEqual(domain.problems);
  });

  test('the tree prints every snapshot once and ends, even for a model that was never cut', () => {
    const domain = assembleDomain(looped);
    const raw = { ...domain, snapshots: looped.snapshots.map((s) => ({ ...s, disks: [] })) };
    for (const model of [domain, raw]) {
      const text = formatTree({ source: { kind: 'folder', path: '/x' }, scannedAt: '', hypervisor: null, domains: [model], problems: [] });
      for (const name of ['s1', 's2', 's3', 'self', ' s1']) expect(text.split('\n').filter((l) => l.includes(`─ ${name}  (`)), name).toHaveLength(1);
    }
    const ids = new Map(snapshotGraph(raw).map((n) => [n.id, n.parentId]));
    expect(loopCuts(ids.keys(), (id) => ids.get(id) ?? null)).toEqual([]);
  });

  test('a chain of 3,000 snapshots prints without recursion', () => {
    const long = Array.from({ length: 3000 }, (_, i) => snap(`s${i}`, i === 0 ? null : `s${i - 1}`));
    expect(formatTree({ source: { kind: 'folder', path: '/x' }, scannedAt: '', hypervisor: null, domains: [assembleDomain(facts(long))], problems: [] })).toContain('s2999  (');
  });
});

describe('You are here and an internal current snapshot', () => {
  const layers = [layer('/base', null), layer('/top', '/base')];
  const ext = snap('ext', null, { created: '2026-01-01', disks: [{ target: 'vda', kind: 'external', overlay: '/top' }] });

  test('hangs under the internal snapshot libvirt calls current, not beside it', () => {
    const domain = assembleDomain(facts([ext, snap('int', 'ext', { current: true, disks: [{ target: 'vda', kind: 'internal', overlay: null }] })], layers, '/top'));
    expect(domain.branches.find((b) => b.current)?.base).toBe('int');
  });

  test('follows the files when the current snapshot is external', () => {
    const domain = assembleDomain(facts([{ ...ext, current: true }, snap('int', 'ext', { disks: [{ target: 'vda', kind: 'internal', overlay: null }] })], layers, '/top'));
    expect(domain.branches.find((b) => b.current)?.base).toBe('ext');
  });
});
