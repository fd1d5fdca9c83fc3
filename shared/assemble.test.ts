import { describe, expect, test } from 'vitest';
import { assembleDomain, assembleFolder, walkChain, type DomainFacts } from './assemble';
import type { Layer } from './model';

function layer(path: string, backing: string | null, actualSize = 1000): Layer {
  return { path, format: 'qcow2', virtualSize: 1 << 30, actualSize, backing, backingName: backing, backingFormat: backing ? 'qcow2' : null };
}

function layers(...list: Layer[]): Record<string, Layer> {
  return Object.fromEntries(list.map((l) => [l.path, l]));
}

/** base ← s1 overlay (/a.s1) ← s2 overlay (/a.s2, current disk). */
function linearFacts(overrides: Partial<DomainFacts> = {}): DomainFacts {
  return {
    name: 'vm',
    state: 'shut off',
    disks: [{ target: 'vda', device: 'disk', file: '/a.s2', format: 'qcow2', managed: true }],
    snapshots: [
      { name: 's1', parent: null, description: null, created: '2026-01-01T00:00:00.000Z', state: 'shutoff', current: false, memoryFile: null, revertFiles: [], disks: [{ target: 'vda', kind: 'external', overlay: '/a.s1' }] },
      { name: 's2', parent: 's1', description: null, created: '2026-01-02T00:00:00.000Z', state: 'shutoff', current: true, memoryFile: null, revertFiles: [], disks: [{ target: 'vda', kind: 'external', overlay: '/a.s2' }] },
    ],
    recorded: { current: null, branches: [] },
    layers: layers(layer('/a.qcow2', null), layer('/a.s1', '/a.qcow2'), layer('/a.s2', '/a.s1')),
    problems: [],
    ...overrides,
  };
}

describe('walkChain', () => {
  test.each([
    ['a full chain, top first', layers(layer('/t', '/m'), layer('/m', '/b'), layer('/b', null)), '/t', ['/t', '/m', '/b']],
    ['stops before a layer that was not read', layers(layer('/t', '/gone')), '/t', ['/t']],
    ['stops at a cycle', layers(layer('/a', '/b'), layer('/b', '/a')), '/a', ['/a', '/b']],
    ['is empty for an unknown start', layers(), '/x', []],
  ])('%s', (_name, graph, start, expected) => {
    expect(walkChain(graph, start)).toEqual(expected);
  });
});

describe('assembleDomain', () => {
  test("a snapshot's saved state is the backing file of its overlay", () => {
    const dom = assembleDomain(linearFacts());
    expect(dom.snapshots.map((s) => [s.name, s.disks[0]?.overlay, s.disks[0]?.stateLayer])).toEqual([
      ['s1', '/a.s1', '/a.qcow2'],
      ['s2', '/a.s2', '/a.s1'],
    ]);
    expect(dom.disks[0]?.chain).toEqual(['/a.s2', '/a.s1', '/a.qcow2']);
  });

  test('the current disks are the current branch, named main by default, growing from the newest state', () => {
    const dom = assembleDomain(linearFacts());
    expect(dom.branches).toEqual([{ name: 'main', current: true, origin: 'domain', base: 's2', tips: [{ target: 'vda', file: '/a.s2' }] }]);
  });

  test('a recorded current name and recorded branches are used, with their bases', () => {
    const facts = linearFacts({
      recorded: { current: 'work', branches: [{ name: 'old', tips: [{ target: 'vda', file: '/a.old' }] }] },
    });
    facts.layers['/a.old'] = layer('/a.old', '/a.qcow2');
    const dom = assembleDomain(facts);
    expect(dom.branches.map((b) => [b.name, b.origin, b.current, b.base])).toEqual([
      ['work', 'domain', true, 's2'],
      ['old', 'metadata', false, 's1'],
    ]);
  });

  test('an unrecorded leaf is a loose tip and never a saved state', () => {
    const facts = linearFacts();
    facts.layers['/a.stray'] = layer('/a.stray', '/a.s1');
    const dom = assembleDomain(facts);
    expect(dom.branches.find((b) => b.origin === 'loose')).toEqual({
      name: 'a.stray',
      current: false,
      origin: 'loose',
      base: 's2',
      tips: [{ target: 'vda', file: '/a.stray' }],
    });
  });

  test('a snapshot whose overlay is missing has no saved state rather than a wrong one', () => {
    const facts = linearFacts();
    facts.snapshots[0]!.disks[0]!.overlay = null;
    const dom = assembleDomain(facts);
    expect(dom.snapshots[0]?.disks[0]?.stateLayer).toBeNull();
  });

  test('internal snapshots are noted as not managed', () => {
    const facts = linearFacts();
    facts.snapshots[0]!.disks[0] = { target: 'vda', kind: 'internal', overlay: null };
    expect(assembleDomain(facts).problems.map((p) => p.code)).toEqual(['internal-snapshot']);
  });

  test('a domain with no snapshots has one branch growing from nothing', () => {
    const dom = assembleDomain(linearFacts({ snapshots: [], layers: layers(layer('/a.s2', null)) }));
    expect(dom.branches).toEqual([{ name: 'main', current: true, origin: 'domain', base: null, tips: [{ target: 'vda', file: '/a.s2' }] }]);
  });

  test('an unmanaged disk is not a tip', () => {
    const facts = linearFacts();
    facts.disks.push({ target: 'hdc', device: 'cdrom', file: null, format: 'raw', managed: false, reason: 'CD-ROM' });
    expect(assembleDomain(facts).branches[0]?.tips).toEqual([{ target: 'vda', file: '/a.s2' }]);
  });
});

describe('the clone record and the variable store', () => {
  test('are carried into the domain as read; a domain without them has neither', () => {
    const cloneOf = { domain: 'web01', node: { kind: 'branch' as const, name: 'main' }, operation: '3f0c2a8e-8d7b-4c55-9a51-2f6f1c0b7e44' };
    const domain = assembleDomain(linearFacts({ cloneOf, nvram: '/var/lib/libvirt/qemu/nvram/vm_VARS.fd' }));
    expect(domain.cloneOf).toEqual(cloneOf);
    expect(domain.nvram).toBe('/var/lib/libvirt/qemu/nvram/vm_VARS.fd');
    const plain = assembleDomain(linearFacts());
    expect('cloneOf' in plain || 'nvram' in plain).toBe(false);
  });
});

describe('assembleFolder', () => {
  test('interior layers are saved states, leaves are tips, one tree per base', () => {
    const trees = assembleFolder(
      layers(layer('/d/base', null), layer('/d/a', '/d/base'), layer('/d/b', '/d/base'), layer('/d/solo', null)),
      [],
    );
    expect(trees.map((t) => t.name)).toEqual(['base', 'solo']);
    expect(trees[0]?.snapshots.map((s) => s.name)).toEqual(['base']);
    expect(trees[0]?.branches.map((b) => [b.name, b.base])).toEqual([
      ['a', 'base'],
      ['b', 'base'],
    ]);
    expect(trees[1]?.branches.map((b) => [b.name, b.base])).toEqual([['solo', null]]);
  });

  test('problems go with the tree whose files they name', () => {
    const trees = assembleFolder(layers(layer('/d/x', null), layer('/d/y', null)), [
      { code: 'missing-backing', severity: 'error', message: 'gone', path: '/d/y' },
    ]);
    expect(trees.map((t) => t.problems.length)).toEqual([0, 1]);
  });
});
