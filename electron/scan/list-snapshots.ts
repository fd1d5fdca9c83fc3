/**
 * Lists and reads a domain's snapshots by the names libvirt holds, verbatim. `virsh snapshot-list --name` prints
 * one name a line, so a name holding a line break arrives as several lines that name nothing. Such names are
 * found again two ways: a child's `<parent>` names its parent whole, and lines that name nothing are joined with
 * their neighbours and tried. A line that still names nothing is reported, never guessed at. (libvirt's library,
 * where it reads, lists names whole.)
 */
import type { Problem } from '../../shared/model';
import type { Dumps, LibvirtReader } from './libvirt-reader';
import { parseSnapshotXml, type RawSnapshot } from './snapshot-xml';

/** How many lines a name with line breaks is looked for across, each way from a line that names nothing. */
const JOIN_SPAN = 4;

/**
 * The names in virsh's one-name-a-line output, each line verbatim: only the empty lines that end the output
 * are dropped (no libvirt object has an empty name); spaces at either end belong to the names.
 */
export function listedNames(stdout: string): string[] {
  const lines = stdout.split('\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * What `snapshot-current --name` printed: the name verbatim, without the one line break that may end the output.
 * Null when there is none.
 */
export function currentName(stdout: string): string | null {
  const name = stdout.endsWith('\n') ? stdout.slice(0, -1) : stdout;
  return name === '' ? null : name;
}

/**
 * The command that dumps one snapshot. The names go by position where neither could be read as an option (one
 * starting with `-`): a thousand dumps are a quarter fewer bytes for a session's line editor to read and echo.
 */
export function dumpCommand(domain: string, name: string): string[] {
  if (domain.startsWith('-') || name.startsWith('-')) return ['snapshot-dumpxml', '--domain', domain, '--snapshotname', name];
  return ['snapshot-dumpxml', domain, name];
}

type Dumped = { xml: string } | { missing: true } | { error: unknown };

/**
 * Reads the snapshots of `domain`; unreadable ones and unmatched lines become problems in `problems`. Dumps in
 * `ahead` are taken from there; any other is asked for here.
 */
export async function readSnapshots(reader: LibvirtReader, domain: string, listed: string[], problems: Problem[], ahead: Dumps = new Map()): Promise<RawSnapshot[]> {
  const tried = new Map<string, Promise<Dumped>>();
  const dump = (name: string): Promise<Dumped> => {
    let pending = tried.get(name);
    if (pending === undefined) {
      pending = (ahead.get(name) ?? reader.dumpSnapshot(domain, name)).then(
        (xml): Dumped => (xml === null ? { missing: true } : { xml }),
        (error: unknown): Dumped => ({ error }),
      );
      tried.set(name, pending);
    }
    return pending;
  };
  const found = new Map<string, RawSnapshot>();
  const unreadable = new Set<string>();
  const take = async (name: string): Promise<boolean> => {
    if (found.has(name) || unreadable.has(name)) return true;
    const got = await dump(name);
    if ('missing' in got) return false;
    try {
      if ('error' in got) throw got.error;
      const snapshot = parseSnapshotXml(got.xml);
      found.set(snapshot.name, snapshot);
    } catch (error) {
      unreadable.add(name);
      problems.push({
        code: 'snapshot-unreadable',
        severity: 'error',
        message: `Snapshot "${name}" cannot be read: ${error instanceof Error ? error.message : String(error)}`,
        domain,
        snapshot: name,
      });
    }
    return true;
  };

  const named = await Promise.all(listed.map(take));
  // Parents named in full: a name with a line break that some child records.
  for (let grew = true; grew; ) {
    const wanted = [...found.values()].map((s) => s.parent).filter((p): p is string => p !== null && !found.has(p) && !unreadable.has(p));
    grew = (await Promise.all([...new Set(wanted)].map(take))).some(Boolean);
  }
  const whole = (i: number): boolean => [...found.keys(), ...unreadable].some((n) => n.includes('\n') && n.split('\n').includes(listed[i] as string));
  for (let i = 0; i < listed.length; i++) {
    if (named[i] === true || whole(i)) continue;
    for (const [from, to] of joins(i, listed.length)) {
      if (await take(listed.slice(from, to + 1).join('\n'))) break;
    }
    if (whole(i)) continue;
    problems.push({
      code: 'snapshot-unreadable',
      severity: 'warning',
      message: `virsh lists a snapshot line ${JSON.stringify(listed[i])} that names no snapshot: part of a name holding a line break, which virsh cannot list whole. That snapshot is not shown.`,
      domain,
    });
  }
  return inListingOrder([...found.values()], listed);
}

/**
 * The snapshots in the order virsh lists them, whichever dump answered first. A name holding a line break takes
 * the place of its first line: virsh sorted the whole names, then printed each over several lines.
 */
function inListingOrder(snapshots: RawSnapshot[], listed: string[]): RawSnapshot[] {
  const order = new Map(listed.map((n, i) => [n, i]));
  const at = (name: string) => order.get(name) ?? order.get(name.split('\n')[0] ?? '') ?? listed.length;
  return snapshots.sort((a, b) => at(a.name) - at(b.name));
}

/** Runs of lines around line `i` to try as one name, shortest first: `[from, to]`, both included. */
function joins(i: number, count: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let length = 2; length <= JOIN_SPAN + 1; length++) {
    for (let from = Math.max(0, i - length + 1); from <= i && from + length - 1 < count; from++) out.push([from, from + length - 1]);
  }
  return out;
}
