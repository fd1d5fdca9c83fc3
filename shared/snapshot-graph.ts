/**
 * The snapshot view of a domain as plain nodes: one per snapshot and one per branch tip, each with its parent.
 * The renderer lays these out and the CLI prints them; both read the same structure.
 */
import type { Branch, Domain, Snapshot } from './model';
import { loopCuts } from './parent-loops';

export interface GraphNode {
  id: string;
  kind: 'snapshot' | 'branch';
  name: string;
  parentId: string | null;
  /** "You are here": the domain's current disks, or libvirt's current snapshot when drawn as a marker. */
  current: boolean;
  /** Bytes held by this node's own layers: a snapshot's saved-state layers, a branch's tip files. */
  size: number;
  snapshot?: Snapshot;
  branch?: Branch;
}

export const snapshotNodeId = (name: string): string => `s:${name}`;
export const branchNodeId = (name: string): string => `b:${name}`;

function sizeOf(domain: Domain, paths: Array<string | null>): number {
  let total = 0;
  for (const path of new Set(paths)) if (path !== null) total += domain.layers[path]?.actualSize ?? 0;
  return total;
}

/** Builds the nodes of a domain's snapshot graph; parent links never loop. */
export function snapshotGraph(domain: Domain): GraphNode[] {
  const names = new Set(domain.snapshots.map((s) => s.name));
  const nodes: GraphNode[] = domain.snapshots.map((snapshot) => ({
    id: snapshotNodeId(snapshot.name),
    kind: 'snapshot',
    name: snapshot.name,
    parentId: snapshot.parent !== null && names.has(snapshot.parent) ? snapshotNodeId(snapshot.parent) : null,
    current: false,
    size: sizeOf(
      domain,
      snapshot.disks.map((d) => d.stateLayer),
    ),
    snapshot,
  }));
  const used = new Set(nodes.map((n) => n.id));
  for (const branch of domain.branches) {
    let id = branchNodeId(branch.name);
    for (let n = 2; used.has(id); n++) id = branchNodeId(`${branch.name}#${n}`);
    used.add(id);
    nodes.push({
      id,
      kind: 'branch',
      name: branch.name,
      parentId: branch.base !== null && names.has(branch.base) ? snapshotNodeId(branch.base) : null,
      current: branch.current,
      size: sizeOf(
        domain,
        branch.tips.map((t) => t.file),
      ),
      branch,
    });
  }
  // Assembly already cut libvirt's loops of parents; a model from elsewhere may not have, and a loop would make
  // every walk over the nodes endless. Cut here too, the same way.
  const parentOf = new Map(nodes.map((n) => [n.id, n.parentId]));
  const cuts = new Set(loopCuts(parentOf.keys(), (id) => parentOf.get(id) ?? null));
  for (const node of nodes) if (cuts.has(node.id)) node.parentId = null;
  return nodes;
}

/** Human-readable bytes: `512 B`, `3.0 MiB`, `1.2 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
