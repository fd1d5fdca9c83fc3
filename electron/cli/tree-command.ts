/**
 * The CLI's `tree`: the snapshot graph of a libvirt connection or an image folder, as text or as the model's JSON
 * (docs/architecture.md, "From scan to picture"). Given domain names, a connection is scanned for those domains
 * only, as the engine rescans one domain after an operation, rather than scanned whole and filtered.
 */
import { resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import { formatTree } from '../../shared/format-tree';
import type { ScanResult, Source } from '../../shared/model';
import { Engine } from '../engine';
import { listedNames } from '../scan/list-snapshots';
import { scanLibvirt } from '../scan/scan-libvirt';
import { DEFAULT_URI } from './ops-commands';
import { out } from './output';

export interface TreeFlags {
  connect?: string;
  folder?: string;
  /** One domain, as `--domain NAME`; added to the names given as arguments. */
  domain?: string;
  json?: boolean;
}

function notFound(name: string): AppError {
  return new AppError('E_NOT_FOUND', `No domain named "${name}".`, { domain: name });
}

/** Scans only `names` of a connection; a name the connection does not list is E_NOT_FOUND. */
async function scanDomains(engine: Engine, uri: string, names: string[]): Promise<ScanResult> {
  const virsh = engine.virsh(uri);
  // The listing runs beside the scan; a connection that cannot be read fails the scan with its own error first.
  const [listed, result] = await Promise.all([virsh.run(['list', '--all', '--name']).then(listedNames, () => null), scanLibvirt(virsh, { domains: names })]);
  const missing = listed === null ? undefined : names.find((n) => !listed.includes(n));
  if (missing !== undefined) throw notFound(missing);
  return result;
}

/** What `tree` prints: every domain of the source, or the ones named, in the order named. */
async function scanForTree(engine: Engine, source: Source, names: string[]): Promise<ScanResult> {
  if (names.length > 0 && source.kind === 'libvirt') return scanDomains(engine, source.uri, names);
  const result = await engine.scan(source);
  if (names.length === 0) return result;
  const missing = names.find((n) => !result.domains.some((d) => d.name === n));
  if (missing !== undefined) throw notFound(missing);
  return { ...result, domains: names.flatMap((n) => result.domains.filter((d) => d.name === n)) };
}

/** Runs `tree`: `names` are domain names taken verbatim, already checked against the input rules. */
export async function runTree(names: string[], flags: TreeFlags): Promise<void> {
  if (flags.connect !== undefined && flags.folder !== undefined) {
    throw new AppError('E_BAD_INPUT', 'Give either --connect or --folder, not both.');
  }
  const source: Source = flags.folder !== undefined ? { kind: 'folder', path: resolve(flags.folder) } : { kind: 'libvirt', uri: flags.connect ?? DEFAULT_URI };
  const wanted = [...new Set([...(flags.domain !== undefined ? [flags.domain] : []), ...names])];
  const engine = new Engine({ host: 'serve' });
  try {
    const result = await scanForTree(engine, source, wanted);
    out(flags.json ? `${JSON.stringify(result, null, 2)}\n` : formatTree(result));
  } finally {
    await engine.close();
  }
}
