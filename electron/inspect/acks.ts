/**
 * What the health check remembers in the data folder (docs/safety.md, rule 5 for the folder itself): the files
 * each finished operation wrote, with their modification time right after, so that a file whose last write was
 * the app's own is not reported as "written after" what builds on it; and the warnings a user acknowledged, with
 * their reason, per file and modification time, so that a new write raises the warning again.
 */
import { readdir } from 'node:fs/promises';
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
  files: z.array(z.object({ path: z.string(), modified: z.number() })),
});

/** The files one finished operation wrote, on its host, each with its modification time right after. */
export type OwnWrites = z.infer<typeof ownWritesSchema>;

const ackSchema = z.object({ host: z.string(), path: z.string(), modified: z.number(), reason: z.string(), at: z.string() });

/** A warning the user acknowledged on one file as it was then (`modified`), and why. */
export type Ack = z.infer<typeof ackSchema>;

/** An operation id names its record file, as it names its journal. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Records the files an operation wrote (those of its plan's impact that still exist), as they are once it is
 * done, on the host `files` reaches. A file that cannot be read is left out: the check then says what it sees.
 */
export async function recordOwnWrites(files: HostFiles, operationId: string, op: string, paths: readonly string[]): Promise<void> {
  if (!ID.test(operationId) || paths.length === 0) return;
  const found = await Promise.all(
    [...new Set(paths)].map(async (path) => {
      const info = await files.lstat(path).catch(() => null);
      return info !== null && info.isFile() ? [{ path, modified: info.mtimeMs }] : [];
    }),
  );
  const record: OwnWrites = { operationId, op, at: new Date().toISOString(), host: files.host, files: found.flat() };
  await writePrivateFile(join(await dataSubdir('own-writes'), `${operationId}.json`), `${JSON.stringify(record)}\n`);
}

/** A JSON file of the data folder as `schema` reads it; null when it is missing or is not that. */
async function readRecord<T>(file: string, schema: z.ZodType<T>): Promise<T | null> {
  const text = await readPrivateFile(file).catch(() => null);
  if (text === null) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Every file the app's finished operations wrote on `host`, by path: the latest record of each. */
export async function readOwnWrites(host: string): Promise<Map<string, { modified: number; operationId: string; op: string; at: string }>> {
  const dir = await dataSubdir('own-writes');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  const records = (await Promise.all(names.map((n) => readRecord(join(dir, n), ownWritesSchema)))).filter((r): r is OwnWrites => r !== null && r.host === host);
  records.sort((a, b) => a.at.localeCompare(b.at));
  const out = new Map<string, { modified: number; operationId: string; op: string; at: string }>();
  for (const r of records) for (const f of r.files) out.set(f.path, { modified: f.modified, operationId: r.operationId, op: r.op, at: r.at });
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
  const others = (await readAcks()).filter((a) => !(a.host === ack.host && a.path === ack.path));
  await writePrivateFile(await acksFile(), `${JSON.stringify([...others, kept])}\n`);
  return kept;
}
