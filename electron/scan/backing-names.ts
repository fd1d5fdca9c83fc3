/**
 * Backing names as QEMU 7.2 reads them (block.c `bdrv_make_absolute_filename`, `path_has_protocol`), so that
 * the chain shown is the chain QEMU opens (docs/safety.md, rule 11):
 *
 * - an absolute name is opened as written;
 * - a name with a protocol prefix (a `:` before the first `/`: `nbd:`, `nbd://`, `http:`, `json:{…}`, `file:`…) is
 *   handed to that protocol's driver as written (`sub/x://y` has none: a `/` comes first);
 * - any other name is glued to the directory of the path the overlay was opened by: the domain disk's
 *   `<source file>` as written, or the path the previous backing name produced. Not the overlay's real path:
 *   through a symlink to another folder QEMU reads a different base than the real path would suggest. The glue
 *   is textual, so `..` is left to the kernel, which follows it from the real directory a symlinked folder
 *   points at (a lexical `path.resolve` would not).
 *
 * Identity is still the canonical real path of the file so named (docs/model.md, "Layer and chain"); the path string is
 * what the next relative name resolves against.
 */
import { dirname, isAbsolute } from 'node:path';
import type { Problem } from '../../shared/model';

/** What a backing name names, for the scan. */
export type BackingTarget =
  /** A local file: `path` is the file name QEMU opens (not canonical), absolute when the opener's was. */
  | { kind: 'file'; path: string }
  /**
   * Something the app does not follow: a network or other protocol, JSON options, or `file:NAME`. `reason` says
   * in plain words what QEMU does with it; the layer is shown and its chain ends there.
   */
  | { kind: 'not-local'; reason: string };

/** Whether QEMU takes `name` for a protocol-prefixed name: a `:` before the first `/` (`path_has_protocol`). */
const hasProtocol = (name: string): boolean => /^[^/]*:/.test(name);

/** The file QEMU opens for a relative backing name of an overlay opened as `opened`: directory + name, verbatim. */
export function joinBackingName(opened: string, name: string): string {
  return isAbsolute(name) ? name : opened.slice(0, opened.lastIndexOf('/') + 1) + name;
}

/**
 * Classifies the backing name `name` of the overlay opened as `opened`: the local file QEMU opens, or why the
 * app does not follow it. `file:` is not followed: QEMU's file driver opens the rest against the working
 * directory of the process that opens the image (a VM's QEMU process, not this app), so which file it is cannot
 * be known from here, and libvirt and qemu-img run elsewhere would each read a different one.
 */
export function classifyBackingName(opened: string, name: string): BackingTarget {
  const lower = name.toLowerCase();
  if (lower.startsWith('json:')) {
    return { kind: 'not-local', reason: 'a JSON description of block driver options (json:{…}), which may name any file or network source' };
  }
  if (lower.startsWith('file:')) {
    const rest = name.slice('file:'.length);
    const where = isAbsolute(rest)
      ? `the file ${rest}; the app does not follow file: names. If that is the backing file, record it as a plain path: qemu-img rebase -u -F FORMAT -b ${rest} OVERLAY`
      : `"${rest}" against the working directory of whatever process opens the image (for a VM, its QEMU process, not this app), not against the overlay's folder; which file that is cannot be known from here`;
    return { kind: 'not-local', reason: `a file: name, which QEMU opens as ${where}` };
  }
  if (hasProtocol(name)) {
    const protocol = name.slice(0, name.indexOf(':'));
    return { kind: 'not-local', reason: `not a local file: QEMU reads it through its "${protocol}:" protocol driver (a network or other block source)` };
  }
  return { kind: 'file', path: joinBackingName(opened, name) };
}

/** The local file QEMU opens for a backing name; null when it is not a local file the app follows. */
export function backingFileOf(opened: string, name: string): string | null {
  const target = classifyBackingName(opened, name);
  return target.kind === 'file' ? target.path : null;
}

/** What `divergentOpenings` needs of the scan: headers and real paths, each read once per scan. */
export interface ChainFacts {
  /** The backing name in the header of a layer read already (by its canonical path); null when none. */
  backingName: (real: string) => string | null;
  canonical: (path: string) => string | null;
}

/**
 * A layer is one file however it is reached, but its relative backing name names a different file from each
 * folder it is opened through (a symlink in another folder). Given `real`, first opened as `first` and now as
 * `again`, follows both chains side by side until they meet the same folder; where they part, the graph cannot
 * show the one chain QEMU reads: an error, so plans on that domain are refused. Null when they agree. The layer
 * reader keeps the reading through the path a layer was first opened by, so the message names that base as shown.
 */
