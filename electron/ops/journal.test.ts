/**
 * Journals as read from a real data folder: a bad file among good ones is reported and skipped while the others
 * are recovered and listed; a file from before journals had a version is read as version 1, and a version 1 file
 * into today's shape; one from a newer build is left alone and reported; finished journals are pruned after their
 * retention period, never running or failed ones.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { Engine } from '../engine';
import { recoverAll } from './executor';
import { createJournal, history, journalRetentionDays, pruneJournals, readJournalFolder, type JournalEntry } from './journal';

const DAY = 24 * 60 * 60 * 1000;
let dir: string;
let journals: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snaptree-journal-'));
  journals = join(dir, 'data', 'journal');
  process.env.SNAPTREE_DATA_DIR = join(dir, 'data');
  delete process.env.SNAPTREE_JOURNAL_DAYS;
  mkdirSync(journals, { recursive: true, mode: 0o700 });
});

afterEach(async () => {
  delete process.env.SNAPTREE_DATA_DIR;
  delete process.env.SNAPTREE_JOURNAL_DAYS;
  await rm(dir, { recursive: true, force: true });
});

/** A journal of a plan without steps on a folder source: recovery needs no tool to roll it back. */
function entry(id: string, status: JournalEntry['status'], ageDays = 0): JournalEntry {
  return {
    id,
    createdAt: new Date(Date.now() - ageDays * DAY).toISOString(),
    uri: null,
    plan: {
      id,
      intent: { op: 'switch', domain: `vm-${id}`, branch: 'main' },
      source: { kind: 'folder', path: dir },
      steps: [],
      pointOfNoReturn: null,
      impact: { created: [], written: [], trashed: [], metadata: [], changedNodes: [], unchangedNodes: [], spaceBytes: 0, mustStop: false, createdNodes: [], removedSnapshots: [], removedBranches: [], renamed: null, currentAfter: null },
      warnings: [],
    },
    status,
    steps: [],
  };
}

/** Writes a journal as the app does, then dates its file `ageDays` back. */
async function journal(id: string, status: JournalEntry['status'], ageDays = 0): Promise<void> {
  await createJournal(entry(id, status, ageDays));
  const when = new Date(Date.now() - ageDays * DAY);
  utimesSync(join(journals, `${id}.json`), when, when);
}

const ids = async () => (await readJournalFolder()).entries.map((e) => e.id).sort();

