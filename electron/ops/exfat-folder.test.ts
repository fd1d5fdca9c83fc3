/**
 * A clone's or an export's folder on exFAT (a USB stick, mounted through FUSE as Debian's exfat-fuse does), a file
 * system that keeps no file permissions and takes no hard links: an export, a full clone and a linked clone there
 * are each refused saying why, before anything is named, and leave the folder empty, no new domain, and the source
 * as it was.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Intent } from '../../shared/ops/plan';
import { Engine } from '../engine';
import { expectUnchanged, fingerprintOf, stoppedWith } from '../test-support/clone-checks';
import { TestLab, TEST_URI } from '../test-support/lab';
import { seedChain } from '../test-support/seed-chain';

const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;
let vm: string;
let stick = '';
let loop = '';
let mounted = false;

beforeAll(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve' });
  vm = await seedChain(lab, 'h4xf');
  const image = lab.path('stick.img');
  await execa('truncate', ['-s', '256M', image]);
  await execa('mkfs.exfat', [image]);
  // FUSE mounts a block device: the image through a loop device of its own.
  loop = (await execa('losetup', ['--find', '--show', image])).stdout.trim();
  stick = lab.path('stick');
  await mkdir(stick);
  await execa('mount.exfat-fuse', ['-o', 'umask=0022', loop, stick]);
  mounted = true;
});

afterAll(async () => {
  if (mounted) await execa('umount', [stick]).catch(() => execa('umount', ['-l', stick]));
  if (loop !== '') await execa('losetup', ['-d', loop]).catch(() => undefined);
  await engine?.close();
  await lab?.cleanup();
});

describe('a folder on exFAT', () => {
  const s1 = { kind: 'snapshot', name: 's1' } as const;
  test.each<[string, (dir: string) => Intent, RegExp]>([
    ['an export', (dir) => ({ op: 'export', domain: vm, node: s1, to: dir, format: 'qcow2' }), /keeps no file permissions|takes no hard links/],
    ['a full clone', (dir) => ({ op: 'clone', domain: vm, node: s1, name: `${vm}-xf-full`, mode: 'full', dir }), /keeps no file permissions|takes no hard links/],
    ['a linked clone', (dir) => ({ op: 'clone', domain: vm, node: s1, name: `${vm}-xf-linked`, mode: 'linked', dir }), /keeps no file permissions/],
  ])('%s is refused saying why; the folder stays empty, no domain is made, the source is as it was', async (what, intent, why) => {
    const dir = join(stick, what.replaceAll(' ', '-'));
    await mkdir(dir);
    const before = await fingerprintOf(await engine.scanDomain(source, vm));
    const stopped = await stoppedWith(engine, source, intent(dir));
    expect(stopped).toMatch(/E_NOT_SUPPORTED/);
    expect(stopped).toMatch(why);
    expect(stopped).toContain('Choose a folder on another file system');
    expect(await readdir(dir)).toEqual([]);
    const domains = (await execa('virsh', ['-q', '-c', TEST_URI, 'list', '--all', '--name'])).stdout.split('\n');
    expect(domains.filter((name) => name.startsWith(`${vm}-xf-`))).toEqual([]);
    await expectUnchanged(before, vm);
    await rm(dir, { recursive: true });
  });
});
