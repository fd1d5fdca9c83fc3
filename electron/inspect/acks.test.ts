/** What the health check keeps in the data folder (acks.ts), and the API's check of an acknowledgement. */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { apiInputs } from '../../shared/contract';
import { dataSubdir } from '../ops/data-dir';
import { localHostFiles } from '../ops/host-files';
import { ackOf, addAck, pruneOwnWrites, readAcks, readOwnWrites, recordOwnWrites, type OwnWrites } from './acks';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snaptree-acks-'));
  process.env.SNAPTREE_DATA_DIR = join(dir, 'data');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the app\u2019s own writes and acknowledged warnings', () => {
  test('a finished operation\u2019s files are recorded per host with their time; a file gone or a record not one is left out', async () => {
    const file = join(dir, 'base.qcow2');
    await writeFile(file, 'x');
    await recordOwnWrites(localHostFiles, '11111111-1111-1111-1111-111111111111', 'delete-snapshot', [file, join(dir, 'gone.qcow2')]);
    await writeFile(join(await dataSubdir('own-writes'), 'junk.json'), '{"not": "a record"');
    const own = await readOwnWrites('local');
    expect([...own.keys()]).toEqual([file]);
    expect(own.get(file)).toMatchObject({ op: 'delete-snapshot', operationId: '11111111-1111-1111-1111-111111111111' });
    expect((await readOwnWrites('elsewhere')).size).toBe(0);
    // An id that could not name a file records nothing.
    await recordOwnWrites(localHostFiles, '../escape', 'commit', [file]);
    expect([...(await readOwnWrites('local')).values()].map((w) => w.operationId)).toEqual(['11111111-1111-1111-1111-111111111111']);
  });

  test('the records are pruned to what can still match: each file\u2019s latest write, none older than 90 days', async () => {
    const folder = await dataSubdir('own-writes');
    const day = 24 * 3600 * 1000;
    const now = Date.now();
    const put = (id: string, daysAgo: number, host: string, files: OwnWrites['files']): Promise<void> => {
      const record: OwnWrites = { operationId: id, op: 'commit', at: new Date(now - daysAgo * day).toISOString(), host, files };
      return writeFile(join(folder, `${id}.json`), `${JSON.stringify(record)}\n`, { mode: 0o600 });
    };
    await put('p-ancient', 100, 'h', [{ path: '/p/c', modified: 5 }]);
    await put('p-first', 20, 'h', [{ path: '/p/a', modified: 100, before: 50 }]);
    // The second write of /p/a follows the first: its `before` reaches back to 50 through it.
    await put('p-second', 10, 'h', [
      { path: '/p/a', modified: 200, before: 100 },
      { path: '/p/b', modified: 300 },
    ]);
    await put('p-third', 5, 'h', [{ path: '/p/b', modified: 400, before: 300 }]);
    await put('p-other-host', 15, 'h2', [{ path: '/p/a', modified: 100 }]);
    const before = await readOwnWrites('h');

    await pruneOwnWrites(90, now);
    const names = (await readdir(folder)).filter((n) => n.startsWith('p-')).sort();
    expect(names).toEqual(['p-other-host.json', 'p-second.json', 'p-third.json']);
    const second = JSON.parse(await readFile(join(folder, 'p-second.json'), 'utf8')) as OwnWrites;
    expect(second.files).toEqual([{ path: '/p/a', modified: 200, before: 50 }]);
    // What the check reads is the same, but for the write older than 90 days.
    const after = await readOwnWrites('h');
    before.delete('/p/c');
    expect(after).toEqual(before);
    expect(after.get('/p/a')?.before).toBe(50);
    expect((await readOwnWrites('h2')).get('/p/a')?.modified).toBe(100);
    // A file that is not a record stays as it is; pruning twice changes nothing more.
    expect(await readFile(join(folder, 'junk.json'), 'utf8')).toBe('{"not": "a record"');
    await pruneOwnWrites(90, now);
    expect((await readdir(folder)).filter((n) => n.startsWith('p-')).sort()).toEqual(names);
  });

  test('an acknowledgement holds for the file as it was: same host, path and time; a newer one replaces it', async () => {
    await addAck({ host: 'local', path: '/i/base.qcow2', modified: 1000, reason: 'first' });
    await addAck({ host: 'local', path: '/i/base.qcow2', modified: 2000, reason: 'second' });
    const acks = await readAcks();
    expect(acks.map((a) => a.reason)).toEqual(['second']);
    expect(ackOf(acks, 'local', '/i/base.qcow2', 2000.4)?.reason).toBe('second');
    expect(ackOf(acks, 'local', '/i/base.qcow2', 1000)).toBeNull();
    expect(ackOf(acks, 'host2', '/i/base.qcow2', 2000)).toBeNull();
  });

  test('the API takes a reason in words only: not empty, no control characters', () => {
    const base = { sourceId: 'c0', domain: 'vm', path: '/i/base.qcow2' };
    expect(apiInputs.acknowledge.safeParse({ ...base, reason: 'written on purpose' }).success).toBe(true);
    expect(apiInputs.acknowledge.safeParse({ ...base, reason: '  ' }).success).toBe(false);
    expect(apiInputs.acknowledge.safeParse({ ...base, reason: 'bell\u0007' }).success).toBe(false);
    expect(apiInputs.acknowledge.safeParse({ ...base, path: 'relative', reason: 'x' }).success).toBe(false);
    expect(apiInputs.acknowledge.safeParse({ ...base, reason: 'x', extra: 1 }).success).toBe(false);
  });
});
