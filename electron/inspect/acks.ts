/**
 * What the health check remembers in the data folder (docs/safety.md, rule 5 for the folder itself): the files
 * each finished operation wrote, with their modification time right after and before it, so that a file whose last
 * write was the app's own is reported as "written after" what builds on it only for a write by something else before;
 * and the warnings a user acknowledged, with their reason, per file and modification time, so that a new write
 * raises the warning again. The own-writes records are pruned as each new one is kept: only the latest write of
 * each file can still match, and none older than `OWN_WRITES_DAYS`.
 */
import { lstat, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { HostFiles } from '../ops/host-files';
import { dataSubdir, readPrivateFile, writePrivateFile } from '../ops/data-dir';

/** Two modification times are one write when they differ by less than this (a remote `stat` gives whole ms). */
const SAME_MS = 1;

const ownWritesSchema = z.object({
  operationId: z.string(),
  op: z.string(),
  at: z.string(),
  host: z.string(),
  // `before`: the file's modification time before the operation, so that a write by something else before it is
  // still told apart from the operation's own (check.ts). Missing where it was not known (a recovered operation).
  files: z.array(z.object({ path: z.string(), modified: z.number(), before: z.number().optional() })),
});

/** The files one finished operation wrote, on its host, each with its modification time right after. */
export type OwnWrites = z.infer<typeof ownWritesSchema>;

const ackSchema = z.object({ host: z.string(), path: z.string(), modified: z.number(), reason: z.string(), at: z.string() });

/** A warning the user acknowledged on one file as it was then (`modified`), and why. */
export type Ack = z.infer<typeof ackSchema>;

/** An operation id names its record file, as it names its journal. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The modification times of those of `paths` that are files now, on the host `files` reaches. */
export async function modifiedTimes(files: HostFiles, paths: readonly string[]): Promise<Record<string, number>> {
  const found = await Promise.all(
    [...new Set(paths)].map(async (path) => {
      const info = await files.lstat(path).catch(() => null);
      return info !== null && info.isFile() ? [[path, info.mtimeMs] as const] : [];
    }),
  );
  return Object.fromEntries(found.flat());
}

/**
 * Records the files an operation wrote (those of its plan's impact that still exist), as they are once it is
 * done, on the host `files` reaches, with their modification times before it where known (`before`). A file that
 * cannot be read is left out: the check then says what it sees.
 */
export async function recordOwnWrites(
  files: HostFiles,
  operationId: string,
  op: string,
  paths: readonly string[],
  before: Readonly<Record<string, number>> = {},
): Promise<void> {
  if (!ID.test(operationId) || paths.length === 0) return;
  const found = Object.entries(await modifiedTimes(files, paths)).map(([path, modified]) => {
    const was = before[path];
    return was === undefined ? [{ path, modified }] : [{ path, modified, before: was }];
  });
  const record: OwnWrites = { operationId, op, at: new Date().toISOString(), host: files.host, files: found.flat() };
  await writePrivateFile(join(await dataSubdir('own-writes'), `${operationId}.json`), `${JSON.stringify(record)}\n`);
  await pruneOwnWrites().catch(() => undefined);
}

/** Days an own-writes record is kept at most: a write that old is reported like anyone's. */
export const OWN_WRITES_DAYS = 90;

/** A record file of the own-writes folder by its name, with what it holds; null for a file that is not one. */
interface RecordFile {
  name: string;
  record: OwnWrites;
}

/** Every readable record of the own-writes folder, oldest first (files of other names, or unreadable, left out). */
async function recordFiles(dir: string): Promise<RecordFile[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json') && ID.test(n.slice(0, -'.json'.length)));
  const read = await Promise.all(names.map(async (name) => ({ name, record: await readRecord(join(dir, name), ownWritesSchema) })));
  const found = read.filter((r): r is RecordFile => r.record !== null);
  return found.sort((a, b) => a.record.at.localeCompare(b.record.at));
}

/**
 * Keeps, of the own-writes records, only what can still match: each file's latest write on its host, carrying the
 * `before` that reaches back through the earlier ones (as `readOwnWrites` folds them), in the record that made it.
 * A record left with no file, or older than `days`, is removed; one that lost some files is written again. Records
 * kept meanwhile by another operation are not among those read, so never touched.
 */
export async function pruneOwnWrites(days = OWN_WRITES_DAYS, now = Date.now()): Promise<void> {
  const dir = await dataSubdir('own-writes');
  const files = await recordFiles(dir);
  const latest = new Map<string, { name: string; before: number | undefined }>();
  const folded = new Map<string, OwnWrite>();
  for (const { name, record } of files) {
    for (const f of record.files) {
      const key = JSON.stringify([record.host, f.path]);
      const earlier = folded.get(key);
      const before = f.before !== undefined && earlier !== undefined && sameWrite(earlier.modified, f.before) ? earlier.before : f.before;
      folded.set(key, { modified: f.modified, operationId: record.operationId, op: record.op, at: record.at, ...(before !== undefined ? { before } : {}) });
      latest.set(key, { name, before });
    }
  }
  const cutoff = now - days * 24 * 3600 * 1000;
  for (const { name, record } of files) {
    const kept: OwnWrites['files'] = record.files.flatMap((f) => {
      const last = latest.get(JSON.stringify([record.host, f.path]));
      if (last?.name !== name) return [];
      return [last.before === undefined ? { path: f.path, modified: f.modified } : { path: f.path, modified: f.modified, before: last.before }];
    });
    const file = join(dir, name);
    const same = kept.length === record.files.length && kept.every((f, i) => f.before === record.files[i]?.before);
    if (kept.length === 0 || !(Date.parse(record.at) >= cutoff)) {
      if ((await lstat(file)).isFile()) await unlink(file);
    } else if (!same) {
      await writePrivateFile(file, `${JSON.stringify({ ...record, files: kept })}\n`);
    }
  }
}

/** JSON text as `schema` reads it; null when it is not that. */
function parsed<T>(text: string, schema: z.ZodType<T>): T | null {
  try {
    const result = schema.safeParse(JSON.parse(text));
    return result.success ? result.data : null;
  } catch {
    return null;
  }
}

/** A JSON file of the data folder as `schema` reads it; null when it is missing or is not that. */
async function readRecord<T>(file: string, schema: z.ZodType<T>): Promise<T | null> {
  const text = await readPrivateFile(file).catch(() => null);
  return text === null ? null : parsed(text, schema);
}

/**
 * The app's last write of a file: when (`modified`), by which operation, and when something else last wrote the
 * file before the app's writes that followed one another (`before`; undefined where that is not known).
 */
export interface OwnWrite {
  modified: number;
  before?: number;
  operationId: string;
  op: string;
  at: string;
}

/**
 * Every file the app's finished operations wrote on `host`, by path: the latest record of each. Where an
 * operation found the file as an earlier one of the app left it, `before` reaches back to before that one.
 */
export async function readOwnWrites(host: string): Promise<Map<string, OwnWrite>> {
  const dir = await dataSubdir('own-writes');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  const records = (await Promise.all(names.map((n) => readRecord(join(dir, n), ownWritesSchema)))).filter((r): r is OwnWrites => r !== null && r.host === host);
  records.sort((a, b) => a.at.localeCompare(b.at));
  const out = new Map<string, OwnWrite>();
  for (const r of records) {
    for (const f of r.files) {
      const earlier = out.get(f.path);
      const before = f.before !== undefined && earlier !== undefined && sameWrite(earlier.modified, f.before) ? earlier.before : f.before;
      out.set(f.path, { modified: f.modified, operationId: r.operationId, op: r.op, at: r.at, ...(before !== undefined ? { before } : {}) });
    }
  }
  return out;
}

/** Whether two modification times are the same write. */
export const sameWrite = (a: number, b: number): boolean => Math.abs(a - b) < SAME_MS;

async function acksFile(): Promise<string> {
  return join(await dataSubdir('health'), 'acks.json');
}

/** Every acknowledged warning, on every host. */
export async function readAcks(): Promise<Ack[]> {
  return (await readRecord(await acksFile(), z.array(ackSchema))) ?? [];
}

/** The acknowledgement of `path` on `host` as it is now (`modified`), if any. */
export function ackOf(acks: readonly Ack[], host: string, path: string, modified: number): Ack | null {
  return acks.find((a) => a.host === host && a.path === path && sameWrite(a.modified, modified)) ?? null;
}

/** Keeps an acknowledgement, in place of any earlier one of the same file on the same host. */
export async function addAck(ack: Omit<Ack, 'at'>): Promise<Ack> {
  const kept: Ack = { ...ack, at: new Date().toISOString() };
  const file = await acksFile();
  const text = await readPrivateFile(file);
  const earlier = text === null ? [] : parsed(text, z.array(ackSchema));
  // A record that cannot be read (cut short, edited by hand) is kept aside, never overwritten: its acknowledgements
  // no longer count, but what it held stays there to be read.
  if (earlier === null) await rename(file, `${file}.unreadable-${Date.now()}`);
  const others = (earlier ?? []).filter((a) => !(a.host === ack.host && a.path === ack.path));
  await writePrivateFile(file, `${JSON.stringify([...others, kept])}\n`);
  return kept;
}
