/**
 * Builds the libvirt hosts the scan benchmark reads: domains whose disks are real qcow2 chains and whose external
 * snapshots are redefined over those files, as a host that took them would hold them (docs/model.md: a snapshot's
 * saved state is the file its disk used when it was taken; the file that took over is its overlay).
 *
 * A shape gives each snapshot's parent. Snapshot k's saved state is built on its parent's saved state; where the
 * parent is the snapshot just before it, that file is the parent's overlay (a chain), else a file of its own (the
 * run after a revert to the parent: a fork). The domain's disks end on the last snapshot's overlay.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import pLimit from 'p-limit';
import { buildDomainXml, escapeXml } from '../electron/lab/domain-xml';
import { runChecked, type HostRunner } from '../electron/tools/host-runner';
import { shellQuote } from '../electron/tools/ssh-runner';
import type { Virsh } from '../electron/tools/virsh';

export interface HostShape {
  /** Short label used in file names and in the report. */
  label: string;
  domains: number;
  snapshots: number;
  disks: string[];
  /** Parent of snapshot k (1-based), or null for the root. */
  parent: (k: number) => number | null;
}

/** Files of one disk of one domain: base, saved states and overlays, each with the file it is built on. */
interface DiskFiles {
  base: string;
  saved: string[];
  overlay: string[];
  /** Every file to create after the base, in an order where backing files come first. */
  creates: Array<{ path: string; backing: string }>;
}

function diskFiles(dir: string, prefix: string, shape: HostShape): DiskFiles {
  const base = join(dir, `${prefix}.qcow2`);
  const saved: string[] = [];
  const overlay: string[] = [];
  const creates: Array<{ path: string; backing: string }> = [];
  for (let k = 1; k <= shape.snapshots; k++) {
    const p = shape.parent(k);
    let state: string;
    if (p === null) state = base;
    else if (p === k - 1) state = overlay[p - 1] as string;
    else {
      state = join(dir, `${prefix}.r${k}`);
      creates.push({ path: state, backing: saved[p - 1] as string });
    }
    saved.push(state);
    const top = join(dir, `${prefix}.s${k}`);
    overlay.push(top);
    creates.push({ path: top, backing: state });
  }
  return { base, saved, overlay, creates };
}

/**
 * Creates the images: `-u` names the backing file without opening it, so files may be made in any order. On a
 * remote host (`runner`) they are made there, a few hundred commands to one shell over SSH.
 */
async function createImages(files: DiskFiles[], runner?: HostRunner): Promise<void> {
  const commands = [...files.map((f) => [f.base, '1G']), ...files.flatMap((f) => f.creates.map((c) => ['-u', '-b', c.backing, '-F', 'qcow2', c.path, '1G']))].map((args) => [
    'qemu-img',
    'create',
    '-q',
    '-f',
    'qcow2',
    ...args,
  ]);
  if (runner !== undefined) {
    const BATCH = 400;
    for (let at = 0; at < commands.length; at += BATCH) {
      const script = ['set -e', ...commands.slice(at, at + BATCH).map((c) => c.map(shellQuote).join(' '))].join('\n');
      await runChecked(runner, 'sh', ['-c', script]);
    }
    return;
  }
  const limit = pLimit(3);
  await Promise.all(commands.slice(0, files.length).map(([tool = '', ...args]) => limit(() => execa(tool, args))));
  await Promise.all(commands.slice(files.length).map(([tool = '', ...args]) => limit(() => execa(tool, args))));
}

function snapshotXml(k: number, parent: number | null, created: number, disks: Array<{ target: string; overlay: string }>, domainXml: string): string {
  const parentXml = parent === null ? '' : `<parent><name>snap${parent}</name></parent>`;
  const disksXml = disks
    .map((d) => `<disk name='${d.target}' snapshot='external' type='file'><driver type='qcow2'/><source file='${escapeXml(d.overlay)}'/></disk>`)
    .join('');
  return `<domainsnapshot><name>snap${k}</name><state>shutoff</state>${parentXml}
<creationTime>${created}</creationTime><memory snapshot='no'/><disks>${disksXml}</disks>${domainXml}</domainsnapshot>`;
}

