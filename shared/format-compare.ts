/** A comparison for people: per disk, the fork, each side's additions, the regions it wrote, the verdict. */
import type { Comparison, Extent } from './inspect';
import { basename } from './paths';
import { formatBytes } from './snapshot-graph';

function regions(extents: Extent[]): string {
  if (extents.length === 0) return 'nothing';
  const shown = extents.slice(0, 8).map(([start, length]) => `${formatBytes(start)}–${formatBytes(start + length)}`);
  return `${shown.join(', ')}${extents.length > 8 ? ` and ${extents.length - 8} more` : ''}`;
}

export function formatComparison(c: Comparison): string {
  const lines = [`${c.a.slice(2)} vs ${c.b.slice(2)} in ${c.domain}`];
  for (const d of c.disks) {
    lines.push(``, `disk ${d.target} (${formatBytes(d.virtualSize)}): forked at ${d.fork ? basename(d.fork) : 'nothing in common'}`);
    for (const side of [d.a, d.b]) {
      const written = side.changed.reduce((n, [, length]) => n + length, 0);
      lines.push(`  ${side.node.slice(2)}: ${side.ownLayers.length} layer(s) since, ${formatBytes(side.allocatedSinceFork)} on disk, wrote ${formatBytes(written)}: ${regions(side.changed)}`);
    }
    lines.push(d.identical ? '  the guest reads the same bytes on both sides' : `  they differ, first at offset ${d.firstDifference ?? 0} (${formatBytes(d.firstDifference ?? 0)})`);
  }
  return `${lines.join('\n')}\n`;
}
