/**
 * Parsers for libvirt's domain and snapshot XML. Paths come out as libvirt wrote them; the scanner makes
 * them canonical.
 */
import { DOMParser, type Element } from '@xmldom/xmldom';
import type { RecordedBranches } from '../../shared/assemble';
import { AppError } from '../../shared/errors';
import type { BranchTip } from '../../shared/model';

/** The app's XML namespace for its records in a domain's `<metadata>`. */
export const SNAPTREE_NS = 'urn:virt-snaptree:branches:1';
export const SNAPTREE_KEY = 'snaptree';

export interface RawDisk {
  target: string;
  device: string;
  /** libvirt's disk type: `file`, `block`, `network`, `volume`, `dir`. */
  type: string;
  file: string | null;
  format: string | null;
  managed: boolean;
  reason?: string;
}

export interface RawSnapshot {
  name: string;
  parent: string | null;
  description: string | null;
  created: string | null;
  state: string;
  memoryFile: string | null;
  disks: Array<{ target: string; kind: string; overlay: string | null; format: string | null }>;
}

function parse(xml: string, what: string): Element {
  let root: Element | null = null;
  try {
    root = new DOMParser().parseFromString(xml, 'text/xml').documentElement;
  } catch (error) {
    throw new AppError('E_TOOL', `The ${what} XML cannot be parsed: ${(error as Error).message}`);
  }
  if (root === null) throw new AppError('E_TOOL', `The ${what} XML is empty.`);
  return root;
}

/** Direct children of `el` named `name`. */
function children(el: Element, name: string): Element[] {
  const out: Element[] = [];
  for (let node = el.firstChild; node !== null; node = node.nextSibling) {
    if (node.nodeType === node.ELEMENT_NODE && (node as Element).localName === name) out.push(node as Element);
  }
  return out;
}

function child(el: Element, name: string): Element | null {
  return children(el, name)[0] ?? null;
}

function attr(el: Element | null, name: string): string | null {
  if (el === null) return null;
  return el.hasAttribute(name) ? el.getAttribute(name) : null;
}

function text(el: Element | null): string | null {
  return el === null ? null : (el.textContent ?? '').trim();
}

/** Why a disk is not managed, or undefined when it is (a file-backed qcow2 or raw disk). */
function unmanagedReason(device: string, type: string, file: string | null, format: string | null): string | undefined {
  if (device === 'cdrom' || device === 'floppy') return `${device === 'cdrom' ? 'CD-ROM' : 'Floppy'} drive: media, not a managed disk.`;
  if (type === 'network') return 'Network disk: not a local file.';
  if (type === 'volume') return 'Storage pool volume: managed by its pool, not by image files.';
  if (type === 'block') return 'Block device (LVM or partition): not an image file.';
  if (type === 'dir') return 'Directory-backed disk: not an image file.';
  if (type !== 'file') return `Disk type "${type}" is not managed.`;
  if (file === null) return 'No image attached.';
  if (format !== null && format !== 'qcow2' && format !== 'raw') return `Format ${format} is not managed (qcow2 and raw are).`;
  return undefined;
}

/** Reads the disks of a domain definition from `<devices><disk>`. */
export function parseDomainDisks(xml: string): RawDisk[] {
  const root = parse(xml, 'domain');
  const devices = child(root, 'devices');
  if (devices === null) return [];
  return children(devices, 'disk').map((disk) => {
    const type = attr(disk, 'type') ?? 'file';
    const device = attr(disk, 'device') ?? 'disk';
    const source = child(disk, 'source');
    const file = attr(source, 'file') ?? attr(source, 'dev');
    const format = attr(child(disk, 'driver'), 'type');
    const target = attr(child(disk, 'target'), 'dev') ?? '?';
    const reason = unmanagedReason(device, type, type === 'file' ? file : null, format);
    return {
      target,
      device,
      type,
      file: type === 'file' ? file : null,
      format,
      managed: reason === undefined,
      ...(reason !== undefined ? { reason } : {}),
    };
  });
}

/** Reads the app's branch records from a domain's `<metadata>`; an absent record is an empty one. */
export function parseBranchRecords(xml: string): RecordedBranches {
  const root = parse(xml, 'domain');
  const metadata = child(root, 'metadata');
  const none: RecordedBranches = { current: null, branches: [] };
  if (metadata === null) return none;
  const record = children(metadata, 'branches').find((el) => el.namespaceURI === SNAPTREE_NS);
  if (record === undefined) return none;
  return {
    current: attr(record, 'current'),
    branches: children(record, 'branch')
      .map((branch) => ({
        name: attr(branch, 'name') ?? '',
        tips: children(branch, 'tip')
          .map((tip): BranchTip => ({ target: attr(tip, 'target') ?? '', file: attr(tip, 'file') ?? '' }))
          .filter((tip) => tip.target !== '' && tip.file !== ''),
      }))
      .filter((branch) => branch.name !== '' && branch.tips.length > 0),
  };
}

/** Reads a `<domainsnapshot>` document. */
export function parseSnapshotXml(xml: string): RawSnapshot {
  const root = parse(xml, 'snapshot');
  const created = text(child(root, 'creationTime'));
  const memory = child(root, 'memory');
  const disksEl = child(root, 'disks');
  const parentEl = child(root, 'parent');
  return {
    name: text(child(root, 'name')) ?? '',
    parent: parentEl === null ? null : text(child(parentEl, 'name')),
    description: text(child(root, 'description')),
    created: created !== null && /^\d+$/.test(created) ? new Date(Number(created) * 1000).toISOString() : null,
    state: text(child(root, 'state')) ?? 'unknown',
    memoryFile: attr(memory, 'snapshot') === 'external' ? attr(memory, 'file') : null,
    disks: (disksEl === null ? [] : children(disksEl, 'disk')).map((disk) => ({
      target: attr(disk, 'name') ?? '?',
      kind: attr(disk, 'snapshot') ?? 'external',
      overlay: attr(child(disk, 'source'), 'file'),
      format: attr(child(disk, 'driver'), 'type'),
    })),
  };
}
