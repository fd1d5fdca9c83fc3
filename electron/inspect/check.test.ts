import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { scanFolder } from '../scan/scan-folder';
import { corruptRefcounts } from '../test-support/damage';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';
import { assembleDomain } from '../../shared/assemble';
import type { Layer } from '../../shared/model';
import { acknowledgeWarning, checkDomain, knownAs } from './check';

const MiB = 1024 * 1024;
let dir: string;
const p = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snaptree-check-'));
  process.env.SNAPTREE_DATA_DIR = join(dir, 'data');
  await qemuImgCreate(p('good.qcow2'), { size: 16 * MiB });
  await writePattern(p('good.qcow2'), 'qcow2', 1, 0, MiB);
  await qemuImgCreate(p('bad.qcow2'), { size: 16 * MiB });
  await writePattern(p('bad.qcow2'), 'qcow2', 1, 0, 2 * MiB);
  corruptRefcounts(p('bad.qcow2'));
  await qemuImgCreate(p('base.qcow2'), { size: 16 * MiB });
  await qemuImgCreate(p('over.qcow2'), { backing: { path: p('base.qcow2'), format: 'qcow2' } });
  await new Promise((r) => setTimeout(r, 2500));
  await writePattern(p('base.qcow2'), 'qcow2', 9, 0, MiB);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('checkDomain', () => {
  test('a healthy image, a corrupted one, and a base written after an overlay was built on it', async () => {
    const scan = await scanFolder(dir);
    const reports = await Promise.all(scan.domains.map((d) => checkDomain(d)));
    const byPath = Object.fromEntries(reports.flatMap((r) => r.layers).map((l) => [l.path, l]));
    expect(byPath[p('good.qcow2')]?.findings).toEqual([]);
    expect(byPath[p('bad.qcow2')]?.corruptions).toBeGreaterThan(0);
    expect(byPath[p('bad.qcow2')]?.findings[0]).toMatch(/corrupted/);
    expect(byPath[p('base.qcow2')]?.writtenAfter).toEqual([p('over.qcow2')]);
    expect(byPath[p('over.qcow2')]?.findings).toEqual([]);
    expect(reports.find((r) => r.domain === 'good.qcow2')?.healthy).toBe(true);
    expect(reports.find((r) => r.domain === 'bad.qcow2')?.healthy).toBe(false);
  });

  test('one file on demand; a file outside the domain is refused', async () => {
    const scan = await scanFolder(dir);
    const tree = scan.domains.find((d) => d.name === 'base.qcow2')!;
    const report = await checkDomain(tree, p('base.qcow2'));
    expect(report.layers.map((l) => l.path)).toEqual([p('base.qcow2')]);
    await expect(checkDomain(tree, p('good.qcow2'))).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });

  test('a warning acknowledged with a reason is kept apart from the findings until the file is written again', async () => {
    const tree = () => scanFolder(dir).then((scan) => scan.domains.find((d) => d.name === 'base.qcow2')!);
    const ack = await acknowledgeWarning(await tree(), p('base.qcow2'), 'the guest wrote nothing there');
    expect(ack).toMatchObject({ host: 'local', path: p('base.qcow2'), reason: 'the guest wrote nothing there' });
    const acked = (await checkDomain(await tree(), p('base.qcow2'))).layers[0];
    expect(acked?.findings).toEqual([]);
    expect(acked?.acknowledged).toMatchObject({ reason: 'the guest wrote nothing there', findings: [expect.stringMatching(/written after image over.qcow2 was built on it/)] });
    await writePattern(p('base.qcow2'), 'qcow2', 7, MiB, MiB);
    const again = (await checkDomain(await tree(), p('base.qcow2'))).layers[0];
    expect(again?.findings).toEqual([expect.stringMatching(/written after image over.qcow2 was built on it/)]);
    expect(again?.acknowledged).toBeUndefined();
    await expect(acknowledgeWarning(await tree(), p('good.qcow2'), 'no')).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });
});

describe('knownAs', () => {
  test('a file built on another is named as the user knows it: a snapshot, a branch, else by its file name', () => {
    const layer = (path: string, backing: string | null): Layer => ({ path, format: 'qcow2', virtualSize: 1, actualSize: 1, backing, backingName: backing, backingFormat: backing ? 'qcow2' : null });
    const domain = assembleDomain({
      name: 'vm',
      state: 'shut off',
      disks: [{ target: 'vda', device: 'disk', file: '/t', format: 'qcow2', managed: true }],
      snapshots: [{ name: 'before-upgrade', parent: null, description: null, created: null, state: 'shutoff', current: true, memoryFile: null, revertFiles: [], disks: [{ target: 'vda', kind: 'external', overlay: '/t' }] }],
      recorded: { current: null, branches: [] },
      layers: { '/b': layer('/b', null), '/t': layer('/t', '/b'), '/x': layer('/x', null) },
      problems: [],
    });
    expect(knownAs(domain, '/b')).toBe('snapshot before-upgrade');
    expect(knownAs(domain, '/t')).toMatch(/^branch /);
    expect(knownAs(domain, '/x')).toBe('loose file x');
    expect(knownAs(domain, '/elsewhere/y')).toBe('file y');
  });
});
