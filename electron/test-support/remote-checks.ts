/**
 * The checks of checks.ts (docs/safety.md, rules 1–4) for a domain of the test host (test-host.ts): its files,
 * guest views and records are read there, with that host's sha256sum, qemu-img, qemu-io and virsh, never here.
 * Also decoys: files here at the paths the host's images have there, which an operation on the host must leave
 * byte for byte as they are.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect } from 'vitest';
import type { Domain, Source } from '../../shared/model';
import type { Intent } from '../../shared/ops/plan';
import type { Engine } from '../engine';
import { buildDomainXml, type LabDomain } from '../lab/domain-xml';
import { shellQuote } from '../tools/ssh-runner';
import { dataFilesOf, filesOf, nodeViews } from './checks';
import { onTestHost } from './test-host';

/** One command line for the host's shell, each argument quoted. */
const line = (args: string[]): string => args.map(shellQuote).join(' ');

/** virsh on the host's own system connection. */
export function virshThere(args: string[]): string {
  return onTestHost(line(['virsh', '-q', '-c', 'qemu:///system', ...args]));
}

/** Defines a domain on the host from a lab description; its XML is kept in `dir` there. */
export function defineThere(domain: LabDomain, dir: string): void {
  const file = `${dir}/${domain.name}.xml`;
  onTestHost(`mkdir -p ${shellQuote(dir)} && cat > ${shellQuote(file)} <<'XML'\n${buildDomainXml(domain)}XML\n${line(['virsh', '-q', '-c', 'qemu:///system', 'define', file])} >/dev/null`);
}

/** Stops and removes every domain of the host whose name starts with `prefix`, with its snapshot records, and `dir`. */
export function removeThere(prefix: string, dir: string): void {
  const names = virshThere(['list', '--all', '--name']).split('\n').map((n) => n.trim()).filter((n) => n.startsWith(prefix));
  for (const name of names) {
    onTestHost(`virsh -q -c qemu:///system destroy ${shellQuote(name)} >/dev/null 2>&1; virsh -q -c qemu:///system undefine ${shellQuote(name)} --snapshots-metadata >/dev/null`);
  }
  onTestHost(line(['rm', '-rf', '--', dir]));
}

/** sha256 of each file there. */
export function sumsThere(paths: string[]): Record<string, string> {
  if (paths.length === 0) return {};
  const out: Record<string, string> = {};
  for (const row of onTestHost(line(['sha256sum', '--', ...paths])).split('\n').filter(Boolean)) {
    const [sum, path] = [row.slice(0, 64), row.slice(66)];
    out[path] = sum;
  }
  return out;
}

/** Which of the paths exist there. */
export function existingThere(paths: string[]): string[] {
  const out = onTestHost(paths.map((p) => `[ -e ${shellQuote(p)} ] && printf '%s\\n' ${shellQuote(p)};`).join(' ') + ' true');
  return out.split('\n').filter(Boolean);
}

/** The permission bits of a file there. */
export function modeThere(path: string): number {
  return Number.parseInt(onTestHost(line(['stat', '-c', '%a', '--', path])).trim(), 8);
}

/** Writes `length` bytes of `pattern` at `offset` into an image's guest view there. */
export function writeThere(file: string, pattern: number, offset: number, length: number): void {
  onTestHost(line(['qemu-io', '-f', 'qcow2', '-c', `write -P ${pattern} ${offset} ${length}`, file]));
}

/** Whether `length` bytes at `offset` of an image's guest view there are all `pattern`. */
export function readsThere(file: string, pattern: number, offset: number, length: number): boolean {
  const out = onTestHost(`${line(['qemu-io', '-r', '-U', '-f', 'qcow2', '-c', `read -P ${pattern} ${offset} ${length}`, file])} 2>&1; echo "exit $?"`);
  return /exit 0\s*$/.test(out) && !/Pattern verification failed/.test(out);
}