export function divergentOpenings(real: string, first: string, again: string, facts: ChainFacts): Problem | null {
  const seen = new Set<string>();
  let at = real;
  let a = first;
  let b = again;
  while (dirname(a) !== dirname(b) && !seen.has(at)) {
    seen.add(at);
    const name = facts.backingName(at);
    if (name === null) return null;
    const fromA = backingFileOf(a, name);
    const fromB = backingFileOf(b, name);
    if (fromA === null || fromB === null) return null;
    const realA = facts.canonical(fromA);
    const realB = facts.canonical(fromB);
    if (realA !== realB) {
      return {
        code: 'ambiguous-backing',
        severity: 'error',
        message:
          `${at} is reached both as ${a} and as ${b}; its relative backing name "${name}" names ${realA ?? `${fromA} (missing)`} from the first ` +
          `and ${realB ?? `${fromB} (missing)`} from the second, so QEMU reads a different base depending on the path. The graph shows ${realA ?? fromA} (through ${a}, the path it was first opened by), ` +
          'and nothing on it is written, moved or deleted: give the image an absolute backing name (qemu-img rebase -u -F FORMAT -b FILE IMAGE), or use one path.',
        path: at,
      };
    }
    if (realA === null) return null;
    at = realA;
    a = fromA;
    b = fromB;
  }
  return null;
}

/** One hop of a chain walk: where a layer's backing link leads, and what is wrong with it. */
export interface Hop {
  /** What the layer's `backing` field records: the canonical backing file, the name QEMU opens when it is missing, or null. */
  backing: string | null;
  /** The layer to read next (canonical, and the path QEMU opens it by); null when the walk stops here. */
  next: { real: string; opened: string } | null;
  problem: Problem | null;
}

/**
 * Follows the backing name `name` (format `format`) of the layer `at`, opened as `opened`. The walk stops at a
 * name the app does not follow, a missing file, a loop back into `seen`, or a link without a format (never
 * probed: a guessed format can expose the host).
 */
export function followBacking(
  link: { at: string; opened: string; name: string; format: string | null },
  seen: Set<string>,
  canonical: (path: string) => string | null,
): Hop {
  const { at, name } = link;
  const target = classifyBackingName(link.opened, name);
  if (target.kind === 'not-local') {
    const message =
      `${at} is backed by "${name}": ${target.reason}. The app never opens it; the chain is shown up to here, ` +
      'and nothing that builds on this image is written, moved or deleted.';
    return { backing: null, next: null, problem: { code: 'not-managed', severity: 'warning', message, path: at } };
  }
  const next = canonical(target.path);
  if (next === null) {
    const message = `The backing file ${target.path} of ${at} is missing.`;
    return { backing: target.path, next: null, problem: { code: 'missing-backing', severity: 'error', message, path: at } };
  }
  if (seen.has(next)) {
    const message = `The backing chain of ${at} loops back to ${next}.`;
    return { backing: next, next: null, problem: { code: 'cycle', severity: 'error', message, path: at } };
  }
  if (link.format === null) {
    const message =
      `${at} does not record the format of its backing file ${next}; it is not probed (a guessed format can expose the host), and the chain is shown up to here. ` +
      `Once you know that file's format, record it: qemu-img rebase -u -F FORMAT -b ${next} ${at}`;
    return { backing: next, next: null, problem: { code: 'backing-no-format', severity: 'warning', message, path: at } };
  }
  return { backing: next, next: { real: next, opened: target.path }, problem: null };
}

/**
 * When a layer was opened by a path in another folder than its real one (a symlink), and its relative backing
 * name names a different file from its real folder: the graph shows what QEMU reads through that path, but a
 * tool handed the real path would read another chain. The engine names layers by their real paths, so such a
 * layer must not be handed to qemu-img: a warning the plan guard refuses on. Null when both agree.
 */
export function realPathDivergence(link: { at: string; opened: string; name: string; backing: string }, canonical: (path: string) => string | null): Problem | null {
  const { at, opened, name, backing } = link;
  if (dirname(opened) === dirname(at) || isAbsolute(name)) return null;
  const fromReal = backingFileOf(at, name);
  if (fromReal === null) return null;
  const other = canonical(fromReal);
  if (other === backing) return null;
  return {
    code: 'ambiguous-backing',
    severity: 'warning',
    message:
      `${at} is used as ${opened}; from there its relative backing name "${name}" names ${backing}, which is what QEMU reads and what is shown, ` +
      `but from its own folder it names ${other ?? `${fromReal} (missing)`}. Tools given its real path would read the wrong chain, so nothing on it is written, moved, deleted or opened. ` +
      `Record the backing file by its full path to fix this: qemu-img rebase -u -F FORMAT -b ${backing} ${at}`,
    path: at,
  };
}
