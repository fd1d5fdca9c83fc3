/**
 * A clone's or an export's folder on exFAT (a USB stick, mounted through FUSE as Debian's exfat-fuse does), a file
 * system that keeps no file permissions and takes no hard links. Mounted as it comes (every file 0755), an export,
 * a full clone and a linked clone there are each refused saying why; mounted with fmask=0177 (every file 0600), an
 * export and a full clone are refused for the hard link they need before anything is copied, and a linked clone,
 * whose overlay is private there, is made. A refusal leaves the folder empty, no new domain, the source as it was.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Intent } from '../../shared/ops/plan';
import { Engine } from '../engine';
import { AppError } from '../../shared/errors';
import { applyOk, expectUnchanged, fingerprintOf, planOk } from '../test-support/clone-checks';
import { diskSource } from '../test-support/checks';
import { TestLab, TEST_URI } from '../test-support/lab';
import { seedChain } from '../test-support/seed-chain';

const source = { kind: 'libvirt' as const, uri: TEST_URI };
/** Mount options: as it comes, and with every file 0600 (fmask=0177), as a careful fstab line has it. */
const MOUNTS = { plain: 'umask=0022', private: 'fmask=0177,dmask=0077' } as const;
let lab: TestLab;
let engine: Engine;
let vm: string;
const sticks = new Map<string, { loop: string; dir: string; mounted: boolean }>();

/** A 64 MiB exFAT stick mounted with `options` (FUSE mounts a block device: the image through a loop device). */
async function mountStick(kind: keyof typeof MOUNTS): Promise<string> {
  const image = lab.path(`stick-${kind}.img`);
  await execa('truncate', ['-s', '64M', image]);
  await execa('mkfs.exfat', [image]);
  const stick = { loop: (await execa('losetup', ['--find', '--show', image])).stdout.trim(), dir: lab.path(`stick-${kind}`), mounted: false };
  sticks.set(kind, stick);
  await mkdir(stick.dir);
  await execa('mount.exfat-fuse', ['-o', MOUNTS[kind], stick.loop, stick.dir]);
  stick.mounted = true;
  return stick.dir;
}

beforeAll(async () => {
  if (!existsSync('/dev/fuse')) throw new Error('These tests mount an exFAT stick through FUSE: /dev/fuse is missing (modprobe fuse; in a container, pass --device /dev/fuse).');
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve' });
  vm = await seedChain(lab, 'h4xf');
  await mountStick('plain');
  await mountStick('private');
});

afterAll(async () => {
  for (const stick of sticks.values()) {
    if (stick.mounted) await execa('umount', [stick.dir]).catch(() => execa('umount', ['-l', stick.dir]));
    await execa('losetup', ['-d', stick.loop]).catch(() => undefined);
  }
  await engine?.close();
  await lab?.cleanup();
});

const s1 = { kind: 'snapshot', name: 's1' } as const;
const copies: Array<[string, (dir: string, name: string) => Intent]> = [
  ['an export', (dir) => ({ op: 'export', domain: vm, node: s1, to: dir, format: 'qcow2' })],
  ['a full clone', (dir, name) => ({ op: 'clone', domain: vm, node: s1, name, mode: 'full', dir })],
];
const linked = (dir: string, name: string): Intent => ({ op: 'clone', domain: vm, node: s1, name, mode: 'linked', dir });

/** A new folder on the stick mounted as `kind`, and a name for a clone made there. */
async function place(kind: keyof typeof MOUNTS, what: string): Promise<{ dir: string; name: string }> {
  const tag = `${kind}-${what.replaceAll(' ', '-')}`;
  const dir = join(sticks.get(kind)?.dir ?? '', tag);
  await mkdir(dir);
  return { dir, name: `${vm}-xf-${tag}` };
}

/**
 * Plans and runs `intent`; expects the refusal `why` before any copy reported progress, an empty folder, no clone,
 * and the source as it was.
 */
async function expectRefused(intent: Intent, dir: string, name: string, why: RegExp): Promise<void> {
  const before = await fingerprintOf(await engine.scanDomain(source, vm));
  const plan = await planOk(engine, source, intent);
  const copied: number[] = [];
  const stopped = await engine.apply(plan, { onProgress: (event) => event.percent !== null && copied.push(event.percent) }).then(
    (result) => `not refused: ${result.status}`,
    (error: unknown) => (error instanceof AppError ? `${error.code}: ${error.message}` : String(error)),
  );
  expect(copied).toEqual([]);
  expect(stopped).toMatch(/E_NOT_SUPPORTED/);
  expect(stopped).toMatch(why);
  expect(stopped).toContain('Choose a folder on another file system');
  expect(await readdir(dir)).toEqual([]);
  expect((await execa('virsh', ['-q', '-c', TEST_URI, 'dominfo', name], { reject: false })).exitCode).not.toBe(0);
  await expectUnchanged(before, vm);
}

describe('a folder on exFAT as it comes (every file 0755)', () => {
  test.each([...copies, ['a linked clone', linked] as const])('%s is refused saying why; nothing is left, the source is as it was', async (what, intent) => {
    const { dir, name } = await place('plain', what);
    await expectRefused(intent(dir, name), dir, name, /keeps no file permissions/);
  });
});

describe('a folder on exFAT mounted with fmask=0177 (every file 0600)', () => {
  test.each(copies)('%s is refused for the hard link it needs, before anything is copied; nothing is left', async (what, intent) => {
    const { dir, name } = await place('private', what);
    await expectRefused(intent(dir, name), dir, name, /takes no hard links/);
  });

  test('a linked clone is made: its overlay there is private, on the snapshot', async () => {
    const { dir, name } = await place('private', 'linked clone');
    lab.adopt(name);
    await applyOk(engine, await planOk(engine, source, linked(dir, name)));
    const overlay = diskSource(name, 'vda');
    expect(overlay.startsWith(`${dir}/`)).toBe(true);
    expect((await readdir(dir)).length).toBe(1);
  });
});