describe('reading journals', () => {
  test('every journal is written with version 2', async () => {
    await journal('a', 'done');
    expect(JSON.parse(readFileSync(join(journals, 'a.json'), 'utf8'))).toMatchObject({ version: 2, id: 'a' });
  });

  test("a version 1 journal is read into today's shape: command lines dropped, a rebase's and a commit's format taken from their -f, graph fields empty", async () => {
    const old = entry('v1', 'done');
    const rebase = { kind: 'rebase', path: '/f/c', backing: '/f/b', backingFormat: 'qcow2', unsafe: true, sentence: 'r', command: ['qemu-img', 'rebase', '-u', '-f', 'qed', '-F', 'qcow2', '-b', '/f/b', '--', '/f/c'] };
    const commit = { kind: 'commit', top: '/f/t', base: '/f/b', sentence: 'c', command: ['qemu-img', 'commit', '-f', 'qcow2', '-p', '-d', '-b', '/f/b', '--', '/f/t'] };
    const trash = { kind: 'trash', path: '/f/t', sentence: 't', command: ['mv', '--', '/f/t', '/f/.snaptree-trash/v1/t'] };
    const impact = { created: [], written: [], trashed: [], metadata: [], changedNodes: [], unchangedNodes: [], spaceBytes: 0, mustStop: true };
    const file = { version: 1, ...old, plan: { ...old.plan, steps: [rebase, commit, trash], impact }, steps: [{ state: 'done' }, { state: 'done' }, { state: 'done' }] };
    writeFileSync(join(journals, 'v1.json'), JSON.stringify(file), { mode: 0o600 });
    const { entries, problems } = await readJournalFolder();
    expect(problems).toEqual([]);
    expect(entries[0]?.plan.steps).toEqual([
      { kind: 'rebase', path: '/f/c', format: 'qed', backing: '/f/b', backingFormat: 'qcow2', unsafe: true, sentence: 'r' },
      { kind: 'commit', top: '/f/t', format: 'qcow2', base: '/f/b', sentence: 'c' },
      { kind: 'trash', path: '/f/t', sentence: 't' },
    ]);
    expect(entries[0]?.plan.impact).toMatchObject({ createdNodes: [], removedSnapshots: [], removedBranches: [], renamed: null, currentAfter: null });
    const [line] = await history(10);
    expect(line?.steps.map((s) => s.command)).toEqual([['qemu-img', 'rebase', '-u', '-f', 'qed', '-F', 'qcow2', '-b', '/f/b', '--', '/f/c'], ['qemu-img', 'commit', '-f', 'qcow2', '-p', '-d', '-b', '/f/b', '--', '/f/t'], []]);
    // The log names what the operation acted on, not only the operation.
    expect(line?.subject).toBe('Switch vm-v1 to branch main');
  });

  test('a journal without a version, as earlier releases wrote it, is read as version 1', async () => {
    writeFileSync(join(journals, 'old.json'), JSON.stringify(entry('old', 'done')), { mode: 0o600 });
    expect(await readJournalFolder()).toEqual({ entries: [entry('old', 'done')].map((e) => ({ ...e, createdAt: expect.any(String) })), problems: [] });
  });

  test('bad files among good ones (not JSON, not a journal, a link, another id) are reported and skipped, the others read', async () => {
    await journal('good-1', 'done');
    await journal('good-2', 'rolled-back');
    writeFileSync(join(journals, 'torn.json'), '{"id": "torn", "creat', { mode: 0o600 });
    writeFileSync(join(journals, 'shape.json'), JSON.stringify({ ...entry('shape', 'done'), status: 'exploded' }), { mode: 0o600 });
    writeFileSync(join(journals, 'extra.json'), JSON.stringify({ ...entry('extra', 'done'), steps: [{ state: 'pending' }] }), { mode: 0o600 });
    writeFileSync(join(journals, 'named.json'), JSON.stringify(entry('other', 'done')), { mode: 0o600 });
    writeFileSync(join(dir, 'outside.json'), JSON.stringify(entry('link', 'running')));
    symlinkSync(join(dir, 'outside.json'), join(journals, 'link.json'));
    const { entries, problems } = await readJournalFolder();
    expect(entries.map((e) => e.id)).toEqual(['good-1', 'good-2']);
    expect(Object.fromEntries(problems.map((p) => [p.id, p.message]))).toEqual({
      extra: expect.stringMatching(/not one step record per step/),
      link: expect.stringMatching(/symbolic link/),
      named: expect.stringMatching(/names operation other, not named/),
      shape: expect.stringMatching(/shape.*status/),
      torn: expect.stringMatching(/not valid JSON/),
    });
  });

  test('a journal of a newer version is skipped and reported, never read', async () => {
    await journal('now', 'done');
    writeFileSync(join(journals, 'future.json'), JSON.stringify({ ...entry('future', 'running'), version: 3, whatever: true }), { mode: 0o600 });
    const { entries, problems } = await readJournalFolder();
    expect(entries.map((e) => e.id)).toEqual(['now']);
    expect(problems).toEqual([{ id: 'future', file: join(journals, 'future.json'), at: expect.any(String), message: expect.stringMatching(/newer virt-snaptree \(journal version 3/) }]);
  });
});

describe('recovery and the log with a bad journal', () => {
  test('recovery rolls back the good unfinished journals and reports the bad ones as failed, leaving them', async () => {
    await journal('crashed', 'running');
    await journal('finished', 'done');
    writeFileSync(join(journals, 'torn.json'), 'not json', { mode: 0o600 });
    writeFileSync(join(journals, 'future.json'), JSON.stringify({ ...entry('future', 'running'), version: 3 }), { mode: 0o600 });
    const reports = await recoverAll(() => null);
    expect(reports).toEqual([
      { operationId: 'future', domain: '', outcome: 'failed', message: expect.stringMatching(/newer/), journal: join(journals, 'future.json') },
      { operationId: 'torn', domain: '', outcome: 'failed', message: expect.stringMatching(/not valid JSON/), journal: join(journals, 'torn.json') },
      { operationId: 'crashed', domain: 'vm-crashed', outcome: 'rolled-back', message: 'Rolled back the interrupted switch on vm-crashed.' },
    ]);
    expect((await readJournalFolder()).entries.map((e) => [e.id, e.status])).toEqual([
      ['crashed', 'rolled-back'],
      ['finished', 'done'],
    ]);
    expect(readFileSync(join(journals, 'torn.json'), 'utf8')).toBe('not json');
    expect(JSON.parse(readFileSync(join(journals, 'future.json'), 'utf8'))).toMatchObject({ version: 3, status: 'running' });
  });

  test('the log lists the good journals, newest first, and a line for a file it could not read', async () => {
    await journal('older', 'done', 2);
    await journal('newer', 'failed', 1);
    writeFileSync(join(journals, 'torn.json'), '{', { mode: 0o600 });
    expect((await history(10)).map((h) => [h.id, h.status, h.op, h.domain])).toEqual([
      ['torn', 'unreadable', 'journal', ''],
      ['newer', 'failed', 'switch', 'vm-newer'],
      ['older', 'done', 'switch', 'vm-older'],
    ]);
    expect((await history(10))[0]?.error?.message).toMatch(/torn\.json was skipped: it is not valid JSON/);
    expect(await history(1)).toHaveLength(1);
  });
});

describe('pruning finished journals', () => {
  test('old finished journals go; old running and failed ones, recent ones and unreadable files stay', async () => {
    await journal('old-done', 'done', 31);
    await journal('old-rolled-back', 'rolled-back', 40);
    await journal('old-recovered', 'finished-by-recovery', 100);
    await journal('old-running', 'running', 31);
    await journal('old-failed', 'failed', 31);
    await journal('recent-done', 'done', 29);
    writeFileSync(join(journals, 'torn.json'), '{', { mode: 0o600 });
    utimesSync(join(journals, 'torn.json'), new Date(0), new Date(0));
    expect((await pruneJournals(30)).sort()).toEqual(['old-done', 'old-recovered', 'old-rolled-back']);
    expect(await ids()).toEqual(['old-failed', 'old-running', 'recent-done']);
    expect(existsSync(join(journals, 'torn.json'))).toBe(true);
  });

  test('a journal created long ago but finished recently (by recovery) is kept from its last write', async () => {
    await journal('late', 'finished-by-recovery', 60);
    const now = new Date();
    utimesSync(join(journals, 'late.json'), now, now);
    expect(await pruneJournals(30)).toEqual([]);
  });

  test('retention is 30 days, SNAPTREE_JOURNAL_DAYS overrides it, the engine option overrides both', async () => {
    expect(journalRetentionDays()).toBe(30);
    process.env.SNAPTREE_JOURNAL_DAYS = '7';
    expect(journalRetentionDays()).toBe(7);
    expect(journalRetentionDays(90)).toBe(90);
    process.env.SNAPTREE_JOURNAL_DAYS = 'soon';
    expect(journalRetentionDays()).toBe(30);
  });

  test('the engine prunes at recovery with SNAPTREE_JOURNAL_DAYS, after recovering', async () => {
    await journal('week-old', 'done', 8);
    await journal('day-old', 'done', 1);
    await journal('crashed', 'running', 8);
    process.env.SNAPTREE_JOURNAL_DAYS = '7';
    const engine = new Engine({ host: 'serve' });
    try {
      expect((await engine.recover()).map((r) => [r.operationId, r.outcome])).toEqual([['crashed', 'rolled-back']]);
    } finally {
      await engine.close();
    }
    // The crashed one was rolled back just now: written today, so kept for its week.
    expect(await ids()).toEqual(['crashed', 'day-old']);
  });

  test('an engine told to keep journals 0 days prunes every finished one', async () => {
    await journal('just-done', 'done', 0.01);
    const engine = new Engine({ host: 'serve', journalDays: 0 });
    try {
      await engine.recover();
    } finally {
      await engine.close();
    }
    expect(await ids()).toEqual([]);
  });
});
