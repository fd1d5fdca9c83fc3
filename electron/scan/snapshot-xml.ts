/**
 * Reads libvirt's `<domainsnapshot>` documents. Every string comes out as libvirt holds it: names, parents and
 * descriptions are not trimmed, since libvirt tells ` a` and `a` apart. A document that is not well-formed (cut
 * short, tags that do not match) is refused whole, never half-read. The thousands of snapshot documents of a large
 * host are read with htmlparser2, several times faster than a DOM; the saved `<domain>` each carries is most of its
 * text and is parsed only when a disk needs its mode from it.
 */
import { parseDocument } from 'htmlparser2';
import type { ChildNode as FastNode } from 'domhandler';
import { AppError } from '../../shared/errors';
import { describeSource, snapshotDiskReason } from './disk-source';

export interface RawSnapshotDisk {
  /** The disk's `name` attribute, verbatim: a target such as `vda`, or a source path. */
  target: string;
  /** The snapshot mode, libvirt's default applied where the attribute is absent (see snapshotModeDefault). */
  kind: string;
  /** libvirt's disk type of the new source; `file` when absent, as libvirt reads it. */
  type: string;
  /** The overlay file of an external file snapshot; null for any other disk. */
  overlay: string | null;
  /** Where the snapshot put the disk, verbatim (see describeSource). */
  source: string | null;
  format: string | null;
  managed: boolean;
  reason?: string;
  /**
   * The file the snapshot's saved definition gives the disk (its saved state), read from that definition only when
   * asked: libvirt 9.9+ deletes an overlay it reverts away from, and then only the definition names the state. Not
   * enumerable: the document's data stays plain.
   */
  savedFile?: () => { file: string; format: string | null } | null;
}

export interface RawSnapshot {
  name: string;
  parent: string | null;
  description: string | null;
  created: string | null;
  state: string;
  memoryFile: string | null;
  disks: RawSnapshotDisk[];
  revertFiles: string[];
}

function malformed(why: string): AppError {
  return new AppError('E_TOOL', `The snapshot XML is truncated or malformed (${why}); it is not read.`);
}

/** Markup that holds no elements: comments, CDATA, processing instructions, a doctype. */
const NOT_ELEMENTS = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>/g;
/** One tag: closing or not, its name, its attributes (quoted values may hold `>`), self-closing or not. */
const TAG = /<(\/?)([^\s/>!?]+)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|</g;

/**
 * Throws unless `xml` is one element whose tags all match: a document cut short leaves an element open, a tag cut
 * inside its attributes matches no tag at all. htmlparser2 would close whatever is open and carry on.
 */
