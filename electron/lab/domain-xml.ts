/**
 * Builds minimal domain definitions for labs: a TCG guest with no OS, 64 MiB, one or more virtio disks and an
 * optional CD-ROM. It starts in well under a second, which is all the demo and the tests need.
 */

export interface LabDisk {
  target: string;
  file: string;
  format: 'qcow2' | 'raw';
}

export interface LabDomain {
  name: string;
  /** Fixes the domain's UUID, so that defining it cannot replace another domain of the same name. */
  uuid?: string;
  disks: LabDisk[];
  /** Adds an empty IDE CD-ROM drive, which the app shows as not managed. */
  cdrom?: boolean;
  /** Adds a channel for QEMU's guest agent (with no guest OS, nothing ever connects to it). */
  agent?: boolean;
}

/** Escapes text for an XML attribute or element. */
export function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function buildDomainXml(domain: LabDomain): string {
  const disks = domain.disks
    .map(
      (d) => `    <disk type='file' device='disk'>
      <driver name='qemu' type='${d.format}'/>
      <source file='${escapeXml(d.file)}'/>
      <target dev='${escapeXml(d.target)}' bus='virtio'/>
    </disk>`,
    )
    .join('\n');
  const cdrom = domain.cdrom
    ? `
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>`
    : '';
  const agent = domain.agent
    ? `
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>`
    : '';
  return `<domain type='qemu'>
  <name>${escapeXml(domain.name)}</name>${domain.uuid !== undefined ? `\n  <uuid>${escapeXml(domain.uuid)}</uuid>` : ''}
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
${disks}${cdrom}${agent}
  </devices>
</domain>
`;
}
