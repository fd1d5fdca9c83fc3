/**
 * The app's XML readers against libvirt's own test suite: the snapshot and domain XMLs of libvirt 9.0's source
 * package (fetched by scripts/fetch-libvirt-corpus.sh at set-up, cached, never copied here). Each file is also read
 * with plain XPath by xmllint (libxml2, the parser libvirt itself uses), and the two readings must agree on every
 * name (verbatim), parent, state, memory file and disk (name, type, snapshot mode, source, managed or not).
 * Without the corpus the test fails, saying how to fetch it: it never passes on nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseDomainDisks } from './libvirt-xml';
import { parseSnapshotXml } from './snapshot-xml';

const CORPUS = resolve(__dirname, '../../.cache/libvirt-corpus/libvirt-9.0.0/tests');
const SNAPSHOT_DIRS = ['qemudomainsnapshotxml2xmlin', 'qemudomainsnapshotxml2xmlout'];
const SEP = '\u241f';
const CUT = join(tmpdir(), `snaptree-corpus-cut-${process.pid}.xml`);
const counts = { files: 0, snapshots: 0, refused: 0, disks: 0, domainDisks: 0, agreements: 0, truncations: 0 };

function corpusFiles(dir: string, pattern: RegExp): string[] {
  const full = join(CORPUS, dir);
  if (!existsSync(full)) {
    throw new Error(`libvirt's test corpus is missing (${full}). Fetch it with: bash scripts/fetch-libvirt-corpus.sh (scripts/setup.sh runs it).`);
  }
  return readdirSync(full).filter((f) => pattern.test(f)).sort().map((f) => join(full, f));
}

/** One XPath expression evaluated by xmllint; its string value as libxml2 reads it. */
function xpath(file: string, expression: string): string {
  const out = execFileSync('xmllint', ['--xpath', expression, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.endsWith('\n') ? out.slice(0, -1) : out;
}

function wellFormed(file: string): boolean {
  try {
    execFileSync('xmllint', ['--noout', file], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Counts one field on which both readings agree; fails the test on the first that differs. */
function agree(actual: unknown, expected: unknown, what: string): void {
  expect(actual, what).toEqual(expected);
  counts.agreements++;
}

/** The source of the element at `at`, read as the app describes it: a path, or `protocol:name` of a network disk. */
const sourceOf = (at: string): string =>
  `concat(${at}/source/@file, ${at}/source/@dev, ${at}/source/@dir, substring(concat(${at}/source/@protocol, ':', ${at}/source/@name), 1 div boolean(${at}/source/@protocol)))`;

/** A snapshot disk as XPath reads it, with libvirt's default snapshot mode applied by its documented rule. */
function xpathSnapshotDisk(file: string, i: number, state: string, memoryMode: string): Record<string, unknown> {
  const disk = `/domainsnapshot/disks/disk[${i}]`;
  const [name, mode, hasMode, type, hasType, source, hasSource, format, hasFormat] = xpath(
    file,
    `concat(${disk}/@name,'${SEP}',${disk}/@snapshot,'${SEP}',count(${disk}/@snapshot),'${SEP}',${disk}/@type,'${SEP}',count(${disk}/@type),'${SEP}',` +
      `${sourceOf(disk)},'${SEP}',count(${disk}/source),'${SEP}',${disk}/driver/@type,'${SEP}',count(${disk}/driver/@type))`,
  ).split(SEP) as string[];
  let kind = mode as string;
  if (hasMode === '0') {
    const domainDisk = `/domainsnapshot/domain/devices/disk[target/@dev=${JSON.stringify(name)} or source/@file=${JSON.stringify(name)} or source/@dev=${JSON.stringify(name)}]`;
    const [own, hasOwn, found, media] = xpath(file, `concat(${domainDisk}/@snapshot,'${SEP}',count(${domainDisk}/@snapshot),'${SEP}',count(${domainDisk}),'${SEP}',count(${domainDisk}/source))`).split(SEP);
    if (hasOwn !== '0') kind = own as string;
    else if (found !== '0' && media === '0') kind = 'no';
    else kind = state === 'disk-snapshot' || memoryMode === 'external' ? 'external' : 'internal';
  }
  const diskType = hasType === '0' ? 'file' : (type as string);
  const sourceText = hasSource === '0' || source === '' ? null : (source as string);
  const fmt = hasFormat === '0' ? null : (format as string);
  const managed = kind === 'external' && diskType === 'file' && sourceText !== null && (fmt === null || fmt === 'qcow2' || fmt === 'raw');
  return { target: name, kind, type: diskType, source: diskType === 'block' || diskType === 'file' || diskType === 'network' ? sourceText : undefined, format: fmt, managed };
}

describe("libvirt's own snapshot XMLs", () => {
  const files = SNAPSHOT_DIRS.flatMap((dir) => {
    try {
      return corpusFiles(dir, /\.xml$/);
    } catch (error) {
      return [`missing:${(error as Error).message}`];
    }
  });

  test.each(files)('%s reads as XPath reads it', (file) => {
    if (file.startsWith('missing:')) throw new Error(file.slice(8));
    counts.files++;
    const xml = readFileSync(file, 'utf8');
    const named = xpath(file, 'count(/domainsnapshot/name)') !== '0';
    if (!named) {
      // libvirt names a snapshot itself when its input names none; a document that names none cannot be acted on.
      expect(() => parseSnapshotXml(xml)).toThrow(/names no snapshot/);
      counts.refused++;
      return;
    }
    const parsed = parseSnapshotXml(xml);
    counts.snapshots++;
    const state = xpath(file, 'count(/domainsnapshot/state)') === '0' ? 'unknown' : xpath(file, 'string(/domainsnapshot/state)');
    const memoryMode = xpath(file, 'string(/domainsnapshot/memory/@snapshot)');
    agree(parsed.name, xpath(file, 'string(/domainsnapshot/name)'), 'name');
    agree(parsed.parent, xpath(file, 'count(/domainsnapshot/parent/name)') === '0' ? null : xpath(file, 'string(/domainsnapshot/parent/name)'), 'parent');
    agree(parsed.state, state, 'state');
    agree(parsed.description, xpath(file, 'count(/domainsnapshot/description)') === '0' ? null : xpath(file, 'string(/domainsnapshot/description)'), 'description');
    agree(parsed.memoryFile, memoryMode === 'external' ? xpath(file, 'string(/domainsnapshot/memory/@file)') || null : null, 'memory file');
    const diskCount = Number(xpath(file, 'count(/domainsnapshot/disks/disk)'));
    agree(parsed.disks.length, diskCount, 'disk count');
    parsed.disks.forEach((disk, i) => {
      const expected = xpathSnapshotDisk(file, i + 1, state, memoryMode);
      counts.disks++;
      agree(disk.target, expected.target, `disk ${i + 1} name`);
      agree(disk.kind, expected.kind, `disk ${disk.target} snapshot mode`);
      agree(disk.type, expected.type, `disk ${disk.target} type`);
      if (expected.source !== undefined) agree(disk.source, expected.source, `disk ${disk.target} source`);
      agree(disk.format, expected.format, `disk ${disk.target} format`);
      agree(disk.managed, expected.managed, `disk ${disk.target} managed`);
      agree(disk.overlay, expected.kind === 'external' && expected.type === 'file' ? expected.source : null, `disk ${disk.target} overlay`);
    });
  });

  test.each(files.filter((f) => !f.startsWith('missing:')))('%s cut short anywhere is refused, as libxml2 refuses it', (file) => {
    const xml = readFileSync(file, 'utf8');
    if (xpath(file, 'count(/domainsnapshot/name)') === '0') return;
    const end = xml.trimEnd().length;
    for (const at of [0.2, 0.5, 0.8].map((f) => Math.floor(end * f)).concat([end - 1, end - 10])) {
      const cut = xml.slice(0, at);
      writeFileSync(CUT, cut);
      expect(wellFormed(CUT), `libxml2 takes ${file} cut at ${at}`).toBe(false);
      expect(() => parseSnapshotXml(cut), `cut at ${at}`).toThrow();
      counts.truncations++;
    }
  });
});

describe("libvirt's own domain XMLs (disks)", () => {
  let files: string[];
  try {
    files = corpusFiles('qemuxml2argvdata', /^disk-.*\.xml$/);
  } catch (error) {
    files = [`missing:${(error as Error).message}`];
  }

  test.each(files)('%s: every disk reads as XPath reads it', (file) => {
    if (file.startsWith('missing:')) throw new Error(file.slice(8));
    counts.files++;
    const disks = parseDomainDisks(readFileSync(file, 'utf8'));
    agree(disks.length, Number(xpath(file, 'count(/domain/devices/disk)')), 'disk count');
    disks.forEach((disk, i) => {
      const d = `/domain/devices/disk[${i + 1}]`;
      const [type, device, target, fileAttr, hasFile, format, hasFormat, slices] = xpath(
        file,
        `concat(${d}/@type,'${SEP}',${d}/@device,'${SEP}',${d}/target/@dev,'${SEP}',${d}/source/@file,'${SEP}',count(${d}/source/@file),'${SEP}',${d}/driver/@type,'${SEP}',count(${d}/driver/@type),'${SEP}',count(${d}/source/slices))`,
      ).split(SEP);
      const diskType = type === '' ? 'file' : (type as string);
      const deviceKind = device === '' ? 'disk' : (device as string);
      const path = diskType === 'file' && hasFile !== '0' ? (fileAttr as string) : null;
      // libvirt's QEMU driver opens a file disk without <driver type> as raw.
      const fmt = hasFormat !== '0' ? (format as string) : path !== null ? 'raw' : null;
      const managed = deviceKind !== 'cdrom' && deviceKind !== 'floppy' && diskType === 'file' && path !== null && slices === '0' && (fmt === 'qcow2' || fmt === 'raw');
      counts.domainDisks++;
      agree(disk.target, target === '' ? '?' : target, `disk ${i + 1} target`);
      agree(disk.type, diskType, `disk ${target} type`);
      agree(disk.device, deviceKind, `disk ${target} device`);
      agree(disk.file, path, `disk ${target} file`);
      agree(disk.format, fmt, `disk ${target} format`);
      agree(disk.managed, managed, `disk ${target} managed`);
      if (slices !== '0' && managed === false && path !== null && deviceKind === 'disk' && diskType === 'file') agree(disk.reason, expect.stringMatching(/slice of a file/), `disk ${target} reason`);
    });
  });
});

afterAll(() => {
  rmSync(CUT, { force: true });
  // The figures the closing note of a run quotes.
  console.log(`libvirt corpus: ${JSON.stringify(counts)}`);
});
