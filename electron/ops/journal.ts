/**
 * The operation journal: one JSON file per operation in the data folder, rewritten atomically before and after
 * every step, so that after a crash recovery knows exactly what ran and what each step needs to be undone.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { ErrorData } from '../../shared/errors';
import type { Plan } from '../../shared/ops/plan';
import type { HistoryEntry } from '../../shared/ops/results';
import { dataDir } from './data-dir';

/** What undoing a step needs, captured before it runs. */
export type UndoData =
  | { kind: 'none' }
  | { kind: 'previous-xml'; xml: string; current: boolean }
  | { kind: 'previous-current'; snapshot: string | null }
  | { kind: 'previous-backing'; backing: string | null; format: string | null };

export interface JournalStep {
  state: 'pending' | 'started' | 'done' | 'undone';
  undo?: UndoData;
}

export interface JournalEntry {
  id: string;
  createdAt: string;
  /** The connection the plan runs on, for recovery. */
  uri: string | null;
  plan: Plan;
  status: 'running' | 'done' | 'rolled-back' | 'finished-by-recovery' | 'failed';
  steps: JournalStep[];
  error?: ErrorData;
}

export function journalDir(): string {
  return join(dataDir(), 'journal');
}

export async function writeJournal(entry: JournalEntry): Promise<void> {
  await mkdir(journalDir(), { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(journalDir(), `${entry.id}.json`), `${JSON.stringify(entry, null, 1)}\n`, { mode: 0o600, fsync: true });
}

export async function readJournals(): Promise<JournalEntry[]> {
  let names: string[];
  try {
    names = (await readdir(journalDir())).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const entries = await Promise.all(names.map(async (n) => JSON.parse(await readFile(join(journalDir(), n), 'utf8')) as JournalEntry));
  return entries.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Journals that did not end: a crash, or a failure recovery must finish or roll back. */
export async function unfinishedJournals(): Promise<JournalEntry[]> {
  return (await readJournals()).filter((e) => e.status === 'running' || e.status === 'failed');
}

/** The operations log: the newest journals first, as the app shows them. */
export async function history(limit: number): Promise<HistoryEntry[]> {
  return (await readJournals())
    .reverse()
    .slice(0, limit)
    .map((e) => ({
      id: e.id,
      at: e.createdAt,
      op: e.plan.intent.op,
      domain: e.plan.intent.domain,
      status: e.status,
      steps: e.plan.steps.map((step, i) => ({ sentence: step.sentence, command: step.command, state: e.steps[i]?.state ?? 'pending' })),
      error: e.error ? { code: e.error.code, message: e.error.message } : null,
    }));
}
