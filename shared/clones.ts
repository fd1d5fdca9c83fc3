/**
 * Which other domains build on a domain's snapshots and branches (docs/model.md, "Clones"): a linked clone's
 * overlays are built on the saved state, or the frozen tip, it was cloned from, so the graph can say "used by
 * clone NAME" on that node. Only domains whose clone record names this one count; any other domain on a shared
 * base shows in the file view (file-graph.ts, FileNode.otherDomains).
 */
import { walkChain } from './assemble';
import type { Domain, ScanResult } from './model';
import { perScan } from './ops/per-scan';
import { branchNodeId, snapshotNodeId } from './snapshot-graph';

/** Per domain and layer path, the domains cloned from it (their record says so) with a file of their own built directly on it. */
const foreignUsers = perScan((scan: ScanResult): Map<string, Map<string, Set<string>>> => {
  const byDomain = new Map<string, Map<string, Set<string>>>();
  for (const source of scan.domains) {
    const users = new Map<string, Set<string>>();
    for (const other of scan.domains) {
      if (other.name === source.name || other.cloneOf?.domain !== source.name) continue;
      const add = (path: string) => {
        if (source.layers[path] === undefined) return;
        users.set(path, (users.get(path) ?? new Set()).add(other.name));
      };
      for (const layer of Object.values(other.layers)) if (source.layers[layer.path] === undefined && layer.backing !== null) add(layer.backing);
      for (const disk of other.disks) if (disk.managed && disk.file !== null) add(disk.file);
    }
    byDomain.set(source.name, users);
  }
  return byDomain;
});

/** The layers a branch holds of its own: from each tip down to the first layer that is a snapshot's saved state. */
function ownLayers(domain: Domain, tips: string[], states: Set<string>): string[] {
  const out: string[] = [];
  for (const tip of tips) {
    const seen = new Set<string>();
    for (let at: string | null = tip; at !== null && !states.has(at) && !seen.has(at); at = domain.layers[at]?.backing ?? null) {
      seen.add(at);
      out.push(at);
    }
  }
  return out;
}

/**
 * For the snapshot graph of `domain`: per graph node id (`s:NAME`, `b:NAME`), the clones of `domain` whose files
 * build on that snapshot's saved state, or on the files of that branch (its tips, and the tips it had until they
 * were frozen for a clone), or on a file no node holds that grows from that snapshot (a frozen branch's file once
 * the branch is deleted), sorted by name. Nodes nothing else builds on are absent.
 */
export function cloneUsers(scan: ScanResult, domain: Domain): Map<string, string[]> {
  const users = foreignUsers(scan).get(domain.name) ?? new Map<string, Set<string>>();
  const result = new Map<string, string[]>();
  const gather = (id: string, paths: Array<string | null>) => {
    const names = new Set<string>(result.get(id) ?? []);
    for (const path of paths) if (path !== null) for (const name of users.get(path) ?? []) names.add(name);
    if (names.size > 0) result.set(id, [...names].sort());
  };
  const states = new Set(domain.snapshots.flatMap((s) => s.disks.map((d) => d.stateLayer).filter((p): p is string => p !== null)));
  for (const snapshot of domain.snapshots) gather(snapshotNodeId(snapshot.name), snapshot.disks.map((d) => d.stateLayer));
  const branchLayers = domain.branches.map((branch) => ({ branch, layers: ownLayers(domain, branch.tips.map((t) => t.file), states) }));
  for (const { branch, layers } of branchLayers) gather(branchNodeId(branch.name), layers);
  // A file a clone builds on that no node holds (a branch frozen for it, then deleted) grows from a snapshot: that node says it.
  const held = new Set([...states, ...branchLayers.flatMap((b) => b.layers)]);
  for (const path of users.keys()) {
    if (held.has(path)) continue;
    const state = walkChain(domain.layers, path).find((at) => states.has(at));
    const from = domain.snapshots.filter((s) => s.disks.some((d) => d.stateLayer === state));
    for (const snapshot of from) gather(snapshotNodeId(snapshot.name), [path]);
  }
  return result;
}
