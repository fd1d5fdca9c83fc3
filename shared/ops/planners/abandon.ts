/**
 * What leaving some tips behind frees (discarding the current state, deleting a branch): the layers nothing else
 * needs and the snapshots whose saved state is only there, and the steps that let them go.
 */
import type { Domain } from '../../model';
import { basename } from '../../paths';
import { dependantsOf } from '../dependants';
import type { Step } from '../plan';
import type { PlanContext } from './context';
import { deleteRecordStep, redefineStep, trashStep } from './steps';

/** What abandoning some tips frees: layers nothing else needs, and the snapshots whose saved state is only there. */
export interface Abandoned {
  layers: string[];
  snapshots: string[];
  /** Kept snapshots whose record names a trashed file as its overlay, and the file to name instead. */
  renamed: Array<{ snapshot: string; replace: Record<string, string> }>;
}

/** Walks down from each tip, collecting the layers whose every dependant is itself abandoned (see `abandon`). */
function freeLayers(ctx: PlanContext, domain: Domain, tips: string[], keep: Set<string>): Set<string> {
  const layers = new Set<string>();
  for (const tip of tips) {
    for (let at: string | null = tip; at !== null && !keep.has(at) && !layers.has(at); at = domain.layers[at]?.backing ?? null) {
      const path: string = at;
      const free = dependantsOf(ctx.scan, path).every(
        (d) => (d.kind === 'layer' && layers.has(d.name)) || (d.domain === domain.name && (d.kind === 'snapshot' || tips.includes(path))),
      );
      if (!free) break;
      layers.add(path);
    }
  }
  return layers;
}

/**
 * One pass over the kept snapshots: a collected layer holding a kept snapshot's saved state stays with everything
 * below it; a kept snapshot naming a collected layer as its overlay is renamed to another child of its saved state
 * (`newOverlays` first), or, when there is none, that layer and everything below it stay. Returns whether
 * `layers` shrank, and the renames.
 */
function keepPass(domain: Domain, layers: Set<string>, goes: (name: string) => boolean, newOverlays: Record<string, string>): { changed: boolean; renamed: Abandoned['renamed'] } {
  let changed = false;
  const release = (path: string) => {
    for (let at: string | null = path; at !== null && layers.has(at); at = domain.layers[at]?.backing ?? null) layers.delete(at);
    changed = true;
  };
  const kept = domain.snapshots.filter((s) => !goes(s.name));
  for (const snap of kept) for (const disk of snap.disks) if (disk.stateLayer !== null && layers.has(disk.stateLayer)) release(disk.stateLayer);
  const renamed: Abandoned['renamed'] = [];
  for (const snap of kept) {
    const replace: Record<string, string> = {};
    for (const disk of snap.disks) {
      if (disk.overlay === null || !layers.has(disk.overlay)) continue;
      const replacement = newOverlays[disk.target] ?? Object.values(domain.layers).find((l) => l.backing === disk.stateLayer && !layers.has(l.path))?.path;
      if (replacement !== undefined) replace[disk.overlay] = replacement;
      else release(disk.overlay);
    }
    if (Object.keys(replace).length > 0) renamed.push({ snapshot: snap.name, replace });
  }
  return { changed, renamed };
}

/**
 * Walks down from each tip and collects the layers whose every dependant is itself abandoned (a layer above it,
 * the abandoned disk or branch, a snapshot of this domain whose saved state goes too), stopping at a layer in
 * `keep` or one something else needs; then keeps what kept snapshots need (`keepPass`) until nothing changes.
 */
export function abandon(ctx: PlanContext, domain: Domain, tips: string[], keep: Set<string>, newOverlays: Record<string, string> = {}): Abandoned {
  const layers = freeLayers(ctx, domain, tips, keep);
  const goes = (name: string): boolean =>
    domain.snapshots.find((s) => s.name === name)?.disks.every((d) => d.stateLayer === null || layers.has(d.stateLayer)) ?? false;
  let pass = keepPass(domain, layers, goes, newOverlays);
  while (pass.changed) pass = keepPass(domain, layers, goes, newOverlays);
  const snapshots = domain.snapshots.filter((s) => s.disks.some((d) => d.stateLayer !== null) && goes(s.name)).map((s) => s.name);
  return { layers: [...layers], snapshots, renamed: pass.renamed };
}

/** How many ancestors a snapshot has: children are deleted before their parents. */
function depthOf(domain: Domain, name: string): number {
  let n = 0;
  for (let s = domain.snapshots.find((x) => x.name === name); s?.parent; s = domain.snapshots.find((x) => x.name === s?.parent)) n++;
  return n;
}

/** Steps that rename kept snapshots' overlays, delete the abandoned snapshots' records (children first) and trash the abandoned layers. */
export function dropSteps(domain: Domain, dropped: Abandoned): Step[] {
  const steps: Step[] = dropped.renamed.map(({ snapshot, replace }) =>
    redefineStep(domain.name, snapshot, replace, undefined, `Update the record of snapshot ${snapshot}: the file that takes the changes after it is now ${Object.values(replace).map(basename).join(', ')}.`),
  );
  // An image folder has no snapshot records: its "snapshots" are the images, which the trash steps move.
  for (const name of domain.state === 'folder' ? [] : [...dropped.snapshots].sort((a, b) => depthOf(domain, b) - depthOf(domain, a))) {
    steps.push(deleteRecordStep(domain.name, name, `Delete libvirt's record of snapshot ${name}: its saved state was only on the state you leave.`));
  }
  steps.push(...dropped.layers.map(trashStep));
  return steps;
}
