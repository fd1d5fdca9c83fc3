/**
 * Finds loose tips: qcow2 files in a chain's directories that grow from one of its layers but that no domain,
 * snapshot or branch record names. They are shown and adoptable, never deleted silently. A file there that
 * cannot be read (a name that is not valid UTF-8, no permission, a broken header) could be such a tip: it is
 * reported, and the domains with a layer in that directory are frozen for writes (see `scan-libvirt.ts`).
 */
import { dirname } from 'node:path';
import type { Layer } from '../../shared/model';
import { listDirectory, reportUnreadableFile, type Entry } from './file-checks';
import { resolveBackingName, type LayerReader } from './layers';

/** Per scan and directory: which files back onto which canonical path. */
const indexes = new WeakMap<LayerReader, Map<string, Promise<Map<string, string[]>>>>();

/** Indexes a directory's qcow2 files by their backing file, reading each header once per scan. */
function childIndex(reader: LayerReader, dir: string): Promise<Map<string, string[]>> {
  let perDir = indexes.get(reader);
  if (perDir === undefined) {
    perDir = new Map();
    indexes.set(reader, perDir);
  }
  let pending = perDir.get(dir);
  if (pending === undefined) {
    pending = buildIndex(reader, dir);
    perDir.set(dir, pending);
  }
  return pending;
}

async function buildIndex(reader: LayerReader, dir: string): Promise<Map<string, string[]>> {
  const index = new Map<string, string[]>();
  const entries = await listDirectory(reader, dir).catch((): Entry[] => []);
  for (const entry of entries) {
    if (entry.type !== 'file' && entry.type !== 'link') continue;
    const file = entry.path;
    const header = reader.header(file);
    if (header === null) reportUnreadableFile(reader, file);
    if (header === null || header.backingName === null || header.backingFormat === null) continue;
    const named = resolveBackingName(file, header.backingName);
    const backing = named === null ? null : reader.canonical(named);
    if (backing === null) continue;
    index.set(backing, [...(index.get(backing) ?? []), file]);
  }
  return index;
}

/**
 * Returns the canonical paths of the loose tips that grow from `own` (and from each other), reading them
 * into `reader`. Files in `claimed` belong to some domain already and are never loose. `claimMore`, when given,
 * adds to `claimed` what the domains left out of the scan use: called once, only when a tip turns up.
 */
export async function findLooseTips(reader: LayerReader, own: Record<string, Layer>, claimed: Set<string>, claimMore?: () => Promise<void>): Promise<string[]> {
  const members = new Set(Object.keys(own));
  const dirs = [...new Set([...members].map((p) => dirname(p)))];
  const indexesOfDirs = await Promise.all(dirs.map((dir) => childIndex(reader, dir)));
  const found: string[] = [];
  const queue = [...members];
  while (queue.length > 0) {
    const parent = queue.pop() as string;
    for (const index of indexesOfDirs) {
      for (const child of index.get(parent) ?? []) {
        if (members.has(child) || claimed.has(child)) continue;
        if (claimMore !== undefined) {
          await claimMore();
          if (claimed.has(child)) continue;
        }
        const real = await reader.read(child, 'qcow2');
        if (real === null || members.has(real) || claimed.has(real)) continue;
        members.add(real);
        found.push(real);
        queue.push(real);
      }
    }
  }
  return found;
}
