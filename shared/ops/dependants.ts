/**
 * Who depends on a layer (SPEC §2): every layer whose backing file it is, every domain disk, snapshot and branch
 * that uses it, across every domain of the connection. A layer with any dependant is frozen.
 */
import type { Domain, ScanResult } from '../model';
import { basename } from '../paths';

export interface Dependant {
  kind: 'layer' | 'disk' | 'snapshot' | 'branch';
  domain: string;
  /** The dependant layer's path, disk target, snapshot name or branch name. */
  name: string;
  /** A sentence saying how it depends on the layer. */
  description: string;
}

function ofDomain(domain: Domain, layer: string): Dependant[] {
  const out: Dependant[] = [];
  for (const other of Object.values(domain.layers)) {
    if (other.backing === layer) {
      out.push({ kind: 'layer', domain: domain.name, name: other.path, description: `${basename(other.path)} is built on it` });
    }
  }
  for (const disk of domain.disks) {
    if (disk.managed && disk.file === layer) {
      out.push({ kind: 'disk', domain: domain.name, name: disk.target, description: `disk ${disk.target} of ${domain.name} writes to it` });
    }
  }
  // In an image folder the "snapshots" are just the images others build on: the layer links say it all.
  for (const snap of domain.state === 'folder' ? [] : domain.snapshots) {
    for (const disk of snap.disks) {
      if (disk.stateLayer === layer) {
        out.push({ kind: 'snapshot', domain: domain.name, name: snap.name, description: `it holds the saved state of snapshot ${snap.name} (${disk.target})` });
      }
    }
    if (snap.revertFiles.some((file) => domain.layers[file]?.backing === layer || file === layer)) {
      out.push({ kind: 'snapshot', domain: domain.name, name: snap.name, description: `libvirt's revert record of snapshot ${snap.name} builds on it` });
    }
  }
  for (const branch of domain.branches) {
    if (branch.current) continue; // the current branch's tips are the domain's disks, listed above
    for (const tip of branch.tips) {
      if (tip.file === layer) {
        out.push({ kind: 'branch', domain: domain.name, name: branch.name, description: `it is the tip of branch ${branch.name}` });
      }
    }
  }
  return out;
}

/** Every dependant of `layer` in the scan, without duplicates (domains may share layers). */
export function dependantsOf(scan: ScanResult, layer: string): Dependant[] {
  const seen = new Set<string>();
  const out: Dependant[] = [];
  for (const domain of scan.domains) {
    for (const dep of ofDomain(domain, layer)) {
      const key = `${dep.kind}\0${dep.kind === 'layer' ? '' : dep.domain}\0${dep.name}\0${dep.description}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(dep);
    }
  }
  return out;
}
