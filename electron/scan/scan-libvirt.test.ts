import { unlink } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Domain, ScanResult } from '../../shared/model';
import { TestLab, TEST_URI, qemuImgSync, virshSync } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';
import { openVirsh, type Virsh } from '../tools/virsh';
import { CLONE_KEY, CLONE_NS, SNAPTREE_KEY, SNAPTREE_NS } from './libvirt-xml';
import { scanLibvirt } from './scan-libvirt';
import { engineReader } from '../test-support/readers';

const MiB = 1024 * 1024;
let lab: TestLab;
let virsh: Virsh;
let result: ScanResult;
const names: Record<string, string> = {};

function domain(key: string): Domain {
  const found = result.domains.find((d) => d.name === names[key]);
  if (found === undefined) throw new Error(`domain ${key} not scanned`);
  return found;
}

/** What qemu-img says the backing chain of `file` is, top first. */
function qemuChain(file: string): string[] {
  return (JSON.parse(qemuImgSync(['info', '-U', '--backing-chain', '--output=json', file])) as Array<{ filename: string }>).map(
    (i) => i.filename,
  );
}

function snapshotParent(dom: string, snap: string): string | null {
  try {
    return virshSync(['snapshot-parent', '--domain', dom, '--snapshotname', snap]).trim() || null;
  } catch {
    return null;
  }
}

beforeAll(async () => {
  lab = await new TestLab().init();
  virsh = openVirsh(TEST_URI);

  // base → s1 → s2 → s3, data written in every layer.
  await qemuImgCreate(lab.path('linear.qcow2'), { size: 64 * MiB });
  await writePattern(lab.path('linear.qcow2'), 'qcow2', 0x10, 0, 4 * MiB);
  names.linear = await lab.define({ name: 'linear', disks: [{ target: 'vda', file: lab.path('linear.qcow2'), format: 'qcow2' }] });
  for (const [i, snap] of ['s1', 's2', 's3'].entries()) {
    lab.snapshot(names.linear, snap);
    const top = virshSync(['domblklist', '--domain', names.linear, '--details']).match(/disk\s+vda\s+(\S.*)$/m)?.[1]?.trim();
    await writePattern(top as string, 'qcow2', 0x20 + i, (i + 1) * 4 * MiB, MiB);
  }

  // A fork at s1: a recorded branch, a loose tip nobody records, and a named current branch.
  await qemuImgCreate(lab.path('fork.qcow2'), { size: 64 * MiB });
  names.fork = await lab.define({ name: 'fork', disks: [{ target: 'vda', file: lab.path('fork.qcow2'), format: 'qcow2' }] });
  lab.snapshot(names.fork, 's1');
  await qemuImgCreate(lab.path('fork-alt.qcow2'), { backing: { path: lab.path('fork.qcow2'), format: 'qcow2' } });
  await qemuImgCreate(lab.path('fork-loose.qcow2'), { backing: { path: lab.path('fork.qcow2'), format: 'qcow2' } });
  virshSync([
    'metadata', '--domain', names.fork, '--config', '--uri', SNAPTREE_NS, '--key', SNAPTREE_KEY, '--set',
    `<branches current="work"><branch name="alt"><tip target="vda" file="${lab.path('fork-alt.qcow2')}"/></branch></branches>`,
  ]);

  // Another domain whose disk builds on fork's saved state of s1, beside fork's files (a clone, or a plain virsh user).
  await qemuImgCreate(lab.path('fork-user.qcow2'), { backing: { path: lab.path('fork.qcow2'), format: 'qcow2' } });
  names.forkUser = await lab.define({ name: 'fork-user', disks: [{ target: 'vda', file: lab.path('fork-user.qcow2'), format: 'qcow2' }] });

  // Two disks and a CD-ROM.
  await qemuImgCreate(lab.path('two-a.qcow2'), { size: 16 * MiB });
  await qemuImgCreate(lab.path('two-b.qcow2'), { size: 16 * MiB });
  names.two = await lab.define({
    name: 'two',
    cdrom: true,
    disks: [
      { target: 'vda', file: lab.path('two-a.qcow2'), format: 'qcow2' },
      { target: 'vdb', file: lab.path('two-b.qcow2'), format: 'qcow2' },
    ],
  });
  lab.snapshot(names.two, 'both', ['--diskspec', 'hdc,snapshot=no']);
  // As if the app had cloned it: its clone record, in its own namespace beside the branch records.
  virshSync([
    'metadata', '--domain', names.two, '--config', '--uri', CLONE_NS, '--key', CLONE_KEY, '--set',
    `<clone domain="${names.linear}" kind="snapshot" node="s2" operation="3f0c2a8e-8d7b-4c55-9a51-2f6f1c0b7e44"/>`,
  ]);

  // No snapshots, and a name with spaces and unicode.
  await qemuImgCreate(lab.path('plain.qcow2'), { size: 16 * MiB });
  names.plain = await lab.define({ name: 'plain dömain', disks: [{ target: 'vda', file: lab.path('plain.qcow2'), format: 'qcow2' }] });

  // Snapshot names with spaces, quotes, unicode and shell syntax.
  await qemuImgCreate(lab.path('odd.qcow2'), { size: 16 * MiB });
  names.odd = await lab.define({ name: 'odd', disks: [{ target: 'vda', file: lab.path('odd.qcow2'), format: 'qcow2' }] });
  lab.snapshot(names.odd, "before upgrade 'ünï'");
  lab.snapshot(names.odd, '$(touch x); echo');

  // A raw base under a snapshot.
  qemuImgSync(['create', '-q', '-f', 'raw', lab.path('raw.img'), String(16 * MiB)]);
  names.raw = await lab.define({ name: 'raw', disks: [{ target: 'vda', file: lab.path('raw.img'), format: 'raw' }] });
  lab.snapshot(names.raw, 'r1');

  // A missing backing file.
  await qemuImgCreate(lab.path('gone.qcow2'), { size: 16 * MiB });
  await qemuImgCreate(lab.path('broken.qcow2'), { backing: { path: lab.path('gone.qcow2'), format: 'qcow2' } });
  names.broken = await lab.define({ name: 'broken', disks: [{ target: 'vda', file: lab.path('broken.qcow2'), format: 'qcow2' }] });
  await unlink(lab.path('gone.qcow2'));

  // A running domain: its images are locked by QEMU.
  await qemuImgCreate(lab.path('live.qcow2'), { size: 16 * MiB });
  names.live = await lab.define({ name: 'live', disks: [{ target: 'vda', file: lab.path('live.qcow2'), format: 'qcow2' }] });
  virshSync(['start', '--domain', names.live]);

  result = await scanLibvirt(await engineReader(virsh), { domains: Object.values(names) });
});