/** The active file of a disk there, per the host's libvirt. */
export function diskSourceThere(domain: string, target: string): string {
  const xml = virshThere(['dumpxml', domain, '--inactive']);
  const disk = [...xml.matchAll(/<disk[\s\S]*?<\/disk>/g)].map((m) => m[0]).find((d) => d.includes(`dev='${target}'`));
  return /<source file='([^']+)'/.exec(disk ?? '')?.[1] ?? '';
}

/** The backing file of a qcow2 image there, as qemu-img there reports it. */
export function backingThere(file: string): string | null {
  const info = JSON.parse(onTestHost(line(['qemu-img', 'info', '-U', '-f', 'qcow2', '--output=json', '--', file]))) as { 'full-backing-filename'?: string };
  return info['full-backing-filename'] ?? null;
}

/** Exports every node's guest view to a raw file in `dir` there; returns node/disk → export there. */
export function exportViewsThere(domain: Domain, dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const commands = [line(['mkdir', '-p', dir])];
  for (const [key, file] of Object.entries(nodeViews(domain))) {
    const target = `${dir}/${key.replace(/[^\w.-]/g, '_')}.raw`;
    commands.push(line(['qemu-img', 'convert', '-U', '-f', domain.layers[file]?.format ?? 'qcow2', '-O', 'raw', '--', file, target]));
    out[key] = target;
  }
  onTestHost(commands.join(' && '));
  return out;
}

/** Every node of `before` not in `changed` reads the same bytes now: qemu-img compare there. */
export function expectSameViewsThere(domain: Domain, before: Record<string, string>, changed: string[] = []): void {
  const now = nodeViews(domain);
  const kept = Object.keys(before).filter((key) => !changed.some((c) => key.startsWith(`${c}/`)));
  for (const key of kept) expect(now[key], `${key} still exists`).toBeDefined();
  const commands = kept.map((key) => {
    const file = now[key] as string;
    const compare = line(['qemu-img', 'compare', '-q', '-U', '-f', 'raw', '-F', domain.layers[file]?.format ?? 'qcow2', '--', before[key] as string, file]);
    return `${compare} >/dev/null 2>&1; echo $?`;
  });
  const codes = onTestHost(commands.join('; ')).split('\n').filter(Boolean);
  const result = Object.fromEntries(kept.map((key, i) => [key, codes[i] === '0' ? 'same' : `differs (${codes[i]})`]));
  expect(result).toEqual(Object.fromEntries(kept.map((key) => [key, 'same'])));
}

/** Whether an image there reads as the raw export there does (qemu-img compare there). */
export function sameBytesThere(exported: string, file: string, format = 'qcow2'): boolean {
  return onTestHost(`${line(['qemu-img', 'compare', '-q', '-U', '-f', 'raw', '-F', format, '--', exported, file])} >/dev/null 2>&1; echo $?`).trim() === '0';
}

/** Each snapshot's parent per the host's libvirt, by name. */
export function parentsThere(domain: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const name of virshThere(['snapshot-list', domain, '--name']).split('\n').filter(Boolean)) {
    let parent: string | null = null;
    try {
      parent = virshThere(['snapshot-parent', domain, name]).trim() || null;
    } catch {
      parent = null;
    }
    out[name] = parent;
  }
  return out;
}

/** `virsh snapshot-list --tree` there, read back as snapshot → parent. */
export function treeThere(domain: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const stack: Array<{ depth: number; name: string }> = [];
  for (const row of virshThere(['snapshot-list', domain, '--tree']).split('\n')) {
    const name = row.replace(/^[\s|+-]*/, '');
    if (name === '') continue;
    const depth = row.length - name.length;
    while (stack.length > 0 && (stack.at(-1)?.depth ?? 0) >= depth) stack.pop();
    out[name] = stack.at(-1)?.name ?? null;
    stack.push({ depth, name });
  }
  return out;
}

/** libvirt's idea of each snapshot's parent there, by `snapshot-parent` and by the tree, is the model's. */
export function expectParentsAgreeThere(domain: Domain): void {
  const model = Object.fromEntries(domain.snapshots.map((s) => [s.name, s.parent]));
  expect(parentsThere(domain.name)).toEqual(model);
  expect(treeThere(domain.name)).toEqual(model);
}

