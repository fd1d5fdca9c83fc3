/**
 * The data folder and its files (settings, journals): a folder others control is refused with what to fix, and
 * a link planted where a file should be is neither read through nor written through.
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { readSettings, writeSettings } from '../settings';
import { readJournalFolder, readJournals, writeJournal, type JournalEntry } from './journal';
import { lockDomain } from './lock';

let dir: string;
let data: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snaptree-data-'));
  data = join(dir, 'data');
  process.env.SNAPTREE_DATA_DIR = data;
});

afterEach(async () => {
  delete process.env.SNAPTREE_DATA_DIR;
  await rm(dir, { recursive: true, force: true });
});

/** Every use of the data folder: settings read and written, a journal, a lock. */
async function expectEveryUseRefused(message: RegExp): Promise<void> {
  await expect(readSettings()).rejects.toMatchObject({ message: expect.stringMatching(message) });
  await expect(writeSettings({ connections: [], folders: ['/srv/images'] })).rejects.toMatchObject({ message: expect.stringMatching(message) });
  await expect(readJournals()).rejects.toMatchObject({ message: expect.stringMatching(message) });
  await expect(lockDomain('qemu:///system', 'vm')).rejects.toMatchObject({ message: expect.stringMatching(message) });
}

describe('a data folder someone else controls', () => {
  test('writable by everyone (0777): refused, saying to chmod 700; a missing one is made 0700', async () => {
    await writeSettings({ connections: [], folders: [] });
    expect(statSync(data).mode & 0o777).toBe(0o700);
    chmodSync(data, 0o777);
    await expectEveryUseRefused(/can be written by everyone.*chmod 700/);
    expect(readFileSync(join(data, 'settings.json'), 'utf8')).toContain('"folders": []');
  });

  test('owned by another user (65534): refused, saying whose it is and how to take it over', async () => {
    mkdirSync(data, { mode: 0o700 });
    chownSync(data, 65534, 65534);
    await expectEveryUseRefused(/belongs to user 65534.*chown/);
  });

  test('inside a folder others can write (0777, not sticky): refused, since the data folder could be swapped; a sticky one like /tmp is fine', async () => {
    const shared = join(dir, 'shared');
    mkdirSync(shared, { mode: 0o777 });
    chmodSync(shared, 0o777);
    process.env.SNAPTREE_DATA_DIR = join(shared, 'data');
    await expectEveryUseRefused(/is inside .*shared, which can be written by everyone/);
    chmodSync(shared, 0o1777);
    await writeSettings({ connections: [], folders: ['/srv/images'] });
    expect((await readSettings()).folders).toEqual(['/srv/images']);
  });

  test('a symbolic link: refused, saying to use a real folder; the folder it points at stays empty', async () => {
    const real = join(dir, 'real');
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, data);
    await expectEveryUseRefused(/is a symbolic link/);
    expect(readdirSync(real)).toEqual([]);
  });
});

describe('links planted where the settings and journals are', () => {
  test('a settings file that is a link is not read through, and writing the settings never changes its target', async () => {
    mkdirSync(data, { mode: 0o700 });
    const outside = join(dir, 'elsewhere.json');
    const evil = '{"connections":["qemu+ssh://attacker/system"],"folders":["/"]}\n';
    writeFileSync(outside, evil);
    symlinkSync(outside, join(data, 'settings.json'));
    await expect(readSettings()).rejects.toMatchObject({ message: expect.stringMatching(/symbolic link/) });
    await expect(writeSettings({ connections: [], folders: ['/srv/images'] })).rejects.toMatchObject({ message: expect.stringMatching(/symbolic link/) });
    expect(readFileSync(outside, 'utf8')).toBe(evil);
    expect(lstatSync(join(data, 'settings.json')).isSymbolicLink()).toBe(true);
  });

  test('a journal that is a link is not read as a journal but reported, and rewriting that journal never changes its target', async () => {
    mkdirSync(join(data, 'journal'), { recursive: true, mode: 0o700 });
    const entry: JournalEntry = {
      id: 'op-1',
      createdAt: new Date().toISOString(),
      uri: 'qemu:///system',
      plan: {
        id: 'op-1',
        intent: { op: 'switch', domain: 'vm', branch: 'main' },
        source: { kind: 'libvirt', uri: 'qemu:///system' },
        steps: [],
        pointOfNoReturn: null,
        impact: { created: [], written: [], trashed: [], metadata: [], changedNodes: [], unchangedNodes: [], spaceBytes: 0, mustStop: false, createdNodes: [], removedSnapshots: [], removedBranches: [], renamed: null, currentAfter: null },
        warnings: [],
      },
      status: 'running',
      steps: [],
    };
    const outside = join(dir, 'elsewhere.json');
    const text = `${JSON.stringify(entry)}\n`;
    writeFileSync(outside, text);
    symlinkSync(outside, join(data, 'journal', 'op-1.json'));
    expect(await readJournalFolder()).toMatchObject({ entries: [], problems: [{ id: 'op-1', message: expect.stringMatching(/symbolic link/) }] });
    await expect(writeJournal({ ...entry, status: 'done' })).rejects.toMatchObject({ message: expect.stringMatching(/symbolic link/) });
    expect(readFileSync(outside, 'utf8')).toBe(text);
  });
});
