/**
 * Parent links that loop. libvirt's snapshot metadata is what users and tools wrote (`snapshot-create --redefine`
 * takes any `<parent>`), so a snapshot can name itself or a descendant as its parent. Every walk up or down the
 * parents (graph assembly, tree printing, the layout) must end; these helpers say where to cut a loop, the same
 * way on every scan.
 */

/** Orders by UTF-16 code units, as `Array.prototype.sort` does: no locale, so every machine cuts alike. */
function least(a: string, b: string): string {
  return b < a ? b : a;
}

/**
 * The ids whose parent link to cut so that no chain of parents loops: one per loop, the least id of that loop.
 * `parentOf` gives an id's parent, or null for a root or a parent that is not among `ids`.
 */
export function loopCuts(ids: Iterable<string>, parentOf: (id: string) => string | null): string[] {
  const done = new Set<string>();
  const cuts: string[] = [];
  for (const start of [...new Set(ids)].sort()) {
    const path: string[] = [];
    const onPath = new Map<string, number>();
    for (let at: string | null = start; at !== null && !done.has(at); at = parentOf(at)) {
      const seen = onPath.get(at);
      if (seen !== undefined) {
        cuts.push(path.slice(seen).reduce(least));
        break;
      }
      onPath.set(at, path.length);
      path.push(at);
    }
    path.forEach((id) => done.add(id));
  }
  return cuts;
}
