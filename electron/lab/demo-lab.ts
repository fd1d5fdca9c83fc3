/**
 * The built-in demo: a throwaway lab in a temp folder shaped like the seed diagram, with real data in every
 * layer. base → snap1 → snap2 → snap3 → current state, and a branch "experiment" forked at snap1. Where a
 * libvirt daemon is reachable and writable, a shut-off domain `snaptree-demo` is defined over the same files
 * with matching snapshots (redefined from XML, so the files stay exactly as built).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SourceEntry } from '../../shared/contract';
import { SNAPTREE_KEY, SNAPTREE_NS } from '../scan/libvirt-xml';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';
import type { Virsh } from '../tools/virsh';
import { buildDomainXml, escapeXml } from './domain-xml';

export const DEMO_DOMAIN = 'snaptree-demo';
const DEMO_DIR_PREFIX = 'snaptree-demo-';
const MiB = 1024 * 1024;

export interface DemoLab {
  dir: string;
  /** Whether the libvirt domain was defined. */
  domain: boolean;
  /** Why the libvirt part was skipped, when it was. */
  skipped: string | null;
  sources: SourceEntry[];
  dispose(): Promise<void>;
}

/** One layer of the lab: the file, what it backs onto, and the bytes a guest wrote into it. */
interface LabLayer {
  file: string;
  backing: string | null;
  write: { pattern: number; offset: number; length: number };
}

const LAYERS: LabLayer[] = [
  { file: 'base.qcow2', backing: null, write: { pattern: 0x11, offset: 0, length: 24 * MiB } },
  { file: 'base.snap1', backing: 'base.qcow2', write: { pattern: 0x22, offset: 24 * MiB, length: 12 * MiB } },
  { file: 'base.snap2', backing: 'base.snap1', write: { pattern: 0x33, offset: 36 * MiB, length: 8 * MiB } },
  { file: 'base.snap3', backing: 'base.snap2', write: { pattern: 0x44, offset: 44 * MiB, length: 3 * MiB } },
  { file: 'base.experiment', backing: 'base.qcow2', write: { pattern: 0x66, offset: 24 * MiB, length: 6 * MiB } },
];

/** The snapshots: each took over the disk with `overlay`, leaving `state` as its saved state. */
const SNAPSHOTS = [
  { name: 'snap1', parent: null, state: 'base.qcow2', overlay: 'base.snap1', daysAgo: 9, description: 'Fresh install' },
  { name: 'snap2', parent: 'snap1', state: 'base.snap1', overlay: 'base.snap2', daysAgo: 5, description: 'Packages updated' },
  { name: 'snap3', parent: 'snap2', state: 'base.snap2', overlay: 'base.snap3', daysAgo: 1, description: 'Before the schema migration' },
];

async function buildImages(dir: string): Promise<void> {
  for (const layer of LAYERS) {
    const path = join(dir, layer.file);
    if (layer.backing === null) await qemuImgCreate(path, { size: 256 * MiB });
    else await qemuImgCreate(path, { backing: { path: join(dir, layer.backing), format: 'qcow2' } });
    await writePattern(path, 'qcow2', layer.write.pattern, layer.write.offset, layer.write.length);
  }
}

function snapshotXml(dir: string, snap: (typeof SNAPSHOTS)[number], domainXml: string): string {
  const created = Math.floor(Date.now() / 1000) - snap.daysAgo * 86400;
  const parent = snap.parent === null ? '' : `<parent><name>${snap.parent}</name></parent>`;
  return `<domainsnapshot>
  <name>${snap.name}</name>
  <description>${escapeXml(snap.description)}</description>
  <state>shutoff</state>
  ${parent}
  <creationTime>${created}</creationTime>
  <memory snapshot='no'/>
  <disks>
    <disk name='vda' snapshot='external' type='file'>
      <driver type='qcow2'/>
      <source file='${escapeXml(join(dir, snap.overlay))}'/>
    </disk>
  </disks>
  ${domainXml}
</domainsnapshot>`;
}

