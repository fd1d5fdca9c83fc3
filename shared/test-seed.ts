/** An in-memory scan for unit tests of what is computed from the model (plans, views). */
import { assembleDomain, type DomainFacts } from './assemble';
import type { Layer, ScanResult } from './model';

export function layer(path: string, backing: string | null, actualSize = 1 << 20): Layer {
  return { path, format: 'qcow2', virtualSize: 1 << 30, actualSize, backing, backingName: backing, backingFormat: backing ? 'qcow2' : null };
}

/**
 * The seed: base ← vm.snap1 ← vm.snap2 ← vm.snap3 (current disk), snapshots snap1..snap3, and optionally a
 * recorded branch "alt" forked at snap1 (its tip backed by base, snap1's saved state).
 */
export function seed(options: { state?: string; fork?: boolean } = {}): ScanResult {
  const layers: Layer[] = [layer('/i/base.qcow2', null), layer('/i/vm.snap1', '/i/base.qcow2'), layer('/i/vm.snap2', '/i/vm.snap1'), layer('/i/vm.snap3', '/i/vm.snap2')];
  if (options.fork) layers.push(layer('/i/alt.qcow2', '/i/base.qcow2'));
  const snap = (name: string, parent: string | null, overlay: string, day: number) => ({
    name,
    parent,
    description: null,
    created: `2026-01-0${day}T00:00:00.000Z`,
    state: 'shutoff',
    current: name === 'snap3',
    memoryFile: null,
    revertFiles: [],
    disks: [{ target: 'vda', kind: 'external', overlay }],
  });
  const facts: DomainFacts = {
    name: 'vm',
    state: options.state ?? 'shut off',
    disks: [
      { target: 'vda', device: 'disk', file: '/i/vm.snap3', format: 'qcow2', managed: true },
      { target: 'hdc', device: 'cdrom', file: null, format: 'raw', managed: false, reason: 'CD-ROM' },
    ],
    snapshots: [snap('snap1', null, '/i/vm.snap1', 1), snap('snap2', 'snap1', '/i/vm.snap2', 2), snap('snap3', 'snap2', '/i/vm.snap3', 3)],
    recorded: { current: null, branches: options.fork ? [{ name: 'alt', tips: [{ target: 'vda', file: '/i/alt.qcow2' }] }] : [] },
    layers: Object.fromEntries(layers.map((l) => [l.path, l])),
    problems: [],
  };
  return { source: { kind: 'libvirt', uri: 'qemu:///system' }, scannedAt: '', hypervisor: null, domains: [assembleDomain(facts)], problems: [] };
}
