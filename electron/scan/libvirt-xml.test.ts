import { describe, expect, test } from 'vitest';
import { CLONE_NS, cloneRecordOf, nvramOf, parseBranchRecords, parseDomainDisks, parseDomainXml, parseSnapshotXml, SNAPTREE_NS } from './libvirt-xml';

// Captured from libvirt 9.0 (trimmed), plus the disk kinds a host may have.
const DOMAIN = `<domain type='qemu'>
  <name>vm</name>
  <metadata>
    <snaptree:branches xmlns:snaptree="${SNAPTREE_NS}" current="work">
      <snaptree:branch name="old"><snaptree:tip target="vda" file="/img/old.qcow2"/></snaptree:branch>
      <snaptree:branch name="empty"/>
    </snaptree:branches>
    <other:thing xmlns:other="urn:other"><branches current="not-ours"/></other:thing>
  </metadata>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/img/vm.s2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='hdc' bus='ide'/><readonly/></disk>
    <disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='rbd' name='pool/img'/><target dev='vdb' bus='virtio'/></disk>
    <disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='default' volume='v.qcow2'/><target dev='vdc' bus='virtio'/></disk>
    <disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='/dev/vg/lv'/><target dev='vdd' bus='virtio'/></disk>
    <disk type='file' device='disk'><driver name='qemu' type='vmdk'/><source file='/img/x.vmdk'/><target dev='vde' bus='virtio'/></disk>
  </devices>
</domain>`;

const SNAPSHOT = `<domainsnapshot>
  <name>before 'upgrade'</name>
  <description>Kernel 6.1 &amp; friends</description>
  <state>disk-snapshot</state>
  <parent><name>s1</name></parent>
  <creationTime>1700000000</creationTime>
  <memory snapshot='no'/>
  <disks>
    <disk name='vda' snapshot='external' type='file'><driver type='qcow2'/><source file='/img/vm.s2'/></disk>
    <disk name='hdc' snapshot='no'/>
  </disks>
  <revertDisks>
    <disk name='vda' snapshot='external' type='file'><driver type='qcow2'/><source file='/img/vm.revert'/></disk>
  </revertDisks>
  <domain type='qemu'><name>vm</name></domain>
</domainsnapshot>`;

describe('parseDomainDisks', () => {
  test('file-backed qcow2 and raw disks are managed; every other kind says why not', () => {
    const disks = parseDomainDisks(DOMAIN);
    expect(disks.map((d) => [d.target, d.managed, d.file])).toEqual([
      ['vda', true, '/img/vm.s2'],
      ['hdc', false, null],
      ['vdb', false, null],
      ['vdc', false, null],
      ['vdd', false, null],
      ['vde', false, '/img/x.vmdk'],
    ]);
    expect(disks.slice(1).map((d) => d.reason)).toEqual([
      expect.stringMatching(/CD-ROM/),
      expect.stringMatching(/Network/),
      expect.stringMatching(/pool/),
      expect.stringMatching(/Block device/),
      expect.stringMatching(/vmdk/),
    ]);
  });

  test('a disk marked <readonly/> or <shareable/> says so; others say nothing', () => {
    const disks = parseDomainDisks(DOMAIN.replace("<target dev='vdd' bus='virtio'/>", "<target dev='vdd' bus='virtio'/><shareable/>"));
    expect(disks.map((d) => [d.target, d.readonly ?? false, d.shareable ?? false])).toEqual([
      ['vda', false, false],
      ['hdc', true, false],
      ['vdb', false, false],
      ['vdc', false, false],
      ['vdd', false, true],
      ['vde', false, false],
    ]);
  });
});

