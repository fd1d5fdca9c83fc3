/** An operation's impact: the files and records it changes and, for the graph, the nodes it adds, removes or renames. */
import type { Domain } from '../../model';
import { branchNodeId, snapshotNodeId } from '../../snapshot-graph';
import type { Impact } from '../plan';
import { currentBranch } from './records';

/** A new overlay's metadata on disk, for space estimates. */
export const OVERLAY_BYTES = 256 * 1024;

function nodeIds(domain: Domain): string[] {
  return [...domain.snapshots.map((s) => snapshotNodeId(s.name)), ...domain.branches.map((b) => branchNodeId(b.name))];
}

/**
 * The impact with what is not given filled in: nothing created, written or removed, the domain shut off, the
 * current branch staying the current one; `unchangedNodes` is every node of the domain not in `changedNodes`.
 */
export function impact(domain: Domain, partial: Partial<Impact> & { changedNodes: string[] }): Impact {
  const changed = new Set(partial.changedNodes);
  const current = currentBranch(domain);
  return {
    created: [],
    written: [],
    trashed: [],
    metadata: [],
    spaceBytes: 0,
    mustStop: true,
    createdNodes: [],
    removedSnapshots: [],
    removedBranches: [],
    renamed: null,
    currentAfter: current === undefined ? null : branchNodeId(current.name),
    ...partial,
    unchangedNodes: nodeIds(domain).filter((id) => !changed.has(id)),
  };
}
