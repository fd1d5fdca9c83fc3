import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseQcow2Header, readQcow2Header } from './qcow2-header';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snaptree-header-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readQcow2Header', () => {
  test.each([
    ['v3', '1.1'],
    ['v2', '0.10'],
  ])('reads backing name and format from a %s image made by qemu-img', async (_v, compat) => {
    const base = join(dir, `base-${compat}.qcow2`);
    const top = join(dir, `top-${compat}.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `compat=${compat}`, base, '32M']);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `compat=${compat}`, '-b', `base-${compat}.qcow2`, '-F', 'qcow2', top]);
    expect(await readQcow2Header(top)).toMatchObject({
      version: compat === '1.1' ? 3 : 2,
      virtualSize: 32 * 1024 * 1024,
      backingName: `base-${compat}.qcow2`,
      backingFormat: 'qcow2',
      incompatibleFeatures: 0,
    });
    expect((await readQcow2Header(base))?.backingName).toBeNull();
  });

  test('a raw file or a short file is not qcow2', async () => {
    const raw = join(dir, 'disk.raw');
    await writeFile(raw, Buffer.alloc(4096, 0x51));
    expect(await readQcow2Header(raw)).toBeNull();
    expect(parseQcow2Header(Buffer.from('QFI'))).toBeNull();
  });
});
