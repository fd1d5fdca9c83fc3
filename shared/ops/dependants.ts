/**
 * Who depends on a layer (docs/model.md, "Dependants and frozen"): every layer whose backing file it is, every domain
 * disk, snapshot and branch that uses it, across every domain of the connection. A layer with any dependant is frozen.
 */
import type { Domain, ScanResult } from '../model';
import { basename } from '../paths';
import { perScan } from './per-scan';

export interface Dependant {
  /**
   * `clone`: a layer of another domain, one the app cloned (Domain.cloneOf), is built on it; `domain` names the
   * clone and `name` its layer. A layer of another domain that is no clone stays a `layer`, its sentence naming
   * the domain.
   */
  kind: 'layer' | 'disk' | 'snapshot' | 'branch' | 'clone';
  domain: string;
  /** The dependant layer's path (a `layer` or `clone`), disk target, snapshot name or branch name. */
  name: string;
  /** A sentence saying how it depends on the layer. */
  description: string;
}

/** Adds every dependency of one domain to `into`, keyed by the layer depended on, in a fixed order. */
function collect(domain: Domain, into: Map<string, Dependant[]>): void {
  const add = (layer: string, dep: Dependant) => {
    const list = into.get(layer);
    if (list === undefined) into.set(layer, [dep]);
    else list.push(dep);
  };
  for (const other of Object.values(domain.layers)) {
    if (other.backing !== null) add(other.backing, { kind: 'layer', domain: domain.name, name: other.path, description: `${basename(other.path)} is built on it` });
  }
  for (const disk of domain.disks) {
    if (disk.managed && disk.file !== null) add(disk.file, { kind: 'disk', domain: domain.name, name: disk.target, description: `disk ${disk.target} of ${domain.name} writes to it` });
  }
  // In an image folder the "snapshots" are just the images others build on: the layer links say it all.
  for (const snap of domain.state === 'folder' ? [] : domain.snapshots) {
    for (const disk of snap.disks) {
      if (disk.stateLayer !== null) {
        add(disk.stateLayer, { kind: 'snapshot', domain: domain.name, name: snap.name, description: `it holds the saved state of snapshot ${snap.name} (${disk.target})` });
      }
    }
    const reverts = new Set(snap.revertFiles.flatMap((file) => [file, domain.layers[file]?.backing ?? null]).filter((p): p is string => p !== null));
    for (const layer of reverts) add(layer, { kind: 'snapshot', domain: domain.name, name: snap.name, description: `libvirt's revert record of snapshot ${snap.name} builds on it` });
  }
  for (const branch of domain.branches) {
    if (branch.current) continue; // the current branch's tips are the domain's disks, listed above
    for (const tip of branch.tips) add(tip.file, { kind: 'branch', domain: domain.name, name: branch.name, description: `it is the tip of branch ${branch.name}` });
  }
}

/** The domains whose layers include each path. */
function ownersOf(scan: ScanResult): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  for (const domain of scan.domains) for (const path of Object.keys(domain.layers)) owners.set(path, [...(owners.get(path) ?? []), domain.name]);
  return owners;
}

/**
 * A layer built on `layer` that some domain holding `layer` does not hold is another domain's (a clone, or a
 * domain on a shared base): said as that domain's, a clone's as `clone NAME's disk vda builds on it`.
 */
function acrossDomains(scan: ScanResult, owners: Map<string, string[]>, layer: string, dep: Dependant): Dependant[] {
  if (dep.kind !== 'layer') return [dep];
  const users = owners.get(dep.name) ?? [];
  const holders = owners.get(layer) ?? [];
  if (holders.every((h) => users.includes(h))) return [dep];
  const clones = users.filter((u) => scan.domains.some((d) => d.name === u && d.cloneOf !== undefined));
  const others = users.filter((u) => !clones.includes(u));
  const file = basename(dep.name);
  return [
    ...clones.map((u): Dependant => ({ kind: 'clone', domain: u, name: dep.name, description: cloneSentence(scan, u, dep.name) })),
    ...(others.length > 0 ? [{ ...dep, domain: others[0] ?? dep.domain, description: `${file} is built on it (a disk of domain ${others.join(', ')})` }] : []),
  ];
}

/**
 * How clone `clone` builds on a layer through its layer `path`: "clone NAME's disk vda builds on it", naming the
 * disk whose chain holds `path`; "clone NAME builds on it (FILE)" when no disk of the clone's does.
 */
function cloneSentence(scan: ScanResult, clone: string, path: string): string {
  const domain = scan.domains.find((d) => d.name === clone);
  const targets = (domain?.disks ?? []).filter((d) => d.file === path || d.chain.includes(path)).map((d) => d.target);
  if (targets.length === 0) return `clone ${clone} builds on it (${basename(path)})`;
  return `clone ${clone}'s disk${targets.length > 1 ? 's' : ''} ${targets.join(', ')} build${targets.length > 1 ? '' : 's'} on it`;
}

/** Builds the index: one pass over the scan, duplicates (domains may share layers) dropped. */
function buildIndex(scan: ScanResult): Map<string, Dependant[]> {
  const all = new Map<string, Dependant[]>();
  for (const domain of scan.domains) collect(domain, all);
  const owners = ownersOf(scan);
  for (const [layer, deps] of all) {
    const seen = new Set<string>();
    all.set(
      layer,
      deps.flatMap((dep) => acrossDomains(scan, owners, layer, dep)).filter((dep) => {
        const key = `${dep.kind}\0${dep.kind === 'layer' ? '' : dep.domain}\0${dep.name}\0${dep.description}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      }),
    );
  }
  return all;
}

/**
 * Every dependant of every layer in the scan, keyed by layer, without duplicates (domains may share layers).
 * Built once per scan object and shared by every caller (planners, node actions, the file view): the map and its
 * lists are shared, so they are read-only. A scan whose `domains` array or any of its domain objects was
 * replaced since is indexed again; a domain must not be edited in place after it was read.
 */
export const dependantsIndex: (scan: ScanResult) => ReadonlyMap<string, readonly Dependant[]> = perScan(buildIndex);

/** Every dependant of `layer` in the scan, without duplicates, from the scan's shared index (read-only). */
export function dependantsOf(scan: ScanResult, layer: string): readonly Dependant[] {
  return dependantsIndex(scan).get(layer) ?? [];
}
