/**
 * The trusted-file rule on image folders: the engine (root) never has qemu-img open, write or move an image
 * another user could rewrite, nor act in a folder others can write to, sticky or not. The attacks are played
 * by uid 65534 (setpriv); those that need a race swap the files right after the executor's last scan.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Source } from '../../shared/model';
import type { Intent, Plan } from '../../shared/ops/plan';
import { Engine } from '../engine';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';
import { executePlan } from './executor';
import { readJournals } from './journal';
import { fingerprint } from '../test-support/fingerprint';

const MiB = 1024 * 1024;
const NOBODY = 65534;
let root: string;
let images: string;
let attacker: string;
let victim: string;
let source: Source;
let engine: Engine;

/** Runs a command as uid 65534, with no groups. */
function asNobody(command: string, args: string[]): void {
  execFileSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--', command, ...args], { stdio: 'pipe' });
}

const sha = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'snaptree-tfiles-'));
  await chmod(root, 0o755);
  process.env.SNAPTREE_DATA_DIR = join(root, 'data');
  images = join(root, 'images');
  await mkdir(images, { mode: 0o755 });
  attacker = join(root, 'attacker');
  await mkdir(attacker, { mode: 0o755 });
  await chown(attacker, NOBODY, NOBODY);
  // A root-only file: what the attacker wants written (or read).
  await mkdir(join(root, 'victims'), { mode: 0o700 });
  victim = join(root, 'victims', 'victim');
  await writeFile(victim, randomBytes(4 * MiB), { mode: 0o600 });
  source = { kind: 'folder', path: images };
  engine = new Engine({ host: 'serve' });
});

afterEach(async () => {
  await engine.close();
  await rm(root, { recursive: true, force: true });
});

async function planned(intent: Intent): Promise<Plan> {
  const result = await engine.plan(source, intent);
  if (!result.ok) throw new Error(`refused: ${result.refusal.message}`);
  return result.plan;
}

/** Runs `plan` as `apply` does, with `attack` played once right after the executor's fresh scan: the race, won every time. */
function applyAfterScan(plan: Plan, attack: () => void): ReturnType<typeof executePlan> {
  let played = false;
  return executePlan(plan, {
    virsh: null,
    scan: async () => {
      const scan = await engine.scan(source);
      if (!played) attack();
      played = true;
      return scan;
    },
    rescan: () => Promise.resolve(null),
  });
}

/** base.qcow2 ← top.qcow2 (data in both) in the image folder, made by root and given to `owner`. */
async function rootChain(owner: number): Promise<void> {
  await qemuImgCreate(join(images, 'base.qcow2'), { size: 4 * MiB });
  await writePattern(join(images, 'base.qcow2'), 'qcow2', 0x11, 0, MiB);
  await qemuImgCreate(join(images, 'top.qcow2'), { backing: { path: join(images, 'base.qcow2'), format: 'qcow2' } });
  await writePattern(join(images, 'top.qcow2'), 'qcow2', 0x22, 0, 4 * MiB);
  for (const name of ['base.qcow2', 'top.qcow2']) await chown(join(images, name), owner, owner);
}

/**
 * A qcow2 image the attacker makes in their own folder whose guest data lives in `data` (any path): raw on its
 * own; on a backing, with every cluster allocated, so that it reads `data` where it holds data.
 */
function evilImage(name: string, data: string, backing?: string): string {
  const path = join(attacker, name);
  asNobody('qemu-img', ['create', '-q', '-f', 'raw', `${path}.raw`, '4M']);
  const options = backing ? `data_file=${path}.raw` : `data_file=${path}.raw,data_file_raw=on`;
  asNobody('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', options, ...(backing ? ['-b', backing, '-F', 'qcow2'] : []), path, '4M']);
  if (backing) asNobody('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x77 0 4M', path]);
  // Only the name in the header changes: qemu-img amend does not open the new data file.
  asNobody('qemu-img', ['amend', '-f', 'qcow2', '-o', `data_file=${data}`, path]);
  return path;
}

const refusedFor = (pattern: RegExp) => ({ code: 'E_NOT_SUPPORTED', message: expect.stringMatching(pattern) as unknown });

