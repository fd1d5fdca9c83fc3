/**
 * Finds loose tips: qcow2 files in a chain's directories that grow from one of its layers but that no domain,
 * snapshot or branch record names. They are shown and adoptable, never deleted silently.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Layer } from '../../shared/model';
import { canonical, resolveBackingName, type LayerReader } from './layers';

const listings = new WeakMap<LayerReader, Map<string, Promise<string[]>>>();

/** Lists a directory's entries once per scan. */
function list(reader: LayerReader, dir: string): Promise<string[]> {
  let cache = listings.get(reader);
  if (cache === undefined) {
    cache = new Map();
    listings.set(reader, cache);
  }
  let pending = cache.get(dir);
  if (pending === undefined) {
    pending = readdir(dir, { withFileTypes: true })
      .then((entries) => entries.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => join(dir, e.name)))
      .catch(() => []);
    cache.set(dir, pending);
  }
  return pending;
}

/**
 * Returns the canonical paths of the loose tips that grow from `own` (and from each other), reading them
 * into `reader`. Files in `claimed` belong to some domain already and are never loose.
 */
export async function findLooseTips(reader: LayerReader, own: Record<string, Layer>, claimed: Set<string>): Promise<string[]> {
  const members = new Set(Object.keys(own));
  const found: string[] = [];
  const dirs = new Set([...members].map((p) => dirname(p)));
  let grew = true;
  while (grew) {
    grew = false;
    for (const dir of dirs) {
      for (const entry of await list(reader, dir)) {
        if (members.has(entry) || claimed.has(entry)) continue;
        const header = await reader.header(entry);
        if (header === null || header.backingName === null || header.backingFormat === null) continue;
        const backing = await canonical(resolveBackingName(entry, header.backingName));
        if (backing === null || !members.has(backing)) continue;
        const real = await reader.read(entry, 'qcow2');
        if (real === null || members.has(real) || claimed.has(real)) continue;
        members.add(real);
        found.push(real);
        grew = true;
      }
    }
  }
  return found;
}
