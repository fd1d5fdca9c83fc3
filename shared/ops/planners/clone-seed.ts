/** Scans for the clone and export planner tests: a two-disk domain with a CD-ROM and unmanaged disks, and its clones. */
import { assembleDomain, walkChain, type DomainFacts } from '../../assemble';
import type { Domain, Layer, ScanResult } from '../../model';
import { layer } from '../../test-seed';

/**
 * web01: per disk (vda, vdb) a base under /img and the overlay snap1 made, the disks on those overlays (branch
 * main); hdc a CD-ROM, vdc a writable block device, vdd a read-only one, vde a shareable one.
 */
export function web01(options: { state?: string; nvram?: string; name?: string } = {}): DomainFacts {
  const name = options.name ?? 'web01';
  const layers = [
    layer(`/img/${name}-vda.qcow2`, null, 3 << 20),
    layer(`/img/${name}-vdb.qcow2`, null, 5 << 20),
    layer(`/img/${name}.snap1.vda.qcow2`, `/img/${name}-vda.qcow2`, 1 << 20),
    layer(`/img/${name}.snap1.vdb.qcow2`, `/img/${name}-vdb.qcow2`, 1 << 20),
  ];
  return {
    name,
    state: options.state ?? 'shut off',
    disks: [
      { target: 'vda', device: 'disk', file: `/img/${name}.snap1.vda.qcow2`, format: 'qcow2', managed: true },
      { target: 'vdb', device: 'disk', file: `/img/${name}.snap1.vdb.qcow2`, format: 'qcow2', managed: true },
      { target: 'hdc', device: 'cdrom', file: null, format: 'raw', managed: false, reason: 'CD-ROM', readonly: true },
      { target: 'vdc', device: 'disk', file: null, format: 'raw', managed: false, reason: 'Block device' },
      { target: 'vdd', device: 'disk', file: null, format: 'raw', managed: false, reason: 'Block device', readonly: true },
      { target: 'vde', device: 'disk', file: null, format: 'raw', managed: false, reason: 'Block device', shareable: true },
    ],
    snapshots: [
      {
        name: 'snap1',
        parent: null,
        description: null,
        created: '2026-01-01T00:00:00.000Z',
        state: 'shutoff',
        current: true,
        memoryFile: null,
        revertFiles: [],
        disks: [
          { target: 'vda', kind: 'external', overlay: `/img/${name}.snap1.vda.qcow2` },
          { target: 'vdb', kind: 'external', overlay: `/img/${name}.snap1.vdb.qcow2` },
        ],
      },
    ],
    recorded: { current: null, branches: [] },
    layers: Object.fromEntries(layers.map((l) => [l.path, l])),
    problems: [],
    ...(options.nvram !== undefined ? { nvram: options.nvram } : {}),
  };
}

/**
 * A linked clone `name` of `source`: one overlay per disk (vda, vdb) on `on(target)`, by default the source's
 * bases, snap1's saved state; its layers are the ones its disks reach.
 */
export function linkedClone(source: Domain, name: string, on = (target: string) => `/img/${source.name}-${target}.qcow2`): Domain {
  const all = { ...source.layers };
  const disks = ['vda', 'vdb'].map((target) => {
    const file = `/img/${name}.${target}.qcow2`;
    all[file] = layer(file, on(target));
    return { target, device: 'disk', file, format: 'qcow2', managed: true };
  });
  const layers = Object.fromEntries(disks.flatMap((d) => walkChain(all, d.file)).map((path) => [path, all[path] as Layer]));
  return assembleDomain({
    name,
    state: 'shut off',
    disks,
    snapshots: [],
    recorded: { current: null, branches: [] },
    layers,
    problems: [],
    cloneOf: { domain: source.name, node: { kind: 'snapshot', name: 'snap1' }, operation: '11111111-1111-4111-8111-111111111111' },
  });
}

/** A scan of the facts given, on qemu:///system. */
export function scanOf(...domains: Array<DomainFacts | Domain>): ScanResult {
  return {
    source: { kind: 'libvirt', uri: 'qemu:///system' },
    scannedAt: '',
    hypervisor: null,
    domains: domains.map((d) => ('branches' in d ? d : assembleDomain(d))),
    problems: [],
  };
}
