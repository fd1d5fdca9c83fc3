/**
 * The formats a file is named with. An overlay's header (or a domain's XML) names its backing file together with a
 * format, and QEMU opens the file as that format through that overlay: one file named raw by one overlay and
 * qcow2 by another is read as two different disks. The graph has one layer per file, so it cannot show both; the
 * chains through it are frozen by an error, and the layer shows its qcow2 content when it has valid qcow2 content
 * and some referrer names it qcow2 (the same answer whatever order the scan reads it in).
 */
import type { Problem } from '../../shared/model';

export class FormatClaims {
  /** By canonical path: format → the referrers naming the file as that format. */
  private readonly claims = new Map<string, Map<string, Set<string>>>();

  /** Records that `referrer` names `path` as `format`; returns the conflict problem when formats now differ. */
  claim(path: string, format: string, referrer: string): Problem | null {
    let byFormat = this.claims.get(path);
    if (byFormat === undefined) {
      byFormat = new Map();
      this.claims.set(path, byFormat);
    }
    const referrers = byFormat.get(format) ?? new Set<string>();
    referrers.add(referrer);
    byFormat.set(format, referrers);
    return byFormat.size > 1 ? conflict(path, byFormat) : null;
  }

  /** Whether some referrer names `path` as `format`. */
  has(path: string, format: string): boolean {
    return this.claims.get(path)?.has(format) ?? false;
  }
}

function conflict(path: string, byFormat: Map<string, Set<string>>): Problem {
  // Sorted, so the message is the same whatever order the chains were read in.
  const ways = [...byFormat.entries()]
    .map(([format, referrers]) => ({ format, referrers: [...referrers].sort() }))
    .sort((a, b) => (a.referrers[0] as string).localeCompare(b.referrers[0] as string))
    .map(({ format, referrers }) => `as ${format} through ${referrers.join(' and ')}`);
  return {
    code: 'format-conflict',
    severity: 'error',
    message:
      `QEMU reads ${path} ${ways.join(' and ')}: each names it with a different format, so they see different disks, and one graph ` +
      `cannot show both. Nothing on these chains is written, moved or deleted until they name one format (qemu-img rebase -u -F FORMAT -b ${path} OVERLAY).`,
    path,
  };
}
