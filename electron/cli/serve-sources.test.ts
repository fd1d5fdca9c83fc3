import { describe, expect, it } from 'vitest';
import type { SourceEntry } from '../../shared/contract';
import { withLabSources } from './serve-command';

const libvirt = (id: string, uri: string, demo = false): SourceEntry => ({ id, label: id, source: { kind: 'libvirt', uri }, demo });

describe('serve --demo with --connect', () => {
  it('lists a connection the demo also uses once, as the demo’s, and keeps the others after the lab', () => {
    const lab = [libvirt('demo-libvirt', 'qemu:///system', true), { id: 'demo-folder', label: 'f', source: { kind: 'folder' as const, path: '/tmp/x' }, demo: true }];
    const given = [libvirt('a', 'qemu:///system'), libvirt('b', 'qemu+ssh://host/system')];
    expect(withLabSources(given, lab).map((s) => s.id)).toEqual(['demo-libvirt', 'demo-folder', 'b']);
  });

  it('keeps every source when the lab has no libvirt part', () => {
    const given = [libvirt('a', 'qemu:///system')];
    expect(withLabSources(given, []).map((s) => s.id)).toEqual(['a']);
  });
});
