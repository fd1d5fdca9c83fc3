/**
 * The operation journal: one JSON file per operation in the data folder, rewritten atomically before and after
 * every step, so that after a crash recovery knows exactly what ran and what each step needs to be undone.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, type ErrorData } from '../../shared/errors';
import type { Plan } from '../../shared/ops/plan';
import type { HistoryEntry } from '../../shared/ops/results';
import { dataSubdir, readPrivateFile, writePrivateFile } from './data-dir';

/** What undoing a step needs, captured before it runs. */
export type UndoData =
  | { kind: 'none' }
  | { kind: 'previous-xml'; xml: string; current: boolean }
  | { kind: 'previous-current'; snapshot: string | null }
  | { kind: 'previous-backing'; backing: string | null; format: string | null };

/** One step's place in its operation, as journaled. */
export interface JournalStep {
  state: 'pending' | 'started' | 'done' | 'undone';
  undo?: UndoData;
}

/** One operation's journal: its confirmed plan, how far it got, and how it ended. */
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

/** An operation id names its journal file, so it must be a plain file name. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

async function journalFile(id: string): Promise<string> {
  if (!ID.test(id)) throw new AppError('E_BAD_INPUT', `"${id}" cannot name an operation: use letters, digits, ".", "_" and "-".`, { id });
  return join(await dataSubdir('journal'), `${id}.json`);
}

const text = (entry: JournalEntry) => `${JSON.stringify(entry, null, 1)}\n`;

/**
 * Writes an operation's first journal. It never replaces one: an id that already has a journal (of an earlier
 * operation, or anything else by that name) is refused before the operation does anything.
 */
export async function createJournal(entry: JournalEntry): Promise<void> {
  const file = await journalFile(entry.id);
  if (!(await writePrivateFile(file, text(entry), { exclusive: true }))) {
    throw new AppError('E_NAME_TAKEN', `Operation ${entry.id} already has a journal (${file}); it was left as it is and nothing ran. Plan the operation again.`, {
      operationId: entry.id,
    });
  }
}

/** Rewrites the journal of a running or recovering operation, atomically. */
export async function writeJournal(entry: JournalEntry): Promise<void> {
  await writePrivateFile(await journalFile(entry.id), text(entry));
}

/** Every journal in the data folder, oldest first. */
export async function readJournals(): Promise<JournalEntry[]> {
  const dir = await dataSubdir('journal');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  const entries = await Promise.all(
    names.map(async (n) => {
      // Read without following links: a link planted here is refused, not read as a journal.
      const content = await readPrivateFile(join(dir, n));
      return content === null ? [] : [JSON.parse(content) as JournalEntry];
    }),
  );
  return entries.flat().sort((a, b) => a.createdAt.localeCompare(b.createdAt));
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