afterAll(async () => {
  await virsh?.close();
  await lab?.cleanup();
});

describe('scanLibvirt', () => {
  test('a linear chain matches virsh snapshot-parent and qemu-img backing chains', () => {
    const dom = domain('linear');
    expect(dom.snapshots.map((s) => s.name).sort()).toEqual(['s1', 's2', 's3']);
    for (const snap of dom.snapshots) expect(snap.parent).toBe(snapshotParent(names.linear as string, snap.name));
    expect(dom.snapshots.find((s) => s.current)?.name).toBe('s3');
    for (const snap of dom.snapshots) {
      const disk = snap.disks[0];
      expect(disk?.overlay).toBeTruthy();
      // The saved state of a snapshot is the backing file of its overlay.
      expect(disk?.stateLayer).toBe(qemuChain(disk?.overlay as string)[1]);
    }
    const [vda] = dom.disks;
    expect(vda?.chain).toEqual(qemuChain(vda?.file as string));
    expect(vda?.chain.at(-1)).toBe(lab.path('linear.qcow2'));
    expect(dom.branches).toEqual([{ name: 'main', current: true, origin: 'domain', base: 's3', tips: [{ target: 'vda', file: vda?.file }] }]);
    expect(dom.layers[lab.path('linear.qcow2')]?.actualSize).toBeGreaterThan(4 * MiB);
    expect(dom.state).toBe('shut off');
    expect(dom.problems).toEqual([]);
  });

  test('recorded branches and loose tips are found with their base snapshot', () => {
    const dom = domain('fork');
    const summary = dom.branches.map((b) => [b.name, b.origin, b.current, b.base]);
    expect(summary).toEqual([
      ['work', 'domain', true, 's1'],
      ['alt', 'metadata', false, 's1'],
      ['fork-loose.qcow2', 'loose', false, 's1'],
    ]);
    expect(dom.branches[2]?.tips).toEqual([{ target: 'vda', file: lab.path('fork-loose.qcow2') }]);
  });

  test("a rescan of one domain does not take another domain's disk beside its files for a loose tip", async () => {
    const alone = await scanLibvirt(await engineReader(virsh), { domains: [names.fork as string] });
    expect(alone.domains.map((d) => d.name)).toEqual([names.fork]);
    expect(alone.domains[0]?.branches.map((b) => [b.name, b.origin])).toEqual([
      ['work', 'domain'],
      ['alt', 'metadata'],
      ['fork-loose.qcow2', 'loose'],
    ]);
    expect(Object.keys(alone.domains[0]?.layers ?? {})).not.toContain(lab.path('fork-user.qcow2'));
  });

  test('two disks are both followed and a CD-ROM is shown as not managed', () => {
    const dom = domain('two');
    expect(dom.disks.map((d) => [d.target, d.managed])).toEqual([
      ['vda', true],
      ['vdb', true],
      ['hdc', false],
    ]);
    expect(dom.disks[2]?.reason).toMatch(/CD-ROM/);
    const snap = dom.snapshots[0];
    expect(snap?.disks.filter((d) => d.kind === 'external').map((d) => [d.target, d.stateLayer])).toEqual([
      ['vda', lab.path('two-a.qcow2')],
      ['vdb', lab.path('two-b.qcow2')],
    ]);
    expect(dom.branches[0]?.tips.map((t) => t.target)).toEqual(['vda', 'vdb']);
  });

  test('a clone record in the definition is read as where the domain was cloned from; others have none', () => {
    expect(domain('two').cloneOf).toEqual({ domain: names.linear, node: { kind: 'snapshot', name: 's2' }, operation: '3f0c2a8e-8d7b-4c55-9a51-2f6f1c0b7e44' });
    expect(domain('linear').cloneOf).toBeUndefined();
    expect(domain('linear').nvram).toBeUndefined();
  });

  test('a domain with no snapshots has one current branch growing from nothing', () => {
    const dom = domain('plain');
    expect(dom.name).toBe(names.plain);
    expect(dom.snapshots).toEqual([]);
    expect(dom.branches).toEqual([
      { name: 'main', current: true, origin: 'domain', base: null, tips: [{ target: 'vda', file: lab.path('plain.qcow2') }] },
    ]);
  });

  test('snapshot names with quotes, unicode and shell syntax are read exactly', () => {
    const dom = domain('odd');
    expect(dom.snapshots.map((s) => s.name).sort()).toEqual(['$(touch x); echo', "before upgrade 'ünï'"]);
    expect(dom.snapshots.find((s) => s.name === '$(touch x); echo')?.parent).toBe("before upgrade 'ünï'");
  });

  test('a raw base is the saved state of the first snapshot', () => {
    const dom = domain('raw');
    expect(dom.snapshots[0]?.disks[0]?.stateLayer).toBe(lab.path('raw.img'));
    expect(dom.layers[lab.path('raw.img')]?.format).toBe('raw');
  });

  test('a missing backing file is a problem of its domain only', () => {
    const dom = domain('broken');
    expect(dom.problems).toContainEqual(expect.objectContaining({ code: 'missing-backing', path: lab.path('broken.qcow2') }));
    expect(domain('linear').problems).toEqual([]);
  });

  test('a running domain is read in shared mode without errors', () => {
    const dom = domain('live');
    expect(dom.state).toBe('running');
    expect(dom.layers[lab.path('live.qcow2')]?.virtualSize).toBe(16 * MiB);
    expect(dom.problems.filter((p) => p.severity === 'error')).toEqual([]);
  });

  test('an unknown domain is reported without stopping the scan', async () => {
    const partial = await scanLibvirt(await engineReader(virsh), { domains: [`${lab.prefix}no-such`, names.plain as string] });
    expect(partial.domains[0]?.problems[0]?.code).toBe('domain-unreadable');
    expect(partial.domains[1]?.branches).toHaveLength(1);
  });

  test('an unreachable connection is a clear error', async () => {
    const nowhere = openVirsh('qemu+unix:///system?socket=/nonexistent/libvirt-sock');
    await expect(scanLibvirt(await engineReader(nowhere))).rejects.toMatchObject({ code: 'E_CONNECT' });
    await nowhere.close();
  });

  test('a full scan lists the lab domains and the hypervisor', async () => {
    const full = await scanLibvirt(await engineReader(virsh));
    expect(full.hypervisor).toMatch(/libvirt \d+/);
    for (const name of Object.values(names)) expect(full.domains.map((d) => d.name)).toContain(name);
  });
});
