import { describe, expect, test } from 'vitest';
import { assembleDomain, assembleFolder } from '../assemble';
import type { Layer, ScanResult } from '../model';
import { snapshotGraph } from '../snapshot-graph';
import { nodeActions } from './node-actions';
import { linkedClone, scanOf as cloneScan, web01 } from './planners/clone-seed';

const layer = (path: string, backing: string | null): Layer => ({ path, format: 'qcow2', virtualSize: 1, actualSize: 1, backing, backingName: backing, backingFormat: backing ? 'qcow2' : null });

function scanOf(state: string, guestAgent?: 'connected' | 'disconnected'): ScanResult {
  const domain = assembleDomain({
    name: 'vm',
    state,
    ...(guestAgent !== undefined ? { guestAgent } : {}),
    disks: [{ target: 'vda', device: 'disk', file: '/t', format: 'qcow2', managed: true }],
    snapshots: [{ name: 's1', parent: null, description: null, created: null, state: 'shutoff', current: true, memoryFile: null, revertFiles: [], disks: [{ target: 'vda', kind: 'external', overlay: '/t' }] }],
    recorded: { current: null, branches: [] },
    layers: { '/b': layer('/b', null), '/t': layer('/t', '/b') },
    problems: [],
  });
  return { source: { kind: 'libvirt', uri: 'qemu:///system' }, scannedAt: '', hypervisor: null, domains: [domain], problems: [] };
}

const actionsOf = (scan: ScanResult, id: string) => {
  const domain = scan.domains[0]!;
  return nodeActions(scan, domain, snapshotGraph(domain).find((n) => n.id === id)!);
};

