/**
 * Compares the backing chain a domain's XML states (`<backingStore>`, in the live XML of a running domain) with the
 * chain the image headers give, which is what QEMU opens next time and what the graph shows. They differ when a
 * header was changed behind libvirt's back: the graph then warns rather than trusting either silently.
 */
import { walkChain } from '../../shared/assemble';
import type { Layer, Problem } from '../../shared/model';
import type { RawDisk } from './libvirt-xml';

/** What the comparison needs of the layer reader: its layers and its canonical paths. */
export interface ChainSource {
  readonly layers: Record<string, Layer>;
  canonical(path: string): string | null;
}

/** A `backing-mismatch` warning for `disk`, without its domain; null when they agree or nothing can be compared. */
export function backingMismatch(reader: ChainSource, disk: RawDisk): Omit<Problem, 'domain'> | null {
  if (disk.backingStore === null || !disk.managed || disk.file === null) return null;
  const top = reader.canonical(disk.file);
  if (top === null || reader.layers[top] === undefined) return null;
  const chain = walkChain(reader.layers, top);
  const headers = chain.slice(1);
  const last = reader.layers[chain[chain.length - 1] as string];
  // A chain that stops at a backing file the scan could not read has its own problem; compare what was read.
  const complete = last?.backing === null;
  const stated = disk.backingStore.map((p) => (p.startsWith('/') ? (reader.canonical(p) ?? p) : p));
  const compared = complete ? stated : stated.slice(0, headers.length);
  const agree = compared.length === headers.length && compared.every((p, i) => p === headers[i]);
  if (agree || (!complete && compared.every((p, i) => p === headers[i]))) return null;
  const show = (list: string[]): string => (list.length === 0 ? '(none)' : list.join(' → '));
  return {
    code: 'backing-mismatch',
    severity: 'warning',
    message: `Disk ${disk.target}: libvirt's domain XML states the backing chain ${show(disk.backingStore)}, but the image headers give ${show(headers)}. QEMU follows the headers; the graph shows them.`,
    target: disk.target,
    path: top,
  };
}
