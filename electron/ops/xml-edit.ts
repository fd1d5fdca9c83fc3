/**
 * Edits libvirt XML with a DOM, so that everything the edit does not touch round-trips unchanged: a domain's
 * disk sources and the app's branch records, a snapshot's file names and parent.
 */
import { DOMParser, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import type { BranchRecords } from '../../shared/ops/plan';
import { AppError } from '../../shared/errors';
import { children, SNAPTREE_NS } from '../scan/libvirt-xml';

function parse(xml: string): Document {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  if (doc.documentElement === null) throw new AppError('E_TOOL', 'libvirt returned XML that cannot be parsed.');
  return doc;
}

function ensureChild(doc: Document, parent: Element, name: string, before?: Element | null): Element {
  const existing = children(parent, name)[0];
  if (existing !== undefined) return existing;
  const el = doc.createElement(name);
  parent.insertBefore(el, before ?? null);
  return el;
}

/** Points the given disks (by target) at new files of the given formats. */
function setDiskSources(doc: Document, disks: Record<string, { file: string; format: string }>): void {
  const devices = children(doc.documentElement as Element, 'devices')[0];
  const seen = new Set<string>();
  for (const disk of devices === undefined ? [] : children(devices, 'disk')) {
    const target = children(disk, 'target')[0]?.getAttribute('dev') ?? '';
    const wanted = disks[target];
    if (wanted === undefined) continue;
    ensureChild(doc, disk, 'source').setAttribute('file', wanted.file);
    ensureChild(doc, disk, 'driver').setAttribute('type', wanted.format);
    // A backing chain libvirt recorded for the old file no longer applies.
    for (const store of children(disk, 'backingStore')) disk.removeChild(store);
    seen.add(target);
  }
  const missing = Object.keys(disks).filter((t) => !seen.has(t));
  if (missing.length > 0) throw new AppError('E_CHANGED', `The domain has no disk ${missing.join(', ')} any more.`);
}

/** Replaces the app's `<metadata>` record with `records`; other applications' metadata stays. */
function setBranchRecords(doc: Document, records: BranchRecords): void {
  const root = doc.documentElement as Element;
  const metadata = ensureChild(doc, root, 'metadata', children(root, 'memory')[0] ?? null);
  for (const old of children(metadata, 'branches')) if (old.namespaceURI === SNAPTREE_NS) metadata.removeChild(old);
  const el = doc.createElementNS(SNAPTREE_NS, 'snaptree:branches');
  if (records.current !== null) el.setAttribute('current', records.current);
  for (const branch of records.branches) {
    const b = doc.createElementNS(SNAPTREE_NS, 'snaptree:branch');
    b.setAttribute('name', branch.name);
    for (const tip of branch.tips) {
      const t = doc.createElementNS(SNAPTREE_NS, 'snaptree:tip');
      t.setAttribute('target', tip.target);
      t.setAttribute('file', tip.file);
      b.appendChild(t);
    }
    if (branch.memory !== undefined) {
      const m = doc.createElementNS(SNAPTREE_NS, 'snaptree:memory');
      m.setAttribute('file', branch.memory);
      if (branch.memoryFingerprint !== undefined) m.setAttribute('fingerprint', branch.memoryFingerprint);
      b.appendChild(m);
    }
    el.appendChild(b);
  }
  metadata.appendChild(el);
}

export function editDomainXml(xml: string, disks: Record<string, { file: string; format: string }>, records: BranchRecords): string {
  const doc = parse(xml);
  setDiskSources(doc, disks);
  setBranchRecords(doc, records);
  return new XMLSerializer().serializeToString(doc);
}

/**
 * A snapshot record with `disks` (target to file and format) as its `<revertDisks>`, as libvirt 9.9 and later writes
 * them after its own revert; null: without any.
 */
export function setRevertDisks(xml: string, disks: Record<string, { file: string; format: string }> | null): string {
  const doc = parse(xml);
  const root = doc.documentElement as Element;
  for (const old of children(root, 'revertDisks')) root.removeChild(old);
  if (disks !== null) {
    const list = doc.createElement('revertDisks');
    for (const [target, { file, format }] of Object.entries(disks)) {
      const disk = doc.createElement('disk');
      disk.setAttribute('name', target);
      disk.setAttribute('snapshot', 'external');
      disk.setAttribute('type', 'file');
      const driver = doc.createElement('driver');
      driver.setAttribute('type', format);
      const source = doc.createElement('source');
      source.setAttribute('file', file);
      disk.appendChild(driver);
      disk.appendChild(source);
      list.appendChild(disk);
    }
    root.insertBefore(list, children(root, 'disks')[0]?.nextSibling ?? null);
  }
  return new XMLSerializer().serializeToString(doc);
}

/** Whether a snapshot record holds `<revertDisks>` (libvirt 9.9 and later). */
export function hasRevertDisks(xml: string): boolean {
  return children(parse(xml).documentElement as Element, 'revertDisks').length > 0;
}

/** Renames files everywhere a snapshot record names them (its disks and its saved definitions). */
export function editSnapshotXml(xml: string, replace: Record<string, string>, parent?: string | null): string {
  const doc = parse(xml);
  const root = doc.documentElement as Element;
  const sources = root.getElementsByTagName('source');
  for (let i = 0; i < sources.length; i++) {
    const source = sources.item(i);
    const file = source?.getAttribute('file');
    if (source && file && replace[file] !== undefined) source.setAttribute('file', replace[file]);
  }
  if (parent !== undefined) {
    for (const old of children(root, 'parent')) root.removeChild(old);
    if (parent !== null) {
      const el = doc.createElement('parent');
      const name = doc.createElement('name');
      name.appendChild(doc.createTextNode(parent));
      el.appendChild(name);
      root.insertBefore(el, children(root, 'creationTime')[0] ?? root.firstChild);
    }
  }
  return new XMLSerializer().serializeToString(doc);
}

/**
 * A snapshot record with `description` as its `<description>`, set as a text node so the serializer escapes it
 * (quotes, `<`, `&`, line breaks stay the user's text); null removes it.
 */
export function setSnapshotDescription(xml: string, description: string | null): string {
  const doc = parse(xml);
  const root = doc.documentElement as Element;
  const old = children(root, 'description');
  for (const el of old.slice(1)) root.removeChild(el);
  const first = old[0];
  if (description === null) {
    if (first !== undefined) root.removeChild(first);
    return new XMLSerializer().serializeToString(doc);
  }
  const el = first ?? doc.createElement('description');
  while (el.firstChild !== null) el.removeChild(el.firstChild);
  el.appendChild(doc.createTextNode(description));
  // libvirt writes it right after the name.
  if (first === undefined) root.insertBefore(el, children(root, 'name')[0]?.nextSibling ?? root.firstChild);
  return new XMLSerializer().serializeToString(doc);
}