describe('nodeActions', () => {
  test('taking a snapshot offers memory for a live domain and a quiesce for a running one, with the reason when it cannot be had', () => {
    const choicesOf = (scan: ScanResult) => actionsOf(scan, 'b:main').find((a) => a.id === 'create-snapshot')?.choices.map((c) => [c.id, c.disabled]);
    expect(choicesOf(scanOf('shut off'))).toEqual([]);
    expect(choicesOf(scanOf('paused'))).toEqual([['memory', null]]);
    expect(choicesOf(scanOf('running', 'connected'))).toEqual([
      ['memory', null],
      ['quiesce', null],
    ]);
    expect(choicesOf(scanOf('running'))).toEqual([
      ['memory', null],
      ['quiesce', expect.stringMatching(/no guest agent channel/)],
    ]);
    const take = actionsOf(scanOf('running', 'connected'), 'b:main').find((a) => a.id === 'create-snapshot');
    expect(take?.intent('s2', ['memory', 'quiesce'])).toEqual({ op: 'create-snapshot', domain: 'vm', name: 's2', memory: true, quiesce: true });
  });

  test('a snapshot offers the reverts and delete; a free branch name is suggested', () => {
    const actions = actionsOf(scanOf('shut off'), 's:s1');
    expect(actions.map((a) => [a.id, a.disabled])).toEqual([
      ['revert-branch', null],
      ['revert-discard', null],
      ['delete-snapshot', null],
      ['clone', null],
      ['export', null],
    ]);
    expect(actions[0]?.asks?.suggestion).toBe('s1.1');
  });

  test("what the engine would refuse is disabled with the engine's reason", () => {
    const running = actionsOf(scanOf('running'), 's:s1');
    // A snapshot of a running domain is deleted by block jobs while it runs; a repair still needs it shut off.
    expect(running.find((a) => a.id === 'delete-snapshot')?.disabled).toBeNull();
    // A revert stops the VM as the user chooses: a clean shutdown unless "force" is ticked.
    const revert = running.find((a) => a.id === 'revert-branch');
    expect(revert?.disabled).toBeNull();
    expect(revert?.choices.map((c) => [c.id, c.group, c.disabled])).toEqual([
      ['force', 'stop', null],
      ['save', 'stop', null],
      ['start', undefined, null],
    ]);
    expect(revert?.intent('b', [])).toMatchObject({ stop: 'shutdown' });
    expect(revert?.intent('b', ['force', 'start'])).toMatchObject({ stop: 'force', start: 'running' });
    expect(revert?.intent('b', ['save'])).toMatchObject({ stop: 'save' });
    // A discarding revert keeps no branch to save the memory with.
    expect(running.find((a) => a.id === 'revert-discard')?.choices.map((c) => c.id)).toEqual(['force', 'start']);
    expect(actionsOf(scanOf('shut off'), 's:s1').find((a) => a.id === 'revert-branch')?.intent('b', [])).not.toHaveProperty('stop');
    const here = actionsOf(scanOf('shut off'), 'b:main');
    // The tip's backing holds s1's saved state and nothing else: commit is offered as the fold into s1.
    expect(here.map((a) => a.id)).toEqual(['create-snapshot', 'fold-commit', 'rename-branch', 'delete-branch', 'clone', 'export']);
    expect(here.find((a) => a.id === 'fold-commit')).toMatchObject({ label: 'Fold into s1 and delete snapshot s1…', disabled: null, key: 'c', danger: true });
    expect(here.find((a) => a.id === 'fold-commit')?.intent('')).toEqual({ op: 'fold-commit', domain: 'vm', branch: 'main', snapshot: 's1' });
    expect(here.find((a) => a.id === 'delete-branch')?.disabled).toMatch(/current branch/);
    expect(here.find((a) => a.id === 'create-snapshot')?.disabled).toBeNull();
  });

  test('a fold that other branches refuse says how many in a few words, the whole list kept for a tooltip', () => {
    const scan = scanOf('shut off');
    const domain = scan.domains[0]!;
    const others = Array.from({ length: 49 }, (_, i) => `b${i + 1}`);
    for (const name of others) {
      domain.layers[`/${name}`] = layer(`/${name}`, '/b');
      domain.branches.push({ name, current: false, origin: 'metadata', base: 's1', tips: [{ target: 'vda', file: `/${name}` }] });
    }
    const fold = actionsOf({ ...scan, domains: [{ ...domain }] }, 'b:main').find((a) => a.id === 'fold-commit');
    expect(fold?.disabled).toBe('Cannot fold: b is also used by 49 other branches (b1, b2, b3, b4, b5, and 44 more). The branch stays as it is; delete those first if you no longer need them.');
    expect(fold?.reasonList).toHaveLength(49);
    expect(fold?.reasonList).toContain('b49 is built on it');
  });

  test('a tip whose backing holds two snapshots\' saved states keeps the plain commit, refused in short', () => {
    const scan = scanOf('shut off');
    const domain = scan.domains[0]!;
    domain.snapshots.push({ ...domain.snapshots[0]!, name: 's2', current: false });
    const commit = actionsOf({ ...scan, domains: [{ ...domain }] }, 'b:main').find((a) => a.id === 'commit');
    expect(commit?.disabled).toMatch(/^Cannot commit: b is also used by 2 snapshots \(s1, s2\)\./);
  });

  test('clone and export: a linked clone under a free name by default, refused on the branch a running VM writes', () => {
    const scan = scanOf('shut off');
    const snapshot = actionsOf(scan, 's:s1');
    const clone = snapshot.find((a) => a.id === 'clone');
    expect(clone).toMatchObject({ label: 'Clone VM from here…', key: 'l', asks: null, disabled: null, danger: false });
    expect(clone?.intent('')).toEqual({ op: 'clone', domain: 'vm', node: { kind: 'snapshot', name: 's1' }, name: 'vm-clone', mode: 'linked' });
    expect(snapshot.find((a) => a.id === 'export')).toMatchObject({ label: 'Export disks…', key: 'o', asks: null, disabled: null });
    const taken = { ...scan, domains: [...scan.domains, { ...scan.domains[0]!, name: 'vm-clone', layers: {}, disks: [], branches: [], snapshots: [] }] };
    expect(actionsOf(taken, 's:s1').find((a) => a.id === 'clone')?.intent('')).toMatchObject({ name: 'vm-clone-2' });
    const running = actionsOf(scanOf('running'), 'b:main');
    expect(running.find((a) => a.id === 'clone')?.disabled).toMatch(/Shut the VM off, or take a snapshot and clone from it/);
    expect(running.find((a) => a.id === 'export')?.disabled).toMatch(/Shut the VM off/);
    expect(actionsOf(scanOf('running'), 's:s1').find((a) => a.id === 'clone')?.disabled).toBeNull();
  });

  test('a commit into the file a clone builds on is refused in short, naming the clone', () => {
    const web = assembleDomain({ ...web01(), snapshots: [] });
    const scan = cloneScan(web, linkedClone(web, 'web01-clone'));
    const commit = nodeActions(scan, web, snapshotGraph(web).find((n) => n.id === 'b:main')!).find((a) => a.id === 'commit');
    expect(commit?.disabled).toMatch(/^Cannot commit: web01-vda\.qcow2 is also used by clone web01-clone\./);
    expect(commit?.reasonList).toEqual(["clone web01-clone's disk vda builds on it"]);
  });

  test('no two actions of a node share a key', () => {
    for (const id of ['s:s1', 'b:main']) {
      const keys = actionsOf(scanOf('shut off'), id).map((a) => a.key);
      expect(new Set(keys).size, id).toBe(keys.length);
      expect(keys, id).not.toContain('k');
    }
  });

  test('in an image folder a tip is an image: its menu and its refusals say image, not branch', () => {
    const layers: Record<string, Layer> = { '/f/base.qcow2': layer('/f/base.qcow2', null), '/f/mid.qcow2': layer('/f/mid.qcow2', '/f/base.qcow2') };
    for (let i = 1; i <= 3; i++) layers[`/f/t${i}.qcow2`] = layer(`/f/t${i}.qcow2`, '/f/mid.qcow2');
    const scan: ScanResult = { source: { kind: 'folder', path: '/f' }, scannedAt: '', hypervisor: null, domains: assembleFolder(layers, []), problems: [] };
    const actions = actionsOf(scan, 'b:t1.qcow2');
    expect(actions.find((a) => a.id === 'delete-branch')?.label).toBe('Delete image…');
    const commit = actions.find((a) => a.id === 'commit');
    expect(commit?.disabled).toMatch(/^Cannot commit: mid\.qcow2 is also used by 2 other images \(t2\.qcow2, t3\.qcow2\)\. The image stays as it is;/);
    expect(actions.flatMap((a) => [a.label, a.disabled ?? '']).join(' ')).not.toMatch(/branch/);
    // An image exports into the folder; cloning needs libvirt and is not offered.
    expect(actions.map((a) => a.id)).toContain('export');
    expect(actions.find((a) => a.id === 'export')?.disabled).toBeNull();
    expect(actions.map((a) => a.id)).not.toContain('clone');
  });
});
