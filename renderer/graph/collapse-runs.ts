/**
 * Long straight runs of a snapshot tree folded into one node: a chain of snapshots with one child each and no
 * branch point shows its first and last few and, between them, one node that stands for the rest
 * ("… 280 snapshots …"). Nothing the user must see is ever folded: You are here, libvirt's current snapshot and
 * whatever an open plan touches are passed in as `keep` and break a run. Pure, so the layout stays deterministic.
 */

/** A run of more than this many snapshots is folded. */
export const RUN_MIN = 8;
/** How many snapshots stay visible at each end of a folded run. */
export const RUN_ENDS = 2;

/** The tree to fold: each node's children in order (the roots under `root`), and which nodes are snapshots. */
export interface FoldInput {
  root: string;
  children: Record<string, string[]>;
  isSnapshot: (id: string) => boolean;
  /** Nodes that must stay visible. */
  keep: ReadonlySet<string>;
  /** Runs the user opened, by run id. */
  expanded: ReadonlySet<string>;
}

export interface Run {
  id: string;
  /** The folded snapshots, from the oldest down. */
  hidden: string[];
  /** The visible node the run hangs from, and the one it leads to. */
  from: string;
  to: string;
}

export interface Folded {
  /** The tree as drawn: folded snapshots left out, a run's id between its two visible ends. */
  children: Record<string, string[]>;
  runs: Record<string, Run>;
  /** For each folded snapshot, the run that holds it. */
  hiddenIn: Record<string, string>;
}

/** The id of the run whose first folded snapshot is `first`: stable while that snapshot stays in the run. */
export const runId = (first: string): string => `r:${first}`;

/** Each node's parent, read from the children lists. */
function parents(children: Record<string, string[]>): Map<string, string> {
  const parentOf = new Map<string, string>();
  for (const [id, kids] of Object.entries(children)) for (const kid of kids) parentOf.set(kid, id);
  return parentOf;
}

/** The straight runs: maximal chains of snapshots, not kept, each with one child, under a parent with one child. */
function straightRuns(input: FoldInput): string[][] {
  const { root, children, isSnapshot, keep } = input;
  const parentOf = parents(children);
  const only = (id: string | undefined) => id !== undefined && id !== root && (children[id]?.length ?? 0) === 1;
  const inner = (id: string) => isSnapshot(id) && !keep.has(id) && only(id) && only(parentOf.get(id));
  const runs: string[][] = [];
  for (const id of parentOf.keys()) {
    const parent = parentOf.get(id);
    if (!inner(id) || (parent !== undefined && inner(parent))) continue;
    const run = [id];
    for (let next = children[id]?.[0]; next !== undefined && inner(next); next = children[next]?.[0]) run.push(next);
    runs.push(run);
  }
  return runs;
}

/** Folds every run longer than RUN_MIN that the user has not opened. */
export function foldRuns(input: FoldInput): Folded {
  const children: Record<string, string[]> = { ...input.children };
  const runs: Record<string, Run> = {};
  const hiddenIn: Record<string, string> = {};
  for (const straight of straightRuns(input)) {
    if (straight.length <= RUN_MIN) continue;
    const hidden = straight.slice(RUN_ENDS, straight.length - RUN_ENDS);
    const id = runId(hidden[0] as string);
    if (input.expanded.has(id)) continue;
    const from = straight[RUN_ENDS - 1] as string;
    const to = straight[straight.length - RUN_ENDS] as string;
    runs[id] = { id, hidden, from, to };
    children[from] = [id];
    children[id] = [to];
    for (const h of hidden) {
      hiddenIn[h] = id;
      delete children[h];
    }
  }
  return { children, runs, hiddenIn };
}
