/** What planners read off a domain: its branch records, its current branch, a layer's format, whether a name is taken. */
import type { Branch, Domain, Layer } from '../../model';
import type { BranchRecords } from '../plan';

/** The branch records as they stand: the current branch's name and the recorded (metadata) branches. */
export function recordsOf(domain: Domain): BranchRecords {
  const current = domain.branches.find((b) => b.current);
  return {
    current: current?.name ?? null,
    branches: domain.branches
      .filter((b) => b.origin === 'metadata')
      .map((b) => ({
        name: b.name,
        tips: b.tips.map((t) => ({ ...t })),
        ...(b.memoryFile !== undefined ? { memory: b.memoryFile } : {}),
        ...(b.memoryFingerprint !== undefined ? { memoryFingerprint: b.memoryFingerprint } : {}),
      })),
  };
}

/** The branch the domain's disks are on ("You are here"). */
export function currentBranch(domain: Domain): Branch | undefined {
  return domain.branches.find((b) => b.current);
}

/** A layer's format as the scan found it; qcow2 for a file the scan does not list. */
export function layerFormat(domain: Domain, path: string): string {
  return (domain.layers[path] as Layer | undefined)?.format ?? 'qcow2';
}

/** Whether the domain has a branch named `name`. */
export function nameTaken(domain: Domain, name: string): boolean {
  return domain.branches.some((b) => b.name === name);
}

/** The current disks, target to file, with the files in `retarget` replaced: what a define step is given. */
export function disksOf(domain: Domain, retarget: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(domain.disks.flatMap((d) => (d.managed && d.file !== null ? [[d.target, retarget[d.file] ?? d.file]] : [])));
}