/** Removes a demo domain left behind by an earlier run; never touches a domain of that name that is not ours. */
async function clearStaleDemo(virsh: Virsh): Promise<string | null> {
  let xml: string;
  try {
    xml = await virsh.run(['dumpxml', '--domain', DEMO_DOMAIN, '--inactive']);
  } catch {
    return null;
  }
  const sources = [...xml.matchAll(/<source file='([^']+)'/g)].map((m) => m[1] ?? '');
  const ours = sources.length > 0 && sources.every((s) => s.startsWith(join(tmpdir(), DEMO_DIR_PREFIX)));
  if (!ours) return `A domain named ${DEMO_DOMAIN} already exists and is not a demo lab; it was left alone.`;
  await virsh.run(['destroy', '--domain', DEMO_DOMAIN]).catch(() => undefined);
  await virsh.run(['undefine', '--domain', DEMO_DOMAIN, '--snapshots-metadata']);
  return null;
}

async function defineDemoDomain(virsh: Virsh, dir: string): Promise<void> {
  const at = (file: string) => join(dir, file);
  const xmlFile = at('snaptree-demo.xml');
  await writeFile(xmlFile, buildDomainXml({ name: DEMO_DOMAIN, disks: [{ target: 'vda', file: at('base.qcow2'), format: 'qcow2' }] }));
  await virsh.run(['define', '--file', xmlFile]);
  // Each snapshot saves the definition as it was when taken: the disk on that snapshot's saved state.
  const defined = await virsh.run(['dumpxml', '--domain', DEMO_DOMAIN, '--inactive']);
  const onDisk = (file: string) => defined.replace(escapeXml(at('base.qcow2')), escapeXml(at(file)));
  for (const [i, snap] of SNAPSHOTS.entries()) {
    const file = at(`${snap.name}.xml`);
    await writeFile(file, snapshotXml(dir, snap, onDisk(snap.state)));
    const current = i === SNAPSHOTS.length - 1 ? ['--current'] : [];
    await virsh.run(['snapshot-create', '--domain', DEMO_DOMAIN, '--xmlfile', file, '--redefine', ...current]);
  }
  await writeFile(xmlFile, onDisk('base.snap3'));
  await virsh.run(['define', '--file', xmlFile]);
  await virsh.run([
    'metadata', '--domain', DEMO_DOMAIN, '--config', '--uri', SNAPTREE_NS, '--key', SNAPTREE_KEY, '--set',
    `<branches><branch name="experiment"><tip target="vda" file="${escapeXml(at('base.experiment'))}"/></branch></branches>`,
  ]);
}

/** Builds the lab; with a virsh connection, also the libvirt domain. */
export async function createDemoLab(virsh: Virsh | null): Promise<DemoLab> {
  const dir = await mkdtemp(join(tmpdir(), DEMO_DIR_PREFIX));
  await buildImages(dir);
  const sources: SourceEntry[] = [];
  let domain = false;
  let skipped: string | null = virsh === null ? 'No libvirt connection was available.' : null;
  if (virsh !== null) {
    try {
      skipped = await clearStaleDemo(virsh);
      if (skipped === null) {
        await defineDemoDomain(virsh, dir);
        domain = true;
        sources.push({ id: 'demo-libvirt', label: `Demo VM on ${virsh.uri}`, source: { kind: 'libvirt', uri: virsh.uri }, demo: true, focus: DEMO_DOMAIN });
      }
    } catch (error) {
      skipped = `libvirt is not writable here: ${(error as Error).message}`;
      await virsh.run(['undefine', '--domain', DEMO_DOMAIN, '--snapshots-metadata']).catch(() => undefined);
    }
  }
  sources.push({ id: 'demo-folder', label: 'Demo image folder', source: { kind: 'folder', path: dir }, demo: true });

  return {
    dir,
    domain,
    skipped,
    sources,
    async dispose() {
      if (domain && virsh !== null) {
        await virsh.run(['undefine', '--domain', DEMO_DOMAIN, '--snapshots-metadata']).catch(() => undefined);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
