import { describe, expect, test } from 'vitest';
import { parseBranchRecords, parseDomainDisks, parseSnapshotXml, SNAPTREE_NS } from './libvirt-xml';

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