export function checkWellFormed(xml: string): void {
  const text = xml.replace(NOT_ELEMENTS, '');
  if (/<!--|<!\[CDATA\[/.test(text)) throw malformed('an unterminated comment or CDATA section');
  walkTags(text);
}

/** Sees each tag of a document in order, with the text before it (`closing` and `selfClosing` are "/" or ""). */
type TagVisitor = (closing: string, name: string, attributes: string, selfClosing: string, before: string) => void;

/**
 * Walks the tags of markup that holds elements only, throwing as checkWellFormed says; `visit` sees each tag.
 * Tags are matched one `exec` at a time on the shared global TAG (the walk is synchronous, so never re-entered):
 * a thousand snapshot documents are read per scan, and an iterator per document costs more than the matching.
 */
function walkTags(text: string, visit?: TagVisitor): void {
  const stack: string[] = [];
  let roots = 0;
  let end = 0;
  TAG.lastIndex = 0;
  for (let match = TAG.exec(text); match !== null; match = TAG.exec(text)) {
    // Read by index: destructuring goes through the iterator protocol, which unoptimized code pays per tag.
    const closing = match[1];
    const name = match[2];
    const selfClosing = match[4];
    if (name === undefined) throw malformed(`a "<" that starts no tag at offset ${match.index}`);
    const before = visit !== undefined || stack.length === 0 ? text.slice(end, match.index) : '';
    if (stack.length === 0 && before.trim() !== '') throw malformed('text outside the root element');
    visit?.(closing ?? '', name, match[3] ?? '', selfClosing ?? '', before);
    end = TAG.lastIndex;
    if (closing === '/') {
      const open = stack.pop();
      if (open !== name) throw malformed(`</${name}> closes ${open === undefined ? 'nothing' : `<${open}>`}`);
      continue;
    }
    if (stack.length === 0) roots++;
    if (roots > 1) throw malformed('more than one root element');
    if (selfClosing !== '/') stack.push(name);
  }
  if (stack.length > 0) throw malformed(`<${stack[stack.length - 1] ?? ''}> is never closed`);
  if (roots === 0) throw malformed('no element');
  if (text.slice(end).trim() !== '') throw malformed('text after the root element');
}

/** Splits the element `<name ...>...</name>` out of a document's text: the rest, and the element (or null). */
function cutElement(xml: string, name: string): { rest: string; cut: string | null } {
  for (let at = xml.indexOf(`<${name}`, 1); at !== -1; at = xml.indexOf(`<${name}`, at + 1)) {
    const next = xml[at + name.length + 1];
    if (next !== ' ' && next !== '>' && next !== '\n' && next !== '\t') continue;
    const close = xml.lastIndexOf(`</${name}>`);
    if (close < at) return { rest: xml, cut: null };
    const after = close + name.length + 3;
    return { rest: xml.slice(0, at) + xml.slice(after), cut: xml.slice(at, after) };
  }
  return { rest: xml, cut: null };
}

/**
 * An element as this reader keeps it: its name, its attributes (the first of a repeated name, as htmlparser2
 * keeps it) and its children, text decoded.
 */
export interface XmlElement {
  kind: 'element';
  name: string;
  attribs: Record<string, string>;
  children: XmlChild[];
}
type XmlChild = XmlElement | { kind: 'text'; data: string };

/** The children named `name`. Indexed loops: a thousand documents are asked a dozen names each, unoptimized. */
function tags(el: XmlElement | null, name: string): XmlElement[] {
  const found: XmlElement[] = [];
  const children = el?.children ?? [];
  for (let i = 0; i < children.length; i++) {
    const c = children[i] as XmlChild;
    if (c.kind === 'element' && c.name === name) found.push(c);
  }
  return found;
}

function tag(el: XmlElement | null, name: string): XmlElement | null {
  const children = el?.children ?? [];
  for (let i = 0; i < children.length; i++) {
    const c = children[i] as XmlChild;
    if (c.kind === 'element' && c.name === name) return c;
  }
  return null;
}

function attrOf(el: XmlElement | null, name: string): string | null {
  return el?.attribs[name] ?? null;
}

/** The element's text exactly as the document holds it (entities decoded), or null when there is no element. */
function textOf(el: XmlElement | null): string | null {
  if (el === null) return null;
  let out = '';
  const walk = (node: XmlChild): void => {
    if (node.kind === 'text') out += node.data;
    else node.children.forEach(walk);
  };
  el.children.forEach(walk);
  return out;
}

/** htmlparser2's document as this reader keeps it: CDATA is text; comments and declarations are left out. */
function fromDom(nodes: FastNode[]): XmlChild[] {
  const out: XmlChild[] = [];
  for (const node of nodes) {
    if (node.type === 'text') out.push({ kind: 'text', data: node.data });
    else if (node.type === 'cdata') out.push(...fromDom(node.children));
    else if (node.type === 'tag') out.push({ kind: 'element', name: node.name, attribs: { ...node.attribs }, children: fromDom(node.children) });
  }
  return out;
}

/** Markup the quick reader leaves to htmlparser2: comments, CDATA, declarations, any entity but the five XML names. */
const NOT_PLAIN = /<!|<\?|&(?!(?:lt|gt|amp|quot|apos);)/;
const ENTITY = /&(lt|gt|amp|quot|apos);/g;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const ATTRIBUTE = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

function decode(text: string): string {
  return text.includes('&') ? text.replace(ENTITY, (_, name: string) => ENTITIES[name] ?? '') : text;
}

function attributesOf(text: string): Record<string, string> {
  const attribs: Record<string, string> = {};
  ATTRIBUTE.lastIndex = 0;
  for (let match = ATTRIBUTE.exec(text); match !== null; match = ATTRIBUTE.exec(text)) {
    const name = match[1];
    if (name !== undefined && !Object.hasOwn(attribs, name)) attribs[name] = decode(match[2] ?? match[3] ?? '');
  }
  return attribs;
}

/** An element of plain markup: its attributes are read from their text the first time they are asked for. */
class PlainElement implements XmlElement {
  readonly kind = 'element';
  readonly children: XmlChild[] = [];
  private read: Record<string, string> | null = null;
  constructor(
    readonly name: string,
    private readonly attributeText: string,
  ) {}

  get attribs(): Record<string, string> {
    this.read ??= this.attributeText === '' ? {} : attributesOf(this.attributeText);
    return this.read;
  }
}

/**
 * Checks and reads plain markup (see NOT_PLAIN) in one walk, into what htmlparser2 reads from it, several times
 * faster: every scan of a large host reads a thousand snapshot documents. Only text outside the root is dropped.
 */
function readPlain(xml: string): XmlChild[] {
  const top = new PlainElement('', '');
  const stack: XmlElement[] = [top];
  walkTags(xml, (closing, name, attributes, selfClosing, before) => {
    const parent = stack[stack.length - 1] as XmlElement;
    if (before !== '' && stack.length > 1) parent.children.push({ kind: 'text', data: decode(before) });
    if (closing === '/') {
      stack.pop();
      return;
    }
    const element = new PlainElement(name, attributes);
    parent.children.push(element);
    if (selfClosing !== '/') stack.push(element);
  });
  return top.children;
}

/**
 * The root element named `name`, or null; throws when the document is not well-formed (see checkWellFormed).
 * Plain markup is checked and read in one walk; any other goes through checkWellFormed and htmlparser2.
 */
function rootOf(xml: string, name: string): XmlElement | null {
  let nodes: XmlChild[];
  if (NOT_PLAIN.test(xml)) {
    checkWellFormed(xml);
    nodes = fromDom(parseDocument(xml, { xmlMode: true, decodeEntities: true }).children);
  } else {
    nodes = readPlain(xml);
  }
  return nodes.find((c): c is XmlElement => c.kind === 'element' && c.name === name) ?? null;
}

/**
 * The snapshot mode of a disk whose `<disk>` has no `snapshot=` attribute, by libvirt's rule (formatsnapshot:
 * "the possible values are the same as the snapshot attribute for disk devices"; virDomainSnapshotAlignDisks and
 * qemuSnapshotCreateAlignDisks): the domain disk's own `snapshot=` attribute when it has one (the saved `<domain>`,
 * its disk matched by target or by source path); else `no` for a drive with no media; else `external` for a
 * disk-only snapshot (state `disk-snapshot`) or one whose memory went to an external file; else `internal`.
 */
export function snapshotModeDefault(domainDisk: XmlElement | null, state: string | null, memoryMode: string | null): string {
  const own = attrOf(domainDisk, 'snapshot');
  if (own !== null) return own;
  if (domainDisk !== null && tag(domainDisk, 'source') === null) return 'no';
  return state === 'disk-snapshot' || memoryMode === 'external' ? 'external' : 'internal';
}

/** The saved domain's disk that a snapshot disk's `name` means: by target, else by source path. */
function domainDiskFor(domain: XmlElement | null, name: string): XmlElement | null {
  const disks = tags(tag(domain, 'devices'), 'disk');
  const source = (d: XmlElement): string | null => {
    const s = tag(d, 'source');
    return attrOf(s, 'file') ?? attrOf(s, 'dev') ?? attrOf(s, 'name');
  };
  return disks.find((d) => attrOf(tag(d, 'target'), 'dev') === name) ?? disks.find((d) => source(d) === name) ?? null;
}

/** Reads a `<domainsnapshot>` document; throws when it is not well-formed or names no snapshot. */
export function parseSnapshotXml(xml: string): RawSnapshot {
  const inactive = cutElement(xml, 'inactiveDomain');
  const domainCut = cutElement(inactive.rest, 'domain');
  const root = rootOf(domainCut.rest, 'domainsnapshot');
  if (root === null) throw new AppError('E_TOOL', 'The snapshot XML has no <domainsnapshot> element.');
  const name = textOf(tag(root, 'name'));
  if (name === null || name === '') throw new AppError('E_TOOL', 'The snapshot XML names no snapshot.');
  const created = textOf(tag(root, 'creationTime'))?.trim() ?? null;
  const state = textOf(tag(root, 'state'));
  const memory = tag(root, 'memory');
  const memoryMode = attrOf(memory, 'snapshot');
  const parentEl = tag(root, 'parent');
  const revertDisks = tag(root, 'revertDisks');

  let domain: XmlElement | null | undefined;
  const savedDomain = (): XmlElement | null => {
    if (domain === undefined) {
      domain = domainCut.cut === null ? null : rootOf(domainCut.cut, 'domain');
    }
    return domain;
  };

  return {
    name,
    parent: textOf(tag(parentEl, 'name')),
    description: textOf(tag(root, 'description')),
    created: created !== null && /^\d+$/.test(created) ? new Date(Number(created) * 1000).toISOString() : null,
    state: state ?? 'unknown',
    memoryFile: memoryMode === 'external' ? attrOf(memory, 'file') : null,
    disks: tags(tag(root, 'disks'), 'disk').map((disk) => {
      const target = attrOf(disk, 'name') ?? '?';
      const kind = attrOf(disk, 'snapshot') ?? snapshotModeDefault(domainDiskFor(savedDomain(), target), state, memoryMode);
      const type = attrOf(disk, 'type') ?? 'file';
      const sourceEl = tag(disk, 'source');
      const source = sourceEl === null ? null : describeSource(type, (a) => attrOf(sourceEl, a));
      const format = attrOf(tag(disk, 'driver'), 'type');
      const savedFile = () => {
        const saved = domainDiskFor(savedDomain(), target);
        const file = attrOf(saved, 'type') === 'file' || attrOf(saved, 'type') === null ? attrOf(tag(saved, 'source'), 'file') : null;
        return file === null ? null : { file, format: attrOf(tag(saved, 'driver'), 'type') };
      };
      const reason = snapshotDiskReason(kind, type, source, format);
      const read: RawSnapshotDisk = {
        target,
        kind,
        type,
        overlay: kind === 'external' && type === 'file' ? source : null,
        source,
        format,
        managed: reason === undefined,
        ...(reason !== undefined ? { reason } : {}),
      };
      return Object.defineProperty(read, 'savedFile', { value: savedFile, enumerable: false });
    }),
    revertFiles: tags(revertDisks, 'disk')
      .map((disk) => attrOf(tag(disk, 'source'), 'file'))
      .filter((file): file is string => file !== null),
  };
}
