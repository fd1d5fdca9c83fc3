/**
 * Parsers for libvirt's domain and snapshot XML. Paths come out as libvirt wrote them; the scanner makes
 * them canonical. Domain XML is read with xmldom, which the engine also edits it with; the thousands of
 * snapshot documents of a large host are read with htmlparser2, several times faster.
 */
import { DOMParser, type Element } from '@xmldom/xmldom';
import { parseDocument } from 'htmlparser2';
import type { Element as FastElement } from 'domhandler';
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
  revertFiles: string[];
}

// One parser for every document: building one costs as much as parsing a snapshot.
const parser = new DOMParser();

function parse(xml: string, what: string): Element {
  let root: Element | null = null;
  try {
    root = parser.parseFromString(xml, 'text/xml').documentElement;
  } catch (error) {
    throw new AppError('E_TOOL', `The ${what} XML cannot be parsed: ${(error as Error).message}`);
  }
  if (root === null) throw new AppError('E_TOOL', `The ${what} XML is empty.`);
  return root;
}

/** Direct children of `el` named `name`. */
export function children(el: Element, name: string): Element[] {
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

/** Cuts the element `<name ...>...</name>` out of a document's text, when present. */
function cutElement(xml: string, name: string): string {
  for (let at = xml.indexOf(`<${name}`, 1); at !== -1; at = xml.indexOf(`<${name}`, at + 1)) {
    const next = xml[at + name.length + 1];
    if (next !== ' ' && next !== '>' && next !== '\n' && next !== '\t') continue;
    const close = xml.lastIndexOf(`</${name}>`);
    return close < at ? xml : xml.slice(0, at) + xml.slice(close + name.length + 3);
  }
  return xml;
}

function fastChildren(el: FastElement, name: string): FastElement[] {
  return el.children.filter((c): c is FastElement => c.type === 'tag' && c.name === name);
}

function fastChild(el: FastElement | null, name: string): FastElement | null {
  return el === null ? null : (fastChildren(el, name)[0] ?? null);
}

function fastAttr(el: FastElement | null, name: string): string | null {
  return el?.attribs[name] ?? null;
}

function fastText(el: FastElement | null): string | null {
  if (el === null) return null;
  let out = '';
  const walk = (node: FastElement['children'][number]): void => {
    if (node.type === 'text') out += node.data;
    else if ('children' in node) node.children.forEach(walk);
  };
  el.children.forEach(walk);
  return out.trim();
}

/**
 * Reads a `<domainsnapshot>` document. The saved `<domain>` definitions it carries are most of its text and
 * none of what the graph needs; they are cut before parsing.
 */
export function parseSnapshotXml(xml: string): RawSnapshot {
  const document = parseDocument(cutElement(cutElement(xml, 'inactiveDomain'), 'domain'), { xmlMode: true, decodeEntities: true });
  const root = document.children.find((c): c is FastElement => c.type === 'tag' && c.name === 'domainsnapshot');
  if (root === undefined) throw new AppError('E_TOOL', 'The snapshot XML has no <domainsnapshot> element.');
  const created = fastText(fastChild(root, 'creationTime'));
  const memory = fastChild(root, 'memory');
  const disksEl = fastChild(root, 'disks');
  const parentEl = fastChild(root, 'parent');
  return {
    name: fastText(fastChild(root, 'name')) ?? '',
    parent: parentEl === null ? null : fastText(fastChild(parentEl, 'name')),
    description: fastText(fastChild(root, 'description')),
    created: created !== null && /^\d+$/.test(created) ? new Date(Number(created) * 1000).toISOString() : null,
    state: fastText(fastChild(root, 'state')) ?? 'unknown',
    memoryFile: fastAttr(memory, 'snapshot') === 'external' ? fastAttr(memory, 'file') : null,
    disks: (disksEl === null ? [] : fastChildren(disksEl, 'disk')).map((disk) => ({
      target: fastAttr(disk, 'name') ?? '?',
      kind: fastAttr(disk, 'snapshot') ?? 'external',
      overlay: fastAttr(fastChild(disk, 'source'), 'file'),
      format: fastAttr(fastChild(disk, 'driver'), 'type'),
    })),
    revertFiles: fastChildren(fastChild(root, 'revertDisks') ?? root, 'disk')
      .filter(() => fastChild(root, 'revertDisks') !== null)
      .map((disk) => fastAttr(fastChild(disk, 'source'), 'file'))
      .filter((file): file is string => file !== null),
  };
}
