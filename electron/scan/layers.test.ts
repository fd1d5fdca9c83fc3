import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writePattern } from '../tools/qemu-io';
import { LayerReader } from './layers';

let dir: string;
const p = (name: string) => join(dir, name);
const img = (...args: string[]) => execFileSync('qemu-img', args, { stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snaptree-layers-'));
  img('create', '-q', '-f', 'raw', p('raw-base.img'), '48M');
  img('create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', '-b', 'raw-base.img', '-F', 'raw', p('v2.qcow2'));
  img('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=2M', '-b', p('v2.qcow2'), '-F', 'qcow2', p('big-cluster.qcow2'));
  img('create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on,preallocation=metadata', '-b', 'big-cluster.qcow2', '-F', 'qcow2', p('prealloc.qcow2'));
  await writePattern(p('prealloc.qcow2'), 'qcow2', 0x5a, 0, 5 * 1024 * 1024);
  img('create', '-q', '-f', 'qcow2', '-o', `data_file=${p('external.data')}`, p('external.qcow2'), '16M');
  await writePattern(p('external.qcow2'), 'qcow2', 0x11, 0, 1024 * 1024);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Info {
  filename: string;
  format: string;
  'virtual-size': number;
  'actual-size': number;
  'backing-filename'?: string;
  'backing-filename-format'?: string;
}

describe('LayerReader', () => {
  test('reads every layer exactly as qemu-img info reports it', async () => {
    const reader = new LayerReader();
    expect(await reader.read(p('prealloc.qcow2'), 'qcow2')).toBe(p('prealloc.qcow2'));
    expect(await reader.read(p('external.qcow2'), 'qcow2')).toBe(p('external.qcow2'));
    const infos = [
      ...(JSON.parse(img('info', '--output=json', '--backing-chain', p('prealloc.qcow2')).toString()) as Info[]),
      JSON.parse(img('info', '--output=json', p('external.qcow2')).toString()) as Info,
    ];
    expect(Object.keys(reader.layers).sort()).toEqual(infos.map((i) => i.filename).sort());
    for (const info of infos) {
      const layer = reader.layers[info.filename];
      expect({ path: info.filename, format: layer?.format, virtual: layer?.virtualSize, actual: layer?.actualSize }).toEqual({
        path: info.filename,
        format: info.format,
        virtual: info['virtual-size'],
        actual: info['actual-size'],
      });
      expect(layer?.backingName ?? undefined).toBe(info['backing-filename']);
      expect(layer?.backingFormat ?? undefined).toBe(info['backing-filename-format']);
    }
    // The one image with an external data file is flagged, naming that file; nothing else is a problem.
    expect(reader.problemsFor()).toEqual([expect.objectContaining({ code: 'external-data-file', path: p('external.qcow2'), severity: 'warning' })]);
    expect(reader.problemsFor()[0]?.message).toContain(p('external.data'));
  });

  test('an image with an external data file is read from its header alone and flagged, promptly even when its data file is a FIFO', async () => {
    img('create', '-q', '-f', 'qcow2', '-o', `data_file=${p('fifo.data')}`, p('fifo-data.qcow2'), '4M');
    await rm(p('fifo.data'));
    execFileSync('mkfifo', ['--', p('fifo.data')]);
    const reader = new LayerReader();
    const started = Date.now();
    const read = await Promise.race([reader.read(p('fifo-data.qcow2'), 'qcow2'), new Promise<'blocked'>((r) => setTimeout(() => r('blocked'), 3000))]);
    expect(read).toBe(p('fifo-data.qcow2'));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(reader.layers[p('fifo-data.qcow2')]).toMatchObject({ format: 'qcow2', virtualSize: 4 * 1024 * 1024, backing: null });
    expect(reader.problemsFor()).toEqual([expect.objectContaining({ code: 'external-data-file', path: p('fifo-data.qcow2') })]);
  });

  test('owner, group and mode are those stat(1) reports, for header-read and qemu-img-read layers', async () => {
    await chmod(p('v2.qcow2'), 0o640);
    const reader = new LayerReader();
    await reader.read(p('prealloc.qcow2'), 'qcow2');
    await reader.read(p('external.qcow2'), 'qcow2');
    for (const name of ['v2.qcow2', 'raw-base.img', 'external.qcow2']) {
      const [user, group, mode, uid, gid] = execFileSync('stat', ['-c', '%U %G %a %u %g', p(name)]).toString().trim().split(' ');
      const owner = reader.layers[p(name)]?.owner;
      expect({ user: owner?.user, group: owner?.group, mode: owner?.mode.toString(8), uid: String(owner?.uid), gid: String(owner?.gid) }).toEqual({ user, group, mode, uid, gid });
    }
    expect(reader.layers[p('v2.qcow2')]?.owner?.mode).toBe(0o640);
  });

  test('a file that is not qcow2 where qcow2 is expected is unreadable, not probed', async () => {
    const reader = new LayerReader();
    expect(await reader.read(p('raw-base.img'), 'qcow2')).toBeNull();
    expect(reader.problemsFor()).toEqual([expect.objectContaining({ code: 'unreadable', path: p('raw-base.img') })]);
    expect(await reader.read(p('raw-base.img'), null)).toBeNull();
  });

  test('a missing file is reported with the path as given', async () => {
    const reader = new LayerReader();
    expect(await reader.read(p('nope.qcow2'), 'qcow2')).toBeNull();
    expect(reader.problemsFor()[0]).toMatchObject({ code: 'missing-file', path: p('nope.qcow2') });
  });

  test('an image the process may not read is a problem, not a crash', async () => {
    img('create', '-q', '-f', 'qcow2', p('secret.qcow2'), '1M');
    await chmod(p('secret.qcow2'), 0o000);
    const reader = new LayerReader();
    const result = await reader.read(p('secret.qcow2'), 'qcow2');
    // root reads any file; everyone else gets the problem.
    if (process.getuid?.() === 0) expect(result).toBe(p('secret.qcow2'));
    else expect(reader.problemsFor()[0]?.code).toBe('unreadable');
    await chmod(p('secret.qcow2'), 0o600);
  });
  test('a file a folder listing showed as regular is not read through a link put in its place afterwards', async () => {
    const sub = p('swapped');
    execFileSync('mkdir', [sub]);
    img('create', '-q', '-f', 'qcow2', join(sub, 'top.qcow2'), '1M');
    img('create', '-q', '-f', 'qcow2', '-b', p('v2.qcow2'), '-F', 'qcow2', join(sub, 'elsewhere.qcow2'));
    const reader = new LayerReader();
    // Resolving the path lists the folder: top.qcow2 is a regular file there.
    expect(reader.canonical(join(sub, 'top.qcow2'))).toBe(join(sub, 'top.qcow2'));
    execFileSync('ln', ['-sf', 'elsewhere.qcow2', join(sub, 'top.qcow2')]);
    expect(reader.header(join(sub, 'top.qcow2'))).toBeNull();
    expect(reader.openError(join(sub, 'top.qcow2'))).toBe('ELOOP');
    // A fresh scan sees the link for what it is and reads what it points to.
    const fresh = new LayerReader();
    expect(fresh.canonical(join(sub, 'top.qcow2'))).toBe(join(sub, 'elsewhere.qcow2'));
    expect(fresh.header(join(sub, 'elsewhere.qcow2'))?.backingName).toBe(p('v2.qcow2'));
  });
});
