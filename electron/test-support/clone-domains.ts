/**
 * Domains for the clone and export tests, beyond the one-disk chain of seed-chain.ts: a UEFI machine with its own
 * variable store (Debian's `ovmf`), two disks and a CD-ROM, and a domain with an unmanaged writable disk.
 * Each holds data in every layer, so that a clone or an export that reads the wrong layer shows.
 */
import { copyFile } from 'node:fs/promises';
import { buildDomainXml, escapeXml, type LabDomain } from '../lab/domain-xml';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';
import { diskSource } from './checks';
import { qemuImgSync, virshSync, type TestLab } from './lab';

const MiB = 1024 * 1024;

/** OVMF as Debian 12's `ovmf` installs it: the firmware and the template of a machine's variable store. */
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

/**
 * A lab definition booting OVMF with the variable store `nvram` (libvirt wants ACPI for UEFI on x86). With no OS on
 * its disks the guest sits in the firmware, which is all a test needs of it.
 */
export function uefiDomainXml(domain: LabDomain, nvram: string): string {
  const os = `<os>
    <type arch='x86_64'>hvm</type>
    <loader readonly='yes' type='pflash'>${OVMF_CODE}</loader>
    <nvram template='${OVMF_VARS}'>${escapeXml(nvram)}</nvram>
  </os>
  <features><acpi/></features>`;
  return buildDomainXml(domain).replace("<os><type arch='x86_64'>hvm</type></os>", os);
}

/** Every snapshot in `snapshots` taken in turn, each followed by 1 MiB of 0x21+i at (i+1)·4 MiB in each disk's new top. */
async function snapshotWithData(lab: TestLab, vm: string, targets: readonly string[], snapshots: readonly string[]): Promise<void> {
  for (const [i, snap] of snapshots.entries()) {
    lab.snapshot(vm, snap);
    for (const target of targets) await writePattern(diskSource(vm, target), 'qcow2', 0x21 + i, (i + 1) * 4 * MiB, MiB);
  }
}

/** A new 32 MiB qcow2 base in the lab with 4 MiB of `pattern` at 0. */
async function dataBase(lab: TestLab, file: string, pattern: number): Promise<string> {
  const base = lab.path(file);
  await qemuImgCreate(base, { size: 32 * MiB });
  await writePattern(base, 'qcow2', pattern, 0, 4 * MiB);
  return base;
}

/** A UEFI domain `id` with its own variable store (a copy of OVMF's template): base → s1, data in both. */
export async function seedUefi(lab: TestLab, id: string): Promise<{ vm: string; nvram: string }> {
  const base = await dataBase(lab, `${id}.qcow2`, 0x10);
  const nvram = lab.path(`${id}_VARS.fd`);
  await copyFile(OVMF_VARS, nvram);
  const xml = uefiDomainXml({ name: lab.prefix + id, disks: [{ target: 'vda', file: base, format: 'qcow2' }] }, nvram);
  const vm = await lab.defineXml(id, xml);
  await snapshotWithData(lab, vm, ['vda'], ['s1']);
  return { vm, nvram };
}

/** The MAC address of the network card seedTwoDisks gives its domain (user-mode networking: no host setup). */
export const LAB_MAC = '52:54:00:5a:7e:01';

/**
 * Two qcow2 disks (vda, vdb), an empty CD-ROM (hdc) and a network card (LAB_MAC): base → s1 on both disks, each
 * disk's layers with data of their own.
 */
export async function seedTwoDisks(lab: TestLab, id: string): Promise<string> {
  const a = await dataBase(lab, `${id}-a.qcow2`, 0x10);
  const b = await dataBase(lab, `${id}-b.qcow2`, 0x30);
  const nic = `    <interface type='user'>
      <mac address='${LAB_MAC}'/>
      <model type='virtio'/>
    </interface>
  </devices>`;
  const xml = buildDomainXml({
    name: lab.prefix + id,
    cdrom: true,
    disks: [
      { target: 'vda', file: a, format: 'qcow2' },
      { target: 'vdb', file: b, format: 'qcow2' },
    ],
  }).replace('  </devices>', nic);
  const vm = await lab.defineXml(id, xml);
  await snapshotWithData(lab, vm, ['vda', 'vdb'], ['s1']);
  return vm;
}

/**
 * A managed disk (vda) and a writable disk the app does not manage (vdb, a vmdk image, neither read-only nor marked
 * `<shareable/>`), left out of the snapshot s1: a clone carries it as it is, so both domains would write it.
 */
export async function seedSharedDisk(lab: TestLab, id: string): Promise<{ vm: string; shared: string }> {
  const base = await dataBase(lab, `${id}.qcow2`, 0x10);
  const shared = lab.path(`${id}-shared.vmdk`);
  qemuImgSync(['create', '-q', '-f', 'vmdk', '--', shared, '8M']);
  const sharedDisk = `    <disk type='file' device='disk'>
      <driver name='qemu' type='vmdk'/>
      <source file='${escapeXml(shared)}'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
  </devices>`;
  const xml = buildDomainXml({ name: lab.prefix + id, disks: [{ target: 'vda', file: base, format: 'qcow2' }] }).replace('  </devices>', sharedDisk);
  const vm = await lab.defineXml(id, xml);
  lab.snapshot(vm, 's1', ['--diskspec', 'vda,snapshot=external', '--diskspec', 'vdb,snapshot=no']);
  return { vm, shared };
}

/** Whether libvirt has a domain of that name. */
export function domainExists(name: string): boolean {
  try {
    virshSync(['domuuid', '--domain', name]);
    return true;
  } catch {
    return false;
  }
}

/** The MAC addresses of a domain's network cards, per its persistent definition. */
export function macsOf(name: string): string[] {
  return [...virshSync(['dumpxml', '--domain', name, '--inactive']).matchAll(/<mac address='([^']+)'/g)].map((m) => m[1] ?? '');
}

/** The domain's UEFI variable store, per its persistent definition; null when it has none. */
export function nvramOfDomain(name: string): string | null {
  const xml = virshSync(['dumpxml', '--domain', name, '--inactive']);
  return /<nvram[^>]*>([^<]+)<\/nvram>/.exec(xml)?.[1]?.trim() ?? null;
}
