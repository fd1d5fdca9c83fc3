/** A clone's definition from its source's (cloneDomainXml): what changes, what stays, and what is refused. */
import { describe, expect, test } from 'vitest';
import { branchRecordsOf, cloneRecordOf, domainDisksOf, nvramOf, parseDomainXml } from '../scan/libvirt-xml';
import { cloneDomainXml, type CloneEdit } from './xml-edit';

const SOURCE = `<domain type='kvm' id='7'>
  <name>vm</name>
  <uuid>11111111-2222-4333-8444-555555555555</uuid>
  <title>The source</title>
  <description>kept</description>
  <metadata>
    <snaptree:branches xmlns:snaptree="urn:virt-snaptree:branches:1" current="main"><snaptree:branch name="main"><snaptree:tip target="vda" file="/i/vm.s1"/></snaptree:branch></snaptree:branches>
    <snaptree-clone:clone xmlns:snaptree-clone="urn:virt-snaptree:clone:1" domain="older" kind="snapshot" node="x" operation="old-op"/>
    <other:thing xmlns:other="urn:other">kept</other:thing>
  </metadata>
  <memory unit='KiB'>65536</memory>
  <sysinfo type='smbios'><system><entry name='manufacturer'>ACME</entry><entry name='uuid'>11111111-2222-4333-8444-555555555555</entry></system></sysinfo>
  <os><type arch='x86_64'>hvm</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader><nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/var/lib/libvirt/qemu/nvram/vm_VARS.fd</nvram></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/i/vm.s1'/><backingStore type='file'><format type='qcow2'/><source file='/i/vm.qcow2'/></backingStore><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/iso/install.iso'/><target dev='sda' bus='sata'/><readonly/></disk>
    <disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='/dev/sdz'/><target dev='vdb' bus='virtio'/></disk>
    <interface type='network'><mac address='52:54:00:aa:bb:cc'/><source network='default'/><target dev='vnet3'/><model type='virtio'/></interface>
    <channel type='unix'><source mode='bind' path='/var/lib/libvirt/qemu/channel/target/domain-7-vm/org.qemu.guest_agent.0'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <channel type='unix'><source mode='bind' path='/run/fixed.sock'/><target type='virtio' name='com.example.0'/></channel>
    <graphics type='spice' port='5901' tlsPort='5902' autoport='no' websocket='5700'><listen type='address' address='127.0.0.1'/></graphics>
  </devices>
</domain>`;

const EDIT: CloneEdit = {
  name: 'copy',
  disks: { vda: { file: '/c/copy.vda.qcow2', format: 'qcow2' } },
  nvram: '/var/lib/libvirt/qemu/nvram/copy_VARS.fd',
  record: { domain: 'vm', node: { kind: 'branch', name: 'main' }, operation: 'op-1' },
};

describe('cloneDomainXml', () => {
  const xml = cloneDomainXml(SOURCE, EDIT);
  const root = parseDomainXml(xml);

  test('a new name and UUID, the SMBIOS UUID with it, no title and no live id; the description stays', () => {
    const uuid = /<uuid>([^<]+)<\/uuid>/.exec(xml)?.[1];
    expect(/<name>([^<]+)<\/name>/.exec(xml)?.[1]).toBe('copy');
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(uuid).not.toBe('11111111-2222-4333-8444-555555555555');
    expect(xml).toContain(`<entry name="uuid">${uuid ?? ''}</entry>`);
    expect(xml).toContain('ACME');
    expect(xml).not.toContain('<title>');
    expect(root.hasAttribute('id')).toBe(false);
    expect(xml).toContain('<description>kept</description>');
    expect(cloneDomainXml(SOURCE, EDIT)).not.toContain(uuid ?? '?');
  });

  test('the managed disk on its new file without the old chain; the CD-ROM and the unmanaged disk as they were', () => {
    expect(domainDisksOf(root).map((d) => [d.target, d.file, d.format])).toEqual([
      ['vda', '/c/copy.vda.qcow2', 'qcow2'],
      ['sda', '/iso/install.iso', 'raw'],
      ['vdb', null, 'raw'],
    ]);
    expect(xml).not.toContain('backingStore');
    expect(xml).toContain("<source dev='/dev/sdz'/>".replaceAll("'", '"'));
  });

  test("what would clash with the source's goes: MAC, host device name, fixed ports, the agent's socket path", () => {
    expect(xml).not.toContain('52:54:00:aa:bb:cc');
    expect(xml).not.toContain('vnet3');
    expect(xml).toContain('<source network="default"/>');
    expect(xml).not.toContain('domain-7-vm');
    expect(xml).toContain('/run/fixed.sock');
    expect(xml).not.toMatch(/port="59/);
    expect(xml).toContain('autoport="yes"');
    expect(xml).toContain('websocket="-1"');
    expect(xml).toContain('address="127.0.0.1"');
  });

  test('its own variable store, the template kept; the branch records and an older clone record out, its own record in, other metadata kept', () => {
    expect(nvramOf(root)).toBe('/var/lib/libvirt/qemu/nvram/copy_VARS.fd');
    expect(xml).toContain('template="/usr/share/OVMF/OVMF_VARS_4M.fd"');
    expect(branchRecordsOf(root).branches).toEqual([]);
    expect(cloneRecordOf(root)).toEqual({ domain: 'vm', node: { kind: 'branch', name: 'main' }, operation: 'op-1' });
    expect(xml.match(/urn:virt-snaptree:clone:1/g)).toHaveLength(1);
    expect(xml).toContain('<other:thing xmlns:other="urn:other">kept</other:thing>');
  });

  test('a variable store written as <source file>, and one the plan did not see or that is gone, refused', () => {
    const sourced = SOURCE.replace(
      "<nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/var/lib/libvirt/qemu/nvram/vm_VARS.fd</nvram>",
      "<nvram type='file'><source file='/n/vm_VARS.fd'/></nvram>",
    );
    expect(cloneDomainXml(sourced, EDIT)).toContain('<source file="/var/lib/libvirt/qemu/nvram/copy_VARS.fd"/>');
    expect(() => cloneDomainXml(SOURCE, { ...EDIT, nvram: null })).toThrow(/has a UEFI variable store since the plan/);
    expect(() => cloneDomainXml(SOURCE.replace(/<nvram[^]*<\/nvram>/, ''), EDIT)).toThrow(/no UEFI variable store any more/);
    expect(() => cloneDomainXml(SOURCE, { ...EDIT, disks: { vdz: { file: '/c/x', format: 'qcow2' } } })).toThrow(/no disk vdz/);
  });
});
