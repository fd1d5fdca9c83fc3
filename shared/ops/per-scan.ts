/**
 * What is computed once per scan and shared by every planner and node action (docs/architecture.md): the
 * dependants index, the plan checks' view of the host. A scan is plain data that is replaced, not edited, when a
 * domain is rescanned (the renderer and the engine build a new result), so one result per scan object serves
 * them all; weak keys let it go with its scan. A scan whose `domains` array or any of its domain objects was
 * replaced since is computed again; a domain must not be edited in place after it was read.
 */
import type { Domain, ScanResult } from '../model';

/** A result and the domains it was computed from, to notice a scan whose domains were replaced since. */
interface Entry<T> {
  domains: readonly Domain[];
  members: readonly Domain[];
  value: T;
}

/** Whether `entry` was computed from the domains `scan` holds now: the same array holding the same domain objects. */
function stillCurrent<T>(entry: Entry<T>, scan: ScanResult): boolean {
  return entry.domains === scan.domains && entry.members.length === scan.domains.length && entry.members.every((d, i) => d === scan.domains[i]);
}

/** `compute`, remembered per scan object (see the module comment). */
export function perScan<T>(compute: (scan: ScanResult) => T): (scan: ScanResult) => T {
  const cache = new WeakMap<ScanResult, Entry<T>>();
  return (scan) => {
    const cached = cache.get(scan);
    if (cached !== undefined && stillCurrent(cached, scan)) return cached.value;
    const value = compute(scan);
    cache.set(scan, { domains: scan.domains, members: [...scan.domains], value });
    return value;
  };
}
