/**
 * Checks of the safety rules (docs/safety.md) for engine tests, made with the real tools: guest-visible bytes of every
 * snapshot state and branch tip (raw exports compared with `qemu-img compare`), files untouched, records pointing at
 * real files, and the domain still starting.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Domain, Source } from '../../shared/model';
import type { Intent } from '../../shared/ops/plan';
import type { Engine } from '../engine';
import { branchNodeId, snapshotNodeId } from '../../shared/snapshot-graph';
import { qemuImgCompare } from '../tools/qemu-img';
import { qemuImgSync, virshSync } from './lab';

/** Each node's view per disk, keyed "node/disk": a snapshot's saved state, a branch's tip. */
export function nodeViews(domain: Domain): Record<string, string> {
  const out: Record<string, string> = {};
  for (const snap of domain.snapshots) {
    for (const disk of snap.disks) if (disk.stateLayer !== null) out[`${snapshotNodeId(snap.name)}/${disk.target}`] = disk.stateLayer;
  }
  for (const branch of domain.branches) for (const tip of branch.tips) out[`${branchNodeId(branch.name)}/${tip.target}`] = tip.file;
  return out;
}

/** Exports every node's guest view to a raw file in `dir`; returns node/disk → export. */
export function exportViews(domain: Domain, dir: string): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  const out: Record<string, string> = {};
  for (const [key, file] of Object.entries(nodeViews(domain))) {
    const target = join(dir, `${key.replace(/[^\w.-]/g, '_')}.raw`);
    qemuImgSync(['convert', '-U', '-f', domain.layers[file]?.format ?? 'qcow2', '-O', 'raw', '--', file, target]);
    out[key] = target;
  }
  return out;
}

/** Every node of `before` not in `changed` reads the same bytes now. */
export async function expectSameViews(domain: Domain, before: Record<string, string>, changed: string[] = []): Promise<void> {
  const now = nodeViews(domain);
  for (const [key, exported] of Object.entries(before)) {
    if (changed.some((c) => key.startsWith(`${c}/`))) continue;
    const file = now[key];
    expect(file, `${key} still exists`).toBeDefined();
    // Read shared (-U): a running VM holds its chain; it writes nothing while the test looks (it has no OS).
    const { identical: same } = await qemuImgCompare({ path: exported, format: 'raw' }, { path: file as string, format: domain.layers[file as string]?.format ?? 'qcow2' }, true);
    expect(same, `${key} reads the same bytes`).toBe(true);
  }
}

/**
 * Every file whose bytes make up the domain's layers: the images, and the external data files (absolute names
 * that exist) holding the guest data of those that have one. The byte-identity checks cover both.
 */
export function filesOf(domain: Domain): string[] {
  return [...Object.keys(domain.layers), ...Object.values(dataFilesOf(domain))];
}

/** Image → its external data file, for the layers whose data file is a file the scan found. */
export function dataFilesOf(domain: Domain): Record<string, string> {
  const out: Record<string, string> = {};
  for (const layer of Object.values(domain.layers)) if (layer.dataFile?.exists === true) out[layer.path] = layer.dataFile.path;
  return out;
}

export async function checksums(paths: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const path of paths) out[path] = createHash('sha256').update(await readFile(path)).digest('hex');
  return out;
}

/** Every file named by any snapshot record of the domain (its disks and its saved definition) exists. */
export function expectSnapshotRecordsTrue(domain: string): void {
  const names = virshSync(['snapshot-list', '--domain', domain, '--name']).split('\n').filter(Boolean);
  for (const name of names) {
    const xml = virshSync(['snapshot-dumpxml', '--domain', domain, '--snapshotname', name]);
    for (const match of xml.matchAll(/<source file='([^']+)'/g)) {
      const file = unescapeXml(match[1] as string);
      expect(existsSync(file), `${name} names ${file}`).toBe(true);
    }
  }
}

/** The domain's definition points at files whose chains resolve: it starts. */
export function expectStarts(domain: string): void {
  virshSync(['start', '--domain', domain]);
  virshSync(['destroy', '--domain', domain]);
}

/** The active file of a disk, per libvirt. */
export function diskSource(domain: string, target: string): string {
  const xml = virshSync(['dumpxml', '--domain', domain, '--inactive']);
  const disk = [...xml.matchAll(/<disk[\s\S]*?<\/disk>/g)].map((m) => m[0]).find((d) => d.includes(`dev='${target}'`));
  return unescapeXml(/<source file='([^']+)'/.exec(disk ?? '')?.[1] ?? '');
}

function unescapeXml(text: string): string {
  return text.replace(/&(apos|quot|lt|gt|amp);/g, (_m, e: string) => ({ apos: "'", quot: '"', lt: '<', gt: '>', amp: '&' })[e] ?? '');
}

/** The backing file of a qcow2 overlay, as qemu-img reports it. */
export function backingOf(file: string): string | null {
  const info = JSON.parse(qemuImgSync(['info', '-U', '-f', 'qcow2', '--output=json', '--', file])) as { 'full-backing-filename'?: string };
  return info['full-backing-filename'] ?? null;
}

/**
 * docs/safety.md, rules 1 and 2: every file the plan does not name as written or trashed kept its exact bytes. With
 * `dataFiles` (`dataFilesOf`), a named image names its external data file too: the guest data written lives there.
 */
export async function expectUntouched(
  before: Record<string, string>,
  plan: { impact: { written: string[]; trashed: string[] } },
  dataFiles: Record<string, string> = {},
): Promise<void> {
  const images = [...plan.impact.written, ...plan.impact.trashed];
  const named = new Set([...images, ...images.flatMap((p) => (dataFiles[p] !== undefined ? [dataFiles[p]] : []))]);
  const kept = Object.keys(before).filter((p) => !named.has(p));
  expect(await checksums(kept)).toEqual(Object.fromEntries(kept.map((p) => [p, before[p]])));
}

/** libvirt's idea of each snapshot's parent is the model's. */
export function expectParentsAgree(domain: Domain): void {
  for (const snap of domain.snapshots) {
    let parent: string | null = null;
    try {
      parent = virshSync(['snapshot-parent', '--domain', domain.name, '--snapshotname', snap.name]).trim() || null;
    } catch {
      parent = null;
    }
    expect(parent, `parent of ${snap.name}`).toBe(snap.parent);
  }
}

/** Plans and applies, then checks rules 1, 2 and 4 of docs/safety.md: only the named files changed; records agree. */
export async function applyChecked(engine: Engine, source: Source, intent: Intent): Promise<Domain> {
  const scanned = await engine.scanDomain(source, intent.domain);
  const before = await checksums(filesOf(scanned));
  const planned = await engine.plan(source, intent);
  if (!planned.ok) throw new Error(`refused: ${planned.refusal.code} ${planned.refusal.message}`);
  const result = await engine.apply(planned.plan);
  if (result.status !== 'done' || result.domain === null) throw new Error(`not done: ${result.status}`);
  await expectUntouched(before, planned.plan, dataFilesOf(scanned));
  expectParentsAgree(result.domain);
  expectSnapshotRecordsTrue(intent.domain);
  return result.domain;
}
