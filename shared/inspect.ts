/** What inspecting two nodes reports: where they forked, what each side added, and where their bytes differ. */

/** A byte range of the virtual disk: [start, length]. */
export type Extent = [number, number];

export interface CompareSide {
  /** The graph node: `s:NAME` for a snapshot's saved state, `b:NAME` for a branch tip. */
  node: string;
  file: string;
  /** The layers above the fork point, top first: what this side added since the fork. */
  ownLayers: string[];
  /** Bytes those layers take on the host. */
  allocatedSinceFork: number;
  /** Guest regions written on this side since the fork, merged and in order. */
  changed: Extent[];
}

export interface DiskComparison {
  target: string;
  virtualSize: number;
  /** The newest layer both sides build on; null when they share none. */
  fork: string | null;
  a: CompareSide;
  b: CompareSide;
  /** Whether the guest reads the same bytes on both sides (`qemu-img compare`). */
  identical: boolean;
  /** The first offset where they differ, when they do. */
  firstDifference: number | null;
}

export interface Comparison {
  domain: string;
  a: string;
  b: string;
  disks: DiskComparison[];
}

/** Merges touching or overlapping extents, in order. */
export function mergeExtents(extents: Extent[]): Extent[] {
  const sorted = [...extents].sort((x, y) => x[0] - y[0]);
  const out: Extent[] = [];
  for (const [start, length] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && start <= last[0] + last[1]) last[1] = Math.max(last[1], start + length - last[0]);
    else out.push([start, length]);
  }
  return out;
}

/** The regions in both lists: what both sides wrote. Inputs are merged and in order. */
export function intersectExtents(a: Extent[], b: Extent[]): Extent[] {
  const out: Extent[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const [as, al] = a[i] as Extent;
    const [bs, bl] = b[j] as Extent;
    const start = Math.max(as, bs);
    const end = Math.min(as + al, bs + bl);
    if (start < end) out.push([start, end - start]);
    if (as + al < bs + bl) i++;
    else j++;
  }
  return out;
}

/** Bytes covered by merged extents. */
export const extentBytes = (extents: Extent[]): number => extents.reduce((sum, [, length]) => sum + length, 0);

/** The health of one layer: `qemu-img check` and what the file system tells. */
export interface LayerHealth {
  path: string;
  /** `qemu-img check` could not finish: the image cannot be read as its format. */
  checkErrors: number;
  corruptions: number;
  leaks: number;
  /** The image was not closed cleanly (qcow2 dirty bit). */
  dirty: boolean;
  /** Files built on this one before it was last written: their guest view may have changed under them. */
  writtenAfter: string[];
  /** One sentence per finding; empty when the layer is healthy. */
  findings: string[];
  /** The app's own finished operation wrote the file last (its modification time is the one recorded right after). */
  ownWrite?: { operationId: string; op: string; at: string };
  /** Warnings the user acknowledged on the file as it is now, and why: kept out of `findings`. */
  acknowledged?: { reason: string; at: string; findings: string[] };
}

export interface HealthReport {
  domain: string;
  layers: LayerHealth[];
  healthy: boolean;
}
