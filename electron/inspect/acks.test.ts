/** What the health check keeps in the data folder (acks.ts), and the API's check of an acknowledgement. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { apiInputs } from '../../shared/contract';
import { dataSubdir } from '../ops/data-dir';
import { localHostFiles } from '../ops/host-files';
import { ackOf, addAck, readAcks, readOwnWrites, recordOwnWrites } from './acks';

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