describe('the engine never has qemu-img open an image another user could rewrite', () => {
  test('A: in a sticky image folder (01777), commit (base.raw swapped for a link after the last scan), delete and repair are refused before any step', async () => {
    await chmod(images, 0o1777);
    asNobody('qemu-img', ['create', '-q', '-f', 'raw', join(images, 'base.raw'), '4M']);
    asNobody('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(images, 'base.raw'), '-F', 'raw', join(images, 'top.qcow2')]);
    asNobody('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 0 4M', join(images, 'top.qcow2')]);
    const victimSum = await sha(victim);
    const before = await fingerprint(images);
    const refused = refusedFor(/written by everyone \(mode 1777\); the sticky bit/);
    await expect(engine.apply(await planned({ op: 'repair', domain: 'base.raw', path: join(images, 'top.qcow2'), mode: 'leaks' }))).rejects.toMatchObject(refused);
    await expect(engine.apply(await planned({ op: 'delete-branch', domain: 'base.raw', branch: 'top.qcow2' }))).rejects.toMatchObject(refused);
    expect(await fingerprint(images)).toEqual(before);
    const commit = await planned({ op: 'commit', domain: 'base.raw', branch: 'top.qcow2' });
    const swap = () => {
      asNobody('ln', ['-s', victim, join(images, 'swap')]);
      asNobody('mv', ['-T', join(images, 'swap'), join(images, 'base.raw')]);
    };
    await expect(applyAfterScan(commit, swap)).rejects.toMatchObject(refused);
    expect(await sha(victim)).toBe(victimSum);
    expect(await readJournals()).toEqual([]);
  });

  test('B: a base of user 65534, rewritten after the last scan to name a root file as its data file, is not committed into: refused naming the file and its owner', async () => {
    await rootChain(NOBODY);
    const victimSum = await sha(victim);
    const evil = evilImage('evil-base.qcow2', victim);
    const plan = await planned({ op: 'commit', domain: 'base.qcow2', branch: 'top.qcow2' });
    const refusal = applyAfterScan(plan, () => asNobody('cp', [evil, join(images, 'base.qcow2')]));
    // The top, which qemu-img opens first, is the attacker's too: either is named, with its owner and the fix.
    await expect(refusal).rejects.toMatchObject(
      refusedFor(/images\/(top|base)\.qcow2: it belongs to user 65534 \(mode 0644\); another user could rewrite it .* chown root \S+\/(top|base)\.qcow2 && chmod go-w/),
    );
    expect(await sha(victim)).toBe(victimSum);
    expect(await readJournals()).toEqual([]);
  });

  test('C: a top of user 65534, rewritten to read a root file as its data, is not committed: the base it could read stays byte-identical', async () => {
    await rootChain(NOBODY);
    const baseSum = await sha(join(images, 'base.qcow2'));
    const evil = evilImage('evil-top.qcow2', victim, join(images, 'base.qcow2'));
    const plan = await planned({ op: 'commit', domain: 'base.qcow2', branch: 'top.qcow2' });
    await expect(applyAfterScan(plan, () => asNobody('cp', [evil, join(images, 'top.qcow2')]))).rejects.toMatchObject(refusedFor(/belongs to user 65534/));
    expect(await sha(join(images, 'base.qcow2'))).toBe(baseSum);
    expect(await readJournals()).toEqual([]);
  });

  test.each([
    ['the base the commit writes', 'mid.qcow2'],
    ['a layer below it, which qemu-img opens too', 'base.qcow2'],
  ])('a root file writable by its group (0664) as %s: the commit is refused and nothing changes', async (_what, name) => {
    await rootChain(0);
    await qemuImgCreate(join(images, 'mid.qcow2'), { backing: { path: join(images, 'base.qcow2'), format: 'qcow2' } });
    await qemuImgCreate(join(images, 'tip.qcow2'), { backing: { path: join(images, 'mid.qcow2'), format: 'qcow2' } });
    await writePattern(join(images, 'tip.qcow2'), 'qcow2', 0x33, 0, MiB);
    await rm(join(images, 'top.qcow2'));
    await chmod(join(images, name), 0o664);
    const before = await fingerprint(images);
    await expect(engine.apply(await planned({ op: 'commit', domain: 'base.qcow2', branch: 'tip.qcow2' }))).rejects.toMatchObject(
      refusedFor(new RegExp(`${name}: it can be written by its group \\(0\\) \\(owner 0, mode 0664\\)`)),
    );
    expect(await fingerprint(images)).toEqual(before);
    expect(await readJournals()).toEqual([]);
  });

  test('a base with a second name (a hard link elsewhere) is not written by a commit', async () => {
    await rootChain(0);
    await mkdir(join(root, 'elsewhere'), { mode: 0o700 });
    await link(join(images, 'base.qcow2'), join(root, 'elsewhere', 'alias.qcow2'));
    const before = [await fingerprint(images), await fingerprint(join(root, 'elsewhere'))];
    await expect(engine.apply(await planned({ op: 'commit', domain: 'base.qcow2', branch: 'top.qcow2' }))).rejects.toMatchObject(
      refusedFor(/base\.qcow2: it has 2 names \(hard links\)/),
    );
    expect([await fingerprint(images), await fingerprint(join(root, 'elsewhere'))]).toEqual(before);
    expect(await readJournals()).toEqual([]);
  });
});
