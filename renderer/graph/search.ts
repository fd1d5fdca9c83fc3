/**
 * Searching the snapshot graph: snapshots and branches whose name, description or creation date holds the typed
 * text, in the graph's tree order, folded snapshots included (the canvas opens a run to show a match).
 */
import type { GraphNode } from '../../shared/snapshot-graph';
import { formatTime } from '../components/format';

/** A creation date as "Nov 24, 2026, 10:15 AM": the English short form, found whatever the app's locale. */
const ENGLISH = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'short' });

/** The ways a creation date is written on screen and by hand: as stored, "YYYY-MM-DD HH:MM", as the app shows it, in English. */
function datesOf(created: string | null | undefined): string[] {
  if (created === null || created === undefined || created === '') return [];
  const written = [created, created.replace('T', ' ').slice(0, 16)];
  const at = new Date(created);
  return Number.isNaN(at.getTime()) ? written : [...written, formatTime(created), ENGLISH.format(at)];
}

/** The text a node is found by: its name, its description and its creation date (datesOf). */
function haystack(node: GraphNode): string {
  return [node.name, node.snapshot?.description ?? '', ...datesOf(node.snapshot?.created)].join('\n').toLowerCase();
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