/** Defines one domain and redefines its snapshots over the files; its definition ends on the last overlays. */
async function defineDomain(virsh: Virsh, defs: string, name: string, shape: HostShape, files: Map<string, DiskFiles>): Promise<void> {
  const xmlFile = join(defs, `${name}.xml`);
  const uuid = randomUUID();
  const withFiles = (pick: (f: DiskFiles) => string) =>
    buildDomainXml({ name, uuid, disks: shape.disks.map((target) => ({ target, file: pick(files.get(target) as DiskFiles), format: 'qcow2' as const })) });
  await writeFile(xmlFile, withFiles((f) => f.base));
  await virsh.run(['define', '--file', xmlFile]);
  const start = Math.floor(Date.now() / 1000) - shape.snapshots * 3600;
  for (let k = 1; k <= shape.snapshots; k++) {
    const domainXml = withFiles((f) => f.saved[k - 1] as string);
    const overlays = shape.disks.map((target) => ({ target, overlay: (files.get(target) as DiskFiles).overlay[k - 1] as string }));
    const snapFile = join(defs, `${name}-snap${k}.xml`);
    await writeFile(snapFile, snapshotXml(k, shape.parent(k), start + k * 60, overlays, domainXml));
    await virsh.run(['snapshot-create', '--domain', name, '--xmlfile', snapFile, '--redefine', ...(k === shape.snapshots ? ['--current'] : [])]);
  }
  await writeFile(xmlFile, withFiles((f) => f.overlay[shape.snapshots - 1] as string));
  await virsh.run(['define', '--file', xmlFile]);
}

/**
 * Builds a host of this shape; returns the domain names, each starting with `prefix`. The images go to a folder
 * under `dir` on the host `virsh` connects to (through `runner` when that host is another one: `dir` is then a
 * path there); the definitions virsh reads go to a folder under `defs` here (`dir` when not given).
 */
export async function buildHost(virsh: Virsh, dir: string, prefix: string, shape: HostShape, remote?: { runner: HostRunner; defs: string }): Promise<string[]> {
  const names = Array.from({ length: shape.domains }, (_, d) => `${prefix}${shape.label}-${String(d).padStart(2, '0')}`);
  // Each shape is a host of its own: its images folder holds its images only (loose tips are looked for there).
  const images = join(dir, shape.label);
  if (remote !== undefined) await runChecked(remote.runner, 'mkdir', ['-p', '--', images]);
  else await mkdir(images);
  const perDomain = names.map((_, d) => new Map(shape.disks.map((disk) => [disk, diskFiles(images, `d${d}-${disk}`, shape)])));
  await createImages(
    perDomain.flatMap((m) => [...m.values()]),
    remote?.runner,
  );
  // Definitions go to a folder of their own, as on a real host, where the images folder holds images.
  const defs = join(remote?.defs ?? dir, `definitions-${shape.label}`);
  await mkdir(defs);
  for (const [d, name] of names.entries()) await defineDomain(virsh, defs, name, shape, perDomain[d] as Map<string, DiskFiles>);
  return names;
}

/** The three shapes of the issue: 20 domains × 50 snapshots, a chain of 1,000, and 200 branches from one snapshot. */
export function shapes(env: NodeJS.ProcessEnv): { host: HostShape; chain: HostShape; branches: HostShape } {
  const disks = ['vda', 'vdb'];
  const chainOf = (k: number) => (k === 1 ? null : k - 1);
  return {
    host: { label: 'host', domains: Number(env.BENCH_DOMAINS ?? 20), snapshots: Number(env.BENCH_SNAPSHOTS ?? 50), disks, parent: chainOf },
    chain: { label: 'chain', domains: 1, snapshots: Number(env.BENCH_CHAIN ?? 1000), disks, parent: chainOf },
    // Snapshot 1 is the fork; every other snapshot is the first of a branch run from it.
    branches: { label: 'fork', domains: 1, snapshots: Number(env.BENCH_BRANCHES ?? 200) + 1, disks, parent: (k) => (k === 1 ? null : 1) },
  };
}
