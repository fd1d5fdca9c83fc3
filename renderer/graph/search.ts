/**
 * Searching the snapshot graph: snapshots and branches whose name, description or creation date holds the typed
 * text, in the graph's tree order, folded snapshots included (the canvas opens a run to show a match).
 */
import type { GraphNode } from '../../shared/snapshot-graph';

/** The text a node is found by: its name, its description and its creation date as written and as "YYYY-MM-DD HH:MM". */
function haystack(node: GraphNode): string {
  const created = node.snapshot?.created ?? '';
  return [node.name, node.snapshot?.description ?? '', created, created.replace('T', ' ').slice(0, 16)].join('\n').toLowerCase();
}

/** The ids of the nodes matching `query` (case-insensitive, every word somewhere), in `order`; none for blank text. */
export function searchNodes(nodes: readonly GraphNode[], order: readonly string[], query: string): string[] {
  const words = query.toLowerCase().split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) return [];
  const byId = new Map(nodes.map((n) => [n.id, n]));
  return order.filter((id) => {
    const node = byId.get(id);
    if (node === undefined) return false;
    const text = haystack(node);
    return words.every((w) => text.includes(w));
  });
}

/** The match after (step 1) or before (step -1) the one at `at`, wrapping round; the first when none is current. */
export function stepMatch(count: number, at: number | null, step: 1 | -1): number | null {
  if (count === 0) return null;
  if (at === null) return step === 1 ? 0 : count - 1;
  return (at + step + count) % count;
}