/** The files named by the domain's snapshot records there (their disks and saved definitions) that are not there. */
export function missingRecordFilesThere(domain: string): string[] {
  const named = new Set<string>();
  for (const name of virshThere(['snapshot-list', domain, '--name']).split('\n').filter(Boolean)) {
    const xml = virshThere(['snapshot-dumpxml', domain, name]);
    for (const match of xml.matchAll(/<source file='([^']+)'/g)) named.add(match[1] as string);
  }
  const there = new Set(existingThere([...named]));
  return [...named].filter((p) => !there.has(p)).sort();
}

/**
 * Every file named by any snapshot record of the domain there exists there, but those of `gone`: files libvirt
 * 11's own revert removed while its records still name them (what the app found, not what it did).
 */
export function expectSnapshotRecordsTrueThere(domain: string, gone: string[] = []): void {
  expect(missingRecordFilesThere(domain).filter((p) => !gone.includes(p))).toEqual([]);
}

/** The domain's definition there points at files whose chains resolve: it starts there. */
export function expectStartsThere(domain: string): void {
  virshThere(['start', domain]);
  virshThere(['destroy', domain]);
}

/** Plans and applies on the host, then checks rules 1, 2 and 4 there: only the named files changed; records agree. */
export async function applyCheckedThere(engine: Engine, source: Source, intent: Intent): Promise<Domain> {
  const scanned = await engine.scanDomain(source, intent.domain);
  const before = sumsThere(filesOf(scanned));
  const gone = missingRecordFilesThere(intent.domain);
  const planned = await engine.plan(source, intent);
  if (!planned.ok) throw new Error(`refused: ${planned.refusal.code} ${planned.refusal.message}`);
  const result = await engine.apply(planned.plan);
  if (result.status !== 'done' || result.domain === null) throw new Error(`not done: ${result.status}`);
  const dataFiles = dataFilesOf(scanned);
  const images = [...planned.plan.impact.written, ...planned.plan.impact.trashed];
  const named = new Set([...images, ...images.flatMap((p) => (dataFiles[p] !== undefined ? [dataFiles[p]] : []))]);
  const kept = Object.keys(before).filter((p) => !named.has(p));
  expect(sumsThere(kept)).toEqual(Object.fromEntries(kept.map((p) => [p, before[p]])));
  expectParentsAgreeThere(result.domain);
  // Records that named a missing file before (libvirt 11's own revert leaves some) may still: none more.
  expectSnapshotRecordsTrueThere(intent.domain, gone);
  return result.domain;
}

/** What a decoy was when planted. */
export type Decoys = Map<string, { sha: string; mtimeMs: number }>;

const digest = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Decoys here at the paths the host's images have there: the first a valid qcow2 of another size, the rest text. */
export function plantDecoys(paths: string[]): Decoys {
  const planted: Decoys = new Map();
  for (const [i, path] of paths.entries()) {
    mkdirSync(dirname(path), { recursive: true });
    if (i === 0) execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, '1G']);
    else writeFileSync(path, `decoy ${i}\n`);
    planted.set(path, { sha: digest(path), mtimeMs: statSync(path).mtimeMs });
  }
  return planted;
}

/** Every decoy has its bytes and time, and the folders here hold nothing but the decoys (and their folders). */
export function expectDecoysUntouched(planted: Decoys): void {
  for (const [path, was] of planted) expect({ path, sha: digest(path), mtimeMs: statSync(path).mtimeMs }).toEqual({ path, ...was });
  const folders = new Set([...planted.keys()].map((p) => dirname(p)));
  for (const folder of folders) {
    // The decoys in it, and the folders of decoys in it.
    const inside = [...planted.keys(), ...folders].filter((p) => dirname(p) === folder).map((p) => p.slice(folder.length + 1));
    expect(readdirSync(folder).sort(), `what ${folder} holds here`).toEqual([...new Set(inside)].sort());
  }
}
