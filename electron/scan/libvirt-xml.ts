/**
 * Parsers for libvirt's domain XML. Paths and names come out as libvirt wrote them, untrimmed; the scanner makes
 * paths canonical. Domain XML is read with xmldom, which the engine also edits it with. Snapshot documents are
 * read in snapshot-xml.ts.
 */
import { DOMParser, type Element } from '@xmldom/xmldom';
import type { RecordedBranches } from '../../shared/assemble';
import { AppError } from '../../shared/errors';
import type { BranchTip, Domain } from '../../shared/model';
import { describeSource, unmanagedReason } from './disk-source';

export { parseSnapshotXml, type RawSnapshot, type RawSnapshotDisk } from './snapshot-xml';

/** The app's XML namespace for its records in a domain's `<metadata>`. */
export const SNAPTREE_NS = 'urn:virt-snaptree:branches:1';
export const SNAPTREE_KEY = 'snaptree';
/**
 * The namespace of the record a clone the app made keeps in its `<metadata>` (libvirt takes one element per
 * namespace there, so it is not the branches'): `<clone:clone domain="SOURCE" kind="snapshot|branch" node="NAME"
 * operation="UUID"/>`.
 */
export const CLONE_NS = 'urn:virt-snaptree:clone:1';
export const CLONE_KEY = 'snaptree-clone';