describe('a block job in the live definition', () => {
  test("a disk's <mirror> names the file the job writes into, as libvirt 9 writes it and as libvirt before 1.2.6 did", () => {
    const live = (mirror: string) =>
      `<domain type='qemu'><name>vm</name><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/i/top.qcow2' index='2'/>${mirror}<target dev='vda' bus='virtio'/></disk></devices></domain>`;
    const [now] = parseDomainDisks(live("<mirror type='file' job='active-commit' ready='yes'><format type='qcow2'/><source file='/i/base.qcow2' index='1'/></mirror>"));
    expect(now?.mirror).toBe('/i/base.qcow2');
    const [old] = parseDomainDisks(live("<mirror file='/i/copy.qcow2' format='qcow2' job='copy'/>"));
    expect(old?.mirror).toBe('/i/copy.qcow2');
    expect(parseDomainDisks(live(''))[0]).not.toHaveProperty('mirror');
  });
});

describe('parseBranchRecords', () => {
  test("reads only the app's own namespace and skips records without tips", () => {
    expect(parseBranchRecords(DOMAIN)).toEqual({ current: 'work', branches: [{ name: 'old', tips: [{ target: 'vda', file: '/img/old.qcow2' }] }] });
  });

  test('a domain without records has none', () => {
    expect(parseBranchRecords('<domain><name>x</name></domain>')).toEqual({ current: null, branches: [] });
  });
});

describe('the clone record and the variable store', () => {
  const CLONE = `<domain type='kvm'>
  <name>web01-clone</name>
  <metadata>
    <snaptree:branches xmlns:snaptree="${SNAPTREE_NS}" current="main"/>
    <snaptree-clone:clone xmlns:snaptree-clone="${CLONE_NS}" domain="web01" kind="snapshot" node="snap 1" operation="0b6e0c1e-51a4-4c43-9d55-1f0a3b7c9e21"/>
  </metadata>
  <os><type arch='x86_64' machine='q35'>hvm</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader><nvram>/var/lib/libvirt/qemu/nvram/web01-clone_VARS.fd</nvram></os>
</domain>`;

  test('reads the clone record of its own namespace', () => {
    expect(cloneRecordOf(parseDomainXml(CLONE))).toEqual({ domain: 'web01', node: { kind: 'snapshot', name: 'snap 1' }, operation: '0b6e0c1e-51a4-4c43-9d55-1f0a3b7c9e21' });
  });

  test('a record in another namespace, of an unknown kind or missing a field is no clone record', () => {
    const other = CLONE.replace(CLONE_NS, 'urn:other');
    const kind = CLONE.replace('kind="snapshot"', 'kind="volume"');
    const noNode = CLONE.replace('node="snap 1"', '');
    for (const xml of [other, kind, noNode, '<domain><name>x</name></domain>']) expect(cloneRecordOf(parseDomainXml(xml))).toBeUndefined();
  });

  test('reads the variable store path of <os><nvram>, and none without it', () => {
    expect(nvramOf(parseDomainXml(CLONE))).toBe('/var/lib/libvirt/qemu/nvram/web01-clone_VARS.fd');
    expect(nvramOf(parseDomainXml(DOMAIN))).toBeUndefined();
    expect(nvramOf(parseDomainXml('<domain><os><nvram/></os></domain>'))).toBeUndefined();
  });
});

describe('parseSnapshotXml', () => {
  test('reads name, parent, time, state and per-disk overlays', () => {
    expect(parseSnapshotXml(SNAPSHOT)).toEqual({
      name: "before 'upgrade'",
      parent: 's1',
      description: 'Kernel 6.1 & friends',
      created: '2023-11-14T22:13:20.000Z',
      state: 'disk-snapshot',
      memoryFile: null,
      disks: [
        { target: 'vda', kind: 'external', type: 'file', overlay: '/img/vm.s2', source: '/img/vm.s2', format: 'qcow2', managed: true },
        { target: 'hdc', kind: 'no', type: 'file', overlay: null, source: null, format: null, managed: false, reason: 'Not part of this snapshot.' },
      ],
      revertFiles: ['/img/vm.revert'],
    });
  });

  test('a root snapshot has no parent and a memory file when it saved memory', () => {
    const parsed = parseSnapshotXml(
      "<domainsnapshot><name>r</name><state>running</state><memory snapshot='external' file='/img/r.mem'/></domainsnapshot>",
    );
    expect(parsed.parent).toBeNull();
    expect(parsed.memoryFile).toBe('/img/r.mem');
  });
});
