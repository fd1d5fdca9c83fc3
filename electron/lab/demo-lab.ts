/**
 * The built-in demo: a throwaway lab in a temp folder shaped like the seed diagram, with real data in every
 * layer. base → snap1 → snap2 → snap3 → current state, and a branch "experiment" forked at snap1. Where a
 * libvirt daemon is reachable and writable, a shut-off domain `snaptree-demo` is defined over the same files
 * with matching snapshots (redefined from XML, so the files stay exactly as built).
 *
 * Several demos may run on one daemon at once (two `serve --demo`, a test beside a user's demo): each defines
 * a domain under a fresh UUID, which libvirt refuses when the name is taken, and then takes the next free
 * name (`snaptree-demo-2`, …). Every later call names the domain by that UUID, so an instance only ever
 * touches, and removes, the domain it created.
 */
import { randomUUID } from 'node:crypto';
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
/** Names tried before the demo settles for the image folder alone. */
const DEMO_NAMES = 20;
const MiB = 1024 * 1024;

export interface DemoLab {
  dir: string;
  /** Whether the libvirt domain was defined. */
  domain: boolean;
  /** The domain's name and UUID, when it was defined. */
  domainName: string | null;
  domainUuid: string | null;
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

/** Whether a define failed only because another domain has that name. */
function nameTaken(error: unknown): boolean {
  return /already exists/i.test(String((error as { details?: { stderr?: unknown } }).details?.stderr ?? (error as Error).message));
}

/** Defines the domain under a fresh UUID with the first free demo name; returns the name it got. */
async function defineFresh(virsh: Virsh, dir: string, uuid: string): Promise<string> {
  const xmlFile = join(dir, 'snaptree-demo.xml');
  for (let n = 1; n <= DEMO_NAMES; n++) {
    const name = n === 1 ? DEMO_DOMAIN : `${DEMO_DOMAIN}-${n}`;
    await writeFile(xmlFile, buildDomainXml({ name, uuid, disks: [{ target: 'vda', file: join(dir, 'base.qcow2'), format: 'qcow2' }] }));
    try {
      await virsh.run(['define', '--file', xmlFile]);
      return name;
    } catch (error) {
      if (!nameTaken(error)) throw error;
    }
  }
  throw new Error(`the names ${DEMO_DOMAIN} to ${DEMO_DOMAIN}-${DEMO_NAMES} are all taken`);
}

/** Gives the defined domain its snapshots and branch record; every call names it by its UUID. */
async function furnishDemoDomain(virsh: Virsh, dir: string, uuid: string): Promise<void> {
  const at = (file: string) => join(dir, file);
  const xmlFile = at('snaptree-demo.xml');
  // Each snapshot saves the definition as it was when taken: the disk on that snapshot's saved state.
  const defined = await virsh.run(['dumpxml', '--domain', uuid, '--inactive']);
  const onDisk = (file: string) => defined.replace(escapeXml(at('base.qcow2')), escapeXml(at(file)));
  for (const [i, snap] of SNAPSHOTS.entries()) {
    const file = at(`${snap.name}.xml`);
    await writeFile(file, snapshotXml(dir, snap, onDisk(snap.state)));
    const current = i === SNAPSHOTS.length - 1 ? ['--current'] : [];
    await virsh.run(['snapshot-create', '--domain', uuid, '--xmlfile', file, '--redefine', ...current]);
  }
  await writeFile(xmlFile, onDisk('base.snap3'));
  await virsh.run(['define', '--file', xmlFile]);
  await virsh.run([
    'metadata', '--domain', uuid, '--config', '--uri', SNAPTREE_NS, '--key', SNAPTREE_KEY, '--set',
    `<branches><branch name="experiment"><tip target="vda" file="${escapeXml(at('base.experiment'))}"/></branch></branches>`,
  ]);
}

/** Removes the domain this lab defined, found by its UUID: never another of the same name. */
async function removeDemoDomain(virsh: Virsh, uuid: string): Promise<void> {
  await virsh.run(['undefine', '--domain', uuid, '--snapshots-metadata']).catch(() => undefined);
}

/** Builds the lab; with a virsh connection, also the libvirt domain. */
export async function createDemoLab(virsh: Virsh | null): Promise<DemoLab> {
  const dir = await mkdtemp(join(tmpdir(), DEMO_DIR_PREFIX));
  await buildImages(dir);
  const sources: SourceEntry[] = [];
  let domainName: string | null = null;
  let skipped: string | null = virsh === null ? 'No libvirt connection was available.' : null;
  const uuid = randomUUID();
  if (virsh !== null) {
    try {
      domainName = await defineFresh(virsh, dir, uuid);
      await furnishDemoDomain(virsh, dir, uuid);
      sources.push({ id: 'demo-libvirt', label: `Demo VM on ${virsh.uri}`, source: { kind: 'libvirt', uri: virsh.uri }, demo: true, focus: domainName });
    } catch (error) {
      skipped = `libvirt is not writable here: ${(error as Error).message}`;
      if (domainName !== null) await removeDemoDomain(virsh, uuid);
      domainName = null;
    }
  }
  const domain = domainName !== null;
  sources.push({ id: 'demo-folder', label: 'Demo image folder', source: { kind: 'folder', path: dir }, demo: true });

  return {
    dir,
    domain,
    domainName,
    domainUuid: domain ? uuid : null,
    skipped,
    sources,
    async dispose() {
      if (domain && virsh !== null) await removeDemoDomain(virsh, uuid);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
