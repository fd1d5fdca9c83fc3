/**
 * The CLI's `tree`: the snapshot graph of a libvirt connection or an image folder, as text or as the model's JSON
 * (docs/architecture.md, "From scan to picture"). Given domain names, a connection is scanned for those domains
 * only, as the engine rescans one domain after an operation, rather than scanned whole and filtered.
 */
import { resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import { formatTree } from '../../shared/format-tree';
import type { ScanResult, Source } from '../../shared/model';
import { connectionUriProblem } from '../../shared/source-rules';
import { VirshPool } from '../tools/virsh';
import type { Engine } from '../engine';
import { DEFAULT_URI, openEngine } from './ops-commands';
import { out } from './output';

export interface TreeFlags {
  connect?: string;
  folder?: string;
  /** One domain, as `--domain NAME`; added to the names given as arguments. */
  domain?: string;
  json?: boolean;
}

/** Prints the result: before the connection closes, since virsh takes a moment to quit. */
type Show = (result: ScanResult) => void;

/** Sessions for a scan of named domains read by virsh: they read the domains; the dumps run in batches. */
const SESSIONS = 2;

function notFound(name: string): AppError {
  return new AppError('E_NOT_FOUND', `No domain named "${name}".`, { domain: name });
}

/**
 * Scans only `names` of a connection; a name the connection does not list is E_NOT_FOUND. The connection is
 * checked as the engine checks one (engine.virsh) and read as the engine reads it: through libvirt's library
 * when it is local and the library opens it, else by virsh sessions.
 */
async function scanDomains(uri: string, names: string[], show: Show): Promise<void> {
  const problem = connectionUriProblem(uri);
  if (problem !== null) throw new AppError('E_BAD_INPUT', problem, { uri });
  // The library connects on its own threads while the scanner's modules load here.
  const { openNative, nativeReader, virshReader } = await import('../scan/libvirt-reader');
  const opening = openNative(uri);
  const { scanConnection } = await import('../scan/remote-scan');
  const native = await opening;
  const virsh = new VirshPool(uri, SESSIONS);
  if (native === null) virsh.open();
  const reader = native !== null ? nativeReader(native) : virshReader(virsh);
  try {
    const result = await scanConnection(reader, { domains: names });
    // Only a domain that could not be read may be one the connection does not have: the listing says which.
    if (result.domains.some((d) => d.problems.some((p) => p.code === 'domain-unreadable'))) {
      const listed = await reader.listDomains().catch(() => null);
      const missing = listed === null ? undefined : names.find((n) => !listed.includes(n));
      if (missing !== undefined) throw notFound(missing);
    }
    show(result);
  } finally {
    // Told to quit, not waited for: once the result is out nothing waits on them, and virsh quits by itself.
    void virsh.close();
    void native?.close();
  }
}

/** What `tree` prints: every domain of the source, or the ones named, in the order named. */
async function scanForTree(source: Source, names: string[], show: Show): Promise<void> {
  if (names.length > 0 && source.kind === 'libvirt') return scanDomains(source.uri, names, show);
  const engine: Engine = await openEngine();
  try {
    const result = await engine.scan(source);
    const missing = names.find((n) => !result.domains.some((d) => d.name === n));
    if (missing !== undefined) throw notFound(missing);
    show(names.length === 0 ? result : { ...result, domains: names.flatMap((n) => result.domains.filter((d) => d.name === n)) });
  } finally {
    await engine.close();
  }
}

/** Runs `tree`: `names` are domain names taken verbatim, already checked against the input rules. */
export async function runTree(names: string[], flags: TreeFlags): Promise<void> {
  if (flags.connect !== undefined && flags.folder !== undefined) {
    throw new AppError('E_BAD_INPUT', 'Give either --connect or --folder, not both.');
  }
  const source: Source = flags.folder !== undefined ? { kind: 'folder', path: resolve(flags.folder) } : { kind: 'libvirt', uri: flags.connect ?? DEFAULT_URI };
  const wanted = [...new Set([...(flags.domain !== undefined ? [flags.domain] : []), ...names])];
  await scanForTree(source, wanted, (result) => out(flags.json ? `${JSON.stringify(result, null, 2)}\n` : formatTree(result)));
}
