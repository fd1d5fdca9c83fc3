/**
 * The operation journal: one JSON file per operation in the data folder, rewritten atomically before and after
 * every step, so that after a crash recovery knows exactly what ran and what each step needs to be undone.
 *
 * One bad file never hides the others: a journal that cannot be read (not JSON, not a journal's shape, of a
 * newer format, a link or not a plain file) is skipped and reported, and the rest are read. Finished journals
 * are pruned after a retention period; running and failed ones are kept, since recovery needs them.
 */
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, toErrorData } from '../../shared/errors';
import type { HistoryEntry } from '../../shared/ops/results';
import { operationWords } from '../../shared/ops/plan-summary';
import { stepLine } from '../../shared/ops/step-command';
import { dataSubdir, readPrivateFile, writePrivateFile } from './data-dir';
import { journalText, parseJournal, type JournalEntry } from './journal-schema';

export { JOURNAL_VERSION, type JournalEntry, type JournalStep, type UndoData } from './journal-schema';

/** A journal file that was skipped, and why. */
export interface JournalProblem {
  /** The operation id its file name gives. */
  id: string;
  file: string;
  /** When the file was last written, as an ISO time; null when even that could not be read. */
  at: string | null;
  /** A sentence: what is wrong with it and what to do. */
  message: string;
}

/** The journals that could be read, oldest first, and the files that could not. */
export interface JournalRead {
  entries: JournalEntry[];
  problems: JournalProblem[];
}

/** An operation id names its journal file, so it must be a plain file name. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** How long finished journals are kept when neither the engine nor SNAPTREE_JOURNAL_DAYS says otherwise. */
export const DEFAULT_JOURNAL_DAYS = 30;

const DAY_MS = 24 * 60 * 60 * 1000;

async function journalFile(id: string): Promise<string> {
  if (!ID.test(id)) throw new AppError('E_BAD_INPUT', `"${id}" cannot name an operation: use letters, digits, ".", "_" and "-".`, { id });
  return join(await dataSubdir('journal'), `${id}.json`);
}

/**
 * Writes an operation's first journal. It never replaces one: an id that already has a journal (of an earlier
 * operation, or anything else by that name) is refused before the operation does anything.
 */
export async function createJournal(entry: JournalEntry): Promise<void> {
  const file = await journalFile(entry.id);
  if (!(await writePrivateFile(file, journalText(entry), { exclusive: true }))) {
    throw new AppError('E_NAME_TAKEN', `Operation ${entry.id} already has a journal (${file}); it was left as it is and nothing ran. Plan the operation again.`, {
      operationId: entry.id,
    });
  }
}

/** Rewrites the journal of a running or recovering operation, atomically. */
export async function writeJournal(entry: JournalEntry): Promise<void> {
  await writePrivateFile(await journalFile(entry.id), journalText(entry));
}

const modifiedAt = async (file: string) => (await lstat(file).catch(() => null))?.mtime ?? null;

/** One journal file: its entry, or the problem to report. */
async function readOne(dir: string, name: string): Promise<{ entry: JournalEntry } | { problem: JournalProblem } | null> {
  const file = join(dir, name);
  const id = name.slice(0, -'.json'.length);
  const problem = async (why: string) => ({
    problem: { id, file, at: (await modifiedAt(file))?.toISOString() ?? null, message: `The journal ${file} was skipped: ${why}. Move it out of the journal folder once it is dealt with.` },
  });
  let content: string | null;
  try {
    // Read without following links: a link planted here is refused and reported, never read as a journal.
    content = await readPrivateFile(file);
  } catch (error) {
    return problem(toErrorData(error).message.replace(/\.$/, ''));
  }
  if (content === null) return null; // Removed since the folder was listed: nothing to read or report.
  const parsed = parseJournal(content, id);
  return parsed.ok ? { entry: parsed.entry } : problem(parsed.why);
}