export interface RawDisk {
  target: string;
  device: string;
  /** libvirt's disk type: `file`, `block`, `network`, `volume`, `dir`. */
  type: string;
  file: string | null;
  /** The format libvirt opens the image with: `<driver type>`, or raw when absent (libvirt's QEMU driver default). */
  format: string | null;
  managed: boolean;
  reason?: string;
  /**
   * The backing chain the domain XML states in `<backingStore>`, top's backing first, each a file path verbatim
   * (or a description of a source that is not a file); null when the XML states none (an inactive definition).
   */
  backingStore: string[] | null;
  /** The file a block job copies or commits the disk into (`<mirror>`, while a copy or an active commit runs). */
  mirror?: string | null;
  /** `<readonly/>` */
  readonly?: boolean;
  /** `<shareable/>` */
  shareable?: boolean;
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

/** A disk's `<mirror>` target file, when it has one (libvirt before 1.2.6 wrote it as an attribute). */
function mirrorOf(disk: Element): Pick<RawDisk, 'mirror'> {
  const mirror = child(disk, 'mirror');
  if (mirror === null) return {};
  return { mirror: attr(child(mirror, 'source'), 'file') ?? attr(mirror, 'file') };
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

/**
 * The chain a disk's `<backingStore>` states: each level's source, down to the empty `<backingStore/>` that ends
 * it. Null when the disk has no `<backingStore>` at all: libvirt then states nothing (inactive XML).
 */
function backingStoreOf(disk: Element): string[] | null {
  let level = child(disk, 'backingStore');
  if (level === null) return null;
  const chain: string[] = [];
  while (level !== null && level.hasAttribute('type')) {
    const type = attr(level, 'type') ?? 'file';
    const source = child(level, 'source');
    chain.push(describeSource(type, (a) => attr(source, a)) ?? `(${type})`);
    level = child(level, 'backingStore');
  }
  return chain;
}

/**
 * Parses a domain definition once for the readers below (disks, stated chains, branch records), which a scan
 * asks of the same document in turn. Throws E_TOOL when it is not XML.
 */
export function parseDomainXml(xml: string): Element {
  return parse(xml, 'domain');
}

/** Reads the disks of a domain definition from `<devices><disk>`. */
export function parseDomainDisks(xml: string): RawDisk[] {
  return domainDisksOf(parseDomainXml(xml));
}

/** The disks of a parsed domain definition (see parseDomainXml). */
export function domainDisksOf(root: Element): RawDisk[] {
  const devices = child(root, 'devices');
  if (devices === null) return [];
  return children(devices, 'disk').map((disk) => {
    const type = attr(disk, 'type') ?? 'file';
    const device = attr(disk, 'device') ?? 'disk';
    const source = child(disk, 'source');
    const file = type === 'file' ? attr(source, 'file') : null;
    // libvirt's QEMU driver opens a disk without <driver type> as raw, and never probes: so does the app.
    const format = attr(child(disk, 'driver'), 'type') ?? (type === 'file' && file !== null ? 'raw' : null);
    const target = attr(child(disk, 'target'), 'dev') ?? '?';
    const sliced = source !== null && child(source, 'slices') !== null;
    const reason = unmanagedReason({ device, type, file, format, sliced });
    return {
      target,
      device,
      type,
      file,
      format,
      managed: reason === undefined,
      ...(reason !== undefined ? { reason } : {}),
      backingStore: backingStoreOf(disk),
      ...mirrorOf(disk),
      ...(child(disk, 'readonly') !== null ? { readonly: true } : {}),
      ...(child(disk, 'shareable') !== null ? { shareable: true } : {}),
    };
  });
}

/** Bytes per unit of libvirt's memory sizes (domaincommon.rng, "unit"); a size with no unit is in KiB. */
const MEMORY_UNITS: Record<string, number> = {
  b: 1, bytes: 1, k: 1024, kib: 1024, kb: 1000, m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2, g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3, t: 1024 ** 4, tib: 1024 ** 4, tb: 1000 ** 4,
};

/** The RAM a parsed definition gives the domain now (`<currentMemory>`, else `<memory>`), in bytes; undefined when unstated. */
export function memoryBytesOf(root: Element): number | undefined {
  const el = child(root, 'currentMemory') ?? child(root, 'memory');
  const value = Number(el?.textContent?.trim() ?? '');
  const unit = MEMORY_UNITS[(attr(el, 'unit') ?? 'KiB').toLowerCase()];
  return el === null || !Number.isFinite(value) || value <= 0 || unit === undefined ? undefined : value * unit;
}

/** The channel name of QEMU's guest agent, as libvirt names it. */
const GUEST_AGENT = 'org.qemu.guest_agent.0';

/**
 * The guest agent of a parsed definition: `connected` when the live XML of a running domain says an agent is
 * there (`<target state='connected'/>`), `disconnected` for a channel with none, undefined with no channel.
 */
export function guestAgentOf(root: Element): 'connected' | 'disconnected' | undefined {
  const devices = child(root, 'devices');
  const target = (devices === null ? [] : children(devices, 'channel'))
    .map((channel) => child(channel, 'target'))
    .find((t) => attr(t, 'type') === 'virtio' && attr(t, 'name') === GUEST_AGENT);
  if (target === undefined) return undefined;
  return attr(target ?? null, 'state') === 'connected' ? 'connected' : 'disconnected';
}

/**
 * The UEFI variable store of a parsed definition (`<os><nvram>`), as libvirt wrote it: the element's text, or the
 * file of its `<source>` (`type='file'`, libvirt 8.5 and later); undefined when it has none, or none in a file.
 */
export function nvramOf(root: Element): string | undefined {
  const os = child(root, 'os');
  const nvram = os === null ? null : child(os, 'nvram');
  if (nvram === null) return undefined;
  const type = attr(nvram, 'type');
  if (type !== null && type !== 'file') return undefined;
  const source = child(nvram, 'source');
  const path = (source !== null ? attr(source, 'file') : nvram.textContent)?.trim() ?? '';
  return path === '' ? undefined : path;
}

/**
 * Whether a parsed definition lets libvirt choose the UEFI firmware (`<os firmware='efi'>`): libvirt then keeps
 * the variable store at its default place, which the inactive definition does not name (see defaultNvramOf).
 */
export function autoselectsEfi(root: Element): boolean {
  const os = child(root, 'os');
  return os !== null && attr(os, 'firmware') === 'efi';
}

/**
 * Where libvirt keeps the variable store of domain `name` that names none, on connection `uri`: for the system
 * daemon, `/var/lib/libvirt/qemu/nvram/NAME_VARS.fd` (libvirt's nvram_dir, made at the first start from the
 * firmware's template; the running definition names it). Null for a connection whose default place is not known
 * here (a session daemon's is under its user's home).
 */
export function defaultNvramOf(uri: string, name: string): string | null {
  return /^qemu(\+[a-z]+)?:\/\/[^/]*\/system(\?.*)?$/.test(uri) ? `/var/lib/libvirt/qemu/nvram/${name}_VARS.fd` : null;
}

/**
 * The app's clone record of a parsed definition (CLONE_NS in `<metadata>`): the source domain, the snapshot or
 * branch it was cloned from and the operation that made it; undefined when there is none or it is incomplete.
 */
export function cloneRecordOf(root: Element): Domain['cloneOf'] {
  const metadata = child(root, 'metadata');
  const record = metadata === null ? undefined : children(metadata, 'clone').find((el) => el.namespaceURI === CLONE_NS);
  if (record === undefined) return undefined;
  const domain = attr(record, 'domain');
  const kind = attr(record, 'kind');
  const node = attr(record, 'node');
  const operation = attr(record, 'operation');
  if (domain === null || domain === '' || node === null || node === '' || operation === null || (kind !== 'snapshot' && kind !== 'branch')) return undefined;
  return { domain, node: { kind, name: node }, operation };
}

/** Reads the app's branch records from a domain's `<metadata>`; an absent record is an empty one. */
export function parseBranchRecords(xml: string): RecordedBranches {
  return branchRecordsOf(parseDomainXml(xml));
}

/** The app's branch records of a parsed domain definition (see parseDomainXml). */
export function branchRecordsOf(root: Element): RecordedBranches {
  const metadata = child(root, 'metadata');
  const none: RecordedBranches = { current: null, branches: [] };
  if (metadata === null) return none;
  const record = children(metadata, 'branches').find((el) => el.namespaceURI === SNAPTREE_NS);
  if (record === undefined) return none;
  return {
    current: attr(record, 'current'),
    branches: children(record, 'branch')
      .map((branch) => {
        const memoryEl = children(branch, 'memory')[0] ?? null;
        const memory = attr(memoryEl, 'file');
        const fingerprint = attr(memoryEl, 'fingerprint');
        return {
          name: attr(branch, 'name') ?? '',
          tips: children(branch, 'tip')
            .map((tip): BranchTip => ({ target: attr(tip, 'target') ?? '', file: attr(tip, 'file') ?? '' }))
            .filter((tip) => tip.target !== '' && tip.file !== ''),
          ...(memory !== null && memory !== '' ? { memory, ...(fingerprint !== null ? { memoryFingerprint: fingerprint } : {}) } : {}),
        };
      })
      .filter((branch) => branch.name !== '' && branch.tips.length > 0),
  };
}
