/**
 * Edits libvirt XML with a DOM, so that everything the edit does not touch round-trips unchanged: a domain's
 * disk sources and the app's branch records, a snapshot's file names and parent, a clone's new definition.
 */
import { randomUUID } from 'node:crypto';
import { DOMParser, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import type { BranchRecords, NodeRef } from '../../shared/ops/plan';
import { AppError } from '../../shared/errors';
import { children, CLONE_KEY, CLONE_NS, SNAPTREE_NS } from '../scan/libvirt-xml';

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

/** What makes a clone's definition: its name, its disks' new files and formats by target, its variable store, its record. */
export interface CloneEdit {
  name: string;
  disks: Record<string, { file: string; format: string }>;
  /** The clone's own variable store; null when the source has none. */
  nvram: string | null;
  /** The record kept in `<metadata>`: the source domain, the node cloned, the operation that made it. */
  record: { domain: string; node: NodeRef; operation: string };
}

/** Replaces the content of `el` with the text `text`. */
function replaceText(doc: Document, el: Element, text: string): void {
  while (el.firstChild !== null) el.removeChild(el.firstChild);
  el.appendChild(doc.createTextNode(text));
}

/** The text of the first child `name` of `parent`, set (made when missing) to `text`. */
function setText(doc: Document, parent: Element, name: string, text: string, before?: Element | null): void {
  replaceText(doc, ensureChild(doc, parent, name, before), text);
}

/**
 * A new name and UUID (the SMBIOS system UUID with it, which libvirt wants equal), a new VM generation ID where the
 * source has one (libvirt's domain format: a copied or cloned VM gets a new one, so its guest knows it is a copy),
 * no title, no live id.
 */
function setIdentity(doc: Document, root: Element, name: string): void {
  root.removeAttribute('id');
  setText(doc, root, 'name', name, root.firstChild as Element | null);
  const uuid = randomUUID();
  setText(doc, root, 'uuid', uuid, children(root, 'name')[0]?.nextSibling as Element | null);
  for (const title of children(root, 'title')) root.removeChild(title);
  for (const genid of children(root, 'genid')) if ((genid.textContent ?? '').trim() !== '') replaceText(doc, genid, randomUUID());
  for (const sysinfo of children(root, 'sysinfo'))
    for (const system of children(sysinfo, 'system'))
      for (const entry of children(system, 'entry')) if (entry.getAttribute('name') === 'uuid') replaceText(doc, entry, uuid);
}

/**
 * Takes out of the devices what would clash with the source's (as virt-clone does): each interface's MAC address
 * and host device name (libvirt makes new ones), fixed graphics ports (auto-allocated instead), and a unix channel
 * socket path naming the channel (libvirt makes one per domain).
 */
function freeDevices(devices: Element): void {
  for (const iface of children(devices, 'interface')) {
    for (const mac of children(iface, 'mac')) iface.removeChild(mac);
    for (const target of children(iface, 'target')) iface.removeChild(target);
  }
  for (const graphics of children(devices, 'graphics')) {
    const fixed = ['port', 'tlsPort'].some((a) => graphics.hasAttribute(a) && graphics.getAttribute(a) !== '-1');
    if (fixed || graphics.getAttribute('autoport') === 'no') {
      graphics.removeAttribute('port');
      graphics.removeAttribute('tlsPort');
      graphics.setAttribute('autoport', 'yes');
    }
    if (graphics.hasAttribute('websocket') && graphics.getAttribute('websocket') !== '-1') graphics.setAttribute('websocket', '-1');
  }
  for (const channel of children(devices, 'channel')) {
    if (channel.getAttribute('type') !== 'unix') continue;
    const name = children(channel, 'target')[0]?.getAttribute('name') ?? '';
    for (const source of children(channel, 'source')) if (name !== '' && (source.getAttribute('path') ?? '').includes(name)) source.removeAttribute('path');
  }
}

/**
 * The clone's own file for a file its source's serial port, console or channel writes (as virt-clone names them):
 * one named after the source is named after the clone, any other gets the clone's name added before its extension
 * (`serial.log` → `serial-NEW.log`).
 */
function cloneFileName(path: string, source: string, clone: string): string {
  const slash = path.lastIndexOf('/');
  const [dir, base] = [path.slice(0, slash + 1), path.slice(slash + 1)];
  const dot = base.lastIndexOf('.');
  const [stem, extension] = dot > 0 && base.length - dot - 1 <= 7 ? [base.slice(0, dot), base.slice(dot)] : [base, ''];
  return `${dir}${stem === source ? clone : `${stem}-${clone}`}${extension}`;
}

/** Devices whose output QEMU or virtlogd writes to a file: a clone started would truncate or append to its source's. */
const CHARACTER_DEVICES = ['serial', 'console', 'parallel', 'channel'];

/** Each file a serial port, console, parallel port or channel of `devices` writes (its `<source path>` or `<log file>`): the element and attribute naming it. */
function outputFileAttributes(devices: Element): Array<{ el: Element; attribute: string }> {
  return CHARACTER_DEVICES.flatMap((tag) => children(devices, tag)).flatMap((device) => [
    ...(device.getAttribute('type') === 'file' ? children(device, 'source').map((el) => ({ el, attribute: 'path' })) : []),
    ...children(device, 'log').map((el) => ({ el, attribute: 'file' })),
  ]);
}

/** Gives each file-backed serial port, console, parallel port and channel, and each one's log, a file of the clone's own. */
function ownOutputFiles(devices: Element, source: string, clone: string): void {
  for (const { el, attribute } of outputFileAttributes(devices)) {
    const path = el.getAttribute(attribute);
    if (path !== null && path !== '') el.setAttribute(attribute, cloneFileName(path, source, clone));
  }
}

/**
 * The files a domain's serial ports, consoles, parallel ports and channels write: libvirt creates them as root when
 * it starts the domain, following a link that stands at their place.
 */
export function outputFilesOf(xml: string): string[] {
  const devices = children(parse(xml).documentElement as Element, 'devices')[0];
  if (devices === undefined) return [];
  return outputFileAttributes(devices).flatMap(({ el, attribute }) => {
    const path = el.getAttribute(attribute);
    return path !== null && path !== '' ? [path] : [];
  });
}

/**
 * Points the variable store at `nvram` (its template attribute kept; a new `<nvram>` where libvirt chooses the
 * firmware and the definition names no store), written as libvirt wrote it: as the
 * element's text, or as its `<source file>`. A source whose store the plan did not see is refused.
 */
function setNvram(doc: Document, root: Element, nvram: string | null): void {
  const os = children(root, 'os')[0];
  const el = os === undefined ? undefined : children(os, 'nvram')[0];
  if (nvram === null) {
    if (el !== undefined) throw new AppError('E_CHANGED', 'The domain has a UEFI variable store since the plan was made; plan again.');
    return;
  }
  if (el === undefined) {
    // Firmware libvirt chooses keeps its store at a default place the definition does not name: the clone names its copy.
    if (os !== undefined && os.getAttribute('firmware') === 'efi') return setText(doc, os, 'nvram', nvram);
    throw new AppError('E_CHANGED', 'The domain has no UEFI variable store any more; plan again.');
  }
  const source = children(el, 'source')[0];
  if (source !== undefined) source.setAttribute('file', nvram);
  else setText(doc, os as Element, 'nvram', nvram);
}

/** The app's records of the source go (a clone has no branches), and the clone's record takes their place. */
function setCloneRecord(doc: Document, root: Element, record: CloneEdit['record']): void {
  const metadata = ensureChild(doc, root, 'metadata', children(root, 'memory')[0] ?? null);
  for (const old of children(metadata, 'branches')) if (old.namespaceURI === SNAPTREE_NS) metadata.removeChild(old);
  for (const old of children(metadata, 'clone')) if (old.namespaceURI === CLONE_NS) metadata.removeChild(old);
  const el = doc.createElementNS(CLONE_NS, `${CLONE_KEY}:clone`);
  el.setAttribute('domain', record.domain);
  el.setAttribute('kind', record.node.kind);
  el.setAttribute('node', record.node.name);
  el.setAttribute('operation', record.operation);
  metadata.appendChild(el);
}

/**
 * The definition of a clone from the source's persistent one (`virsh dumpxml --inactive --security-info`): see
 * CloneEdit and the functions above; its serial, console and channel files are its own (a clone started would
 * otherwise truncate its source's log); CD-ROMs, unmanaged disks and everything else stay as the source has them.
 */
export function cloneDomainXml(xml: string, edit: CloneEdit): string {
  const doc = parse(xml);
  const root = doc.documentElement as Element;
  setIdentity(doc, root, edit.name);
  setDiskSources(doc, edit.disks);
  const devices = children(root, 'devices')[0];
  if (devices !== undefined) freeDevices(devices);
  if (devices !== undefined) ownOutputFiles(devices, edit.record.domain, edit.name);
  setNvram(doc, root, edit.nvram);
  setCloneRecord(doc, root, edit.record);
  return new XMLSerializer().serializeToString(doc);
}