/** Every journal in the data folder, oldest first, and every file there that could not be read as one. */
export async function readJournalFolder(): Promise<JournalRead> {
  const dir = await dataSubdir('journal');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  const results = (await Promise.all(names.map((n) => readOne(dir, n)))).filter((r) => r !== null);
  return {
    entries: results.flatMap((r) => ('entry' in r ? [r.entry] : [])).sort((a, b) => a.createdAt.localeCompare(b.createdAt)),
    problems: results.flatMap((r) => ('problem' in r ? [r.problem] : [])).sort((a, b) => a.file.localeCompare(b.file)),
  };
}

/** The journals that could be read, oldest first; for the problems too, use `readJournalFolder`. */
export async function readJournals(): Promise<JournalEntry[]> {
  return (await readJournalFolder()).entries;
}

/** Whether a journal did not end: a crash, or a failure recovery must finish or roll back. Recovery needs it. */
export const isUnfinished = (entry: JournalEntry): boolean => entry.status === 'running' || entry.status === 'failed';

/** Journals that did not end, oldest first; for the files that could not be read too, use `readJournalFolder`. */
export async function unfinishedJournals(): Promise<JournalEntry[]> {
  return (await readJournals()).filter(isUnfinished);
}

/**
 * How many days finished journals are kept: `days` when given (an engine option), else SNAPTREE_JOURNAL_DAYS,
 * else 30. A value that is not a number of days (negative, not a number) falls back to the default, which
 * keeps more rather than less.
 */
export function journalRetentionDays(days?: number): number {
  const fromEnv = process.env.SNAPTREE_JOURNAL_DAYS?.trim();
  const chosen = days ?? (fromEnv ? Number(fromEnv) : DEFAULT_JOURNAL_DAYS);
  return Number.isNaN(chosen) || chosen < 0 ? DEFAULT_JOURNAL_DAYS : chosen;
}

/**
 * Removes finished journals (done, rolled back, finished by recovery) that are older than `days`: both created
 * and last written before then, so an operation recovered long after it began is kept from its recovery on.
 * Running and failed journals are never removed, nor files that could not be read. Returns the removed ids.
 */
export async function pruneJournals(days: number, now: Date = new Date()): Promise<string[]> {
  const cutoff = now.getTime() - days * DAY_MS;
  const dir = await dataSubdir('journal');
  const removed: string[] = [];
  for (const entry of (await readJournalFolder()).entries) {
    if (isUnfinished(entry)) continue;
    if (Date.parse(entry.createdAt) >= cutoff) continue;
    const file = join(dir, `${entry.id}.json`);
    const info = await lstat(file).catch(() => null);
    // The file was read as a plain file; one replaced meanwhile by anything else is left alone. unlink removes a
    // name, never what a link points to, and nobody else can write into the checked private folder.
    if (info === null || !info.isFile() || info.mtime.getTime() >= cutoff) continue;
    try {
      await unlink(file);
      removed.push(entry.id);
    } catch {
      // Pruning only saves space: a journal that cannot be removed now is tried again at the next start.
    }
  }
  return removed;
}

/** The operations log: the newest journals first, as the app shows them, with a line for each unreadable file. */
export async function history(limit: number): Promise<HistoryEntry[]> {
  const { entries, problems } = await readJournalFolder();
  const lines: HistoryEntry[] = [
    ...entries.map((e) => ({
      id: e.id,
      at: e.createdAt,
      op: e.plan.intent.op,
      domain: e.plan.intent.domain,
      subject: operationWords(e.plan.intent),
      status: e.status,
      steps: e.plan.steps.map((step, i) => ({ sentence: step.sentence, command: stepLine(step, e.plan.source) ?? [], state: e.steps[i]?.state ?? 'pending' })),
      error: e.error ? { code: e.error.code, message: e.error.message } : null,
    })),
    ...problems.map((p) => ({
      id: p.id,
      at: p.at ?? '',
      op: 'journal',
      domain: '',
      status: 'unreadable' as const,
      steps: [],
      error: { code: 'E_BAD_INPUT', message: p.message },
    })),
  ];
  return lines.sort((a, b) => b.at.localeCompare(a.at)).slice(0, limit);
}
