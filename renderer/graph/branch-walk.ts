/**
 * Moves along a branch of the snapshot tree, for Home, End, PageUp and PageDown: to the root, to the tip, and a
 * page of nodes towards either. "Along the branch" towards the tip means towards You are here when it lies ahead,
 * else along the first child (the lane the layout draws straight, to-flow.ts).
 */
import type { TreeLinks } from './to-flow';

/** How many nodes PageUp and PageDown move. */
export const PAGE = 10;

/** Whether `ancestor` is `id` or above it. */
function above(tree: TreeLinks, ancestor: string, id: string): boolean {
  for (let at: string | null | undefined = id, n = 0; at !== null && at !== undefined && n < 100_000; at = tree.parentOf[at], n++) if (at === ancestor) return true;
  return false;
}

/** The next node towards the tip from `id`, or null at a leaf. */
function forward(tree: TreeLinks, id: string, here: string | null): string | null {
  const kids = tree.childrenOf[id] ?? [];
  if (here !== null && here !== id) {
    const towards = kids.find((kid) => above(tree, kid, here));
    if (towards !== undefined) return towards;
  }
  return kids[0] ?? null;
}

/** `steps` nodes along the branch from `from` (negative: towards the root), stopping at either end. */
export function along(tree: TreeLinks, from: string, here: string | null, steps: number): string {
  let at = from;
  for (let i = 0; i < Math.abs(steps); i++) {
    const next = steps < 0 ? (tree.parentOf[at] ?? null) : forward(tree, at, here);
    if (next === null) break;
    at = next;
  }
  return at;
}

/** The tip of `from`'s branch. */
export function tipOf(tree: TreeLinks, from: string, here: string | null): string {
  return along(tree, from, here, Number.MAX_SAFE_INTEGER);
}

/** The root above `from`. */
export function rootOf(tree: TreeLinks, from: string): string {
  return along(tree, from, null, -Number.MAX_SAFE_INTEGER);
}
