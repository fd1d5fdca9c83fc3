import { execFileSync } from 'node:child_process';
import { mkdir, realpath, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Domain, Source } from '../../shared/model';
import { Engine } from '../engine';
import { checksums } from '../test-support/checks';
import { TestLab, TEST_URI, qemuImgSync } from '../test-support/lab';
import { traceOpens } from '../test-support/trace-opens';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';
import { classifyBackingName, joinBackingName } from './backing-names';
import { scanFolder } from './scan-folder';

const MiB = 1024 * 1024;
let lab: TestLab;
let engine: Engine;

/** The judge: the real paths of the chain `qemu-img info --backing-chain` opens from `file`, top first. */
async function qemuChain(file: string): Promise<string[]> {
  const infos = JSON.parse(qemuImgSync(['info', '-U', '--backing-chain', '--output=json', '--', file])) as Array<{ filename: string }>;
  return Promise.all(infos.map((i) => realpath(i.filename)));
}

/** Writes a backing name into an image's header as is, with a format, without opening it (`rebase -u`). */
const writeBackingName = (file: string, name: string) => execFileSync('qemu-img', ['rebase', '-q', '-u', '-f', 'qcow2', '-b', name, '-F', 'qcow2', '--', file]);

/**
 * Two folders each with a base.qcow2 of its own bytes, and in `b` an overlay whose backing name is the relative
 * `base.qcow2`; `a/disk.qcow2` is a symlink to it. QEMU opening `a/disk.qcow2` reads `a/base.qcow2`.
 */
async function symlinkSetup(a: string, b: string): Promise<{ disk: string; overlay: string; nearBase: string; farBase: string }> {
  await mkdir(a, { recursive: true });
  await mkdir(b, { recursive: true });
  const nearBase = join(a, 'base.qcow2');
  const farBase = join(b, 'base.qcow2');
  await qemuImgCreate(nearBase, { size: 16 * MiB });
  await qemuImgCreate(farBase, { size: 16 * MiB });
  await writePattern(nearBase, 'qcow2', 0xaa, 0, MiB);
  await writePattern(farBase, 'qcow2', 0xbb, 0, MiB);
  const overlay = join(b, 'ov.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', overlay], { cwd: b });
  await writePattern(overlay, 'qcow2', 0xcc, 2 * MiB, MiB);
  const disk = join(a, 'disk.qcow2');
  await symlink(overlay, disk);
  return { disk, overlay, nearBase, farBase };
}

beforeEach(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve' });
});
afterEach(async () => {
  await engine.close();
  await lab.cleanup();
});

describe('backing names resolve as QEMU 7.2 resolves them', () => {
  test.each([
    ['/img/ov.qcow2', 'base.qcow2', { kind: 'file', path: '/img/base.qcow2' }],
    ['/img/ov.qcow2', '/abs/base.qcow2', { kind: 'file', path: '/abs/base.qcow2' }],
    // Textual, like QEMU: `..` is left to the kernel, which follows it from a symlinked folder's real target.
    ['/link/ov.qcow2', '../base.qcow2', { kind: 'file', path: '/link/../base.qcow2' }],
    // A `/` before any `:` means no protocol.
    ['/img/ov.qcow2', 'sub/x://y', { kind: 'file', path: '/img/sub/x://y' }],
  ])('%s backed by %s opens %j', (opened, name, want) => {
    expect(classifyBackingName(opened, name)).toEqual(want);
  });

  test.each([
    ['nbd://host/x', /"nbd:" protocol driver/],
    ['nbd:host:10809', /"nbd:" protocol driver/],
    ['https://example.org/x.qcow2', /"https:" protocol driver/],
    ['ssh://user@host/x', /"ssh:" protocol driver/],
    ['json:{"file":{"driver":"file","filename":"/x"}}', /JSON description/],
    ['file:base.qcow2', /working directory/],
    ['file:/abs/base.qcow2', /plain path: qemu-img rebase -u -F FORMAT -b \/abs\/base.qcow2/],
  ])('%s is not followed: %s', (name, reason) => {
    const target = classifyBackingName('/img/ov.qcow2', name);
    expect(target.kind).toBe('not-local');
    expect(target.kind === 'not-local' ? target.reason : '').toMatch(reason);
  });

  test('a relative name joins the folder of the path the overlay was opened by, verbatim', () => {
    expect(joinBackingName('/a/disk.qcow2', 'base.qcow2')).toBe('/a/base.qcow2');
    expect(joinBackingName('/a/b/../disk.qcow2', 'x/base.qcow2')).toBe('/a/b/../x/base.qcow2');
  });

  test('a domain disk that is a symlink to an overlay in another folder: the chain is the one qemu-img opens from the disk path; plans refuse while the real path would read another base, and once the link is absolute a commit writes the base QEMU reads', async () => {
    const { disk, overlay, nearBase, farBase } = await symlinkSetup(lab.path('a'), lab.path('b'));
    const vm = await lab.define({ name: 'symlinked', disks: [{ target: 'vda', file: disk, format: 'qcow2' }] });
    const source: Source = { kind: 'libvirt', uri: TEST_URI };
    const judge = await qemuChain(disk);
    expect(judge).toEqual([await realpath(overlay), await realpath(nearBase)]);

    const domain = (await engine.scanDomain(source, vm)) as Domain;
    expect(domain.disks[0]?.chain).toEqual(judge);
    expect(domain.layers[await realpath(overlay)]?.backing).toBe(await realpath(nearBase));
    expect(domain.layers[await realpath(farBase)]).toBeUndefined();
    expect(domain.problems.filter((p) => p.severity === 'error')).toEqual([]);
    const split = domain.problems.find((p) => p.code === 'ambiguous-backing');
    expect(split).toMatchObject({ severity: 'warning', path: await realpath(overlay) });
    expect(split?.message).toContain(await realpath(farBase));

    // The engine hands qemu-img real paths, from which the overlay names the other base: refused, with the fix.
    const far = await checksums([farBase]);
    const refused = await engine.plan(source, { op: 'commit', domain: vm, branch: 'main' });
    expect(refused.ok).toBe(false);
    expect(refused.ok ? '' : refused.refusal.message).toContain(`-b ${await realpath(nearBase)}`);

    writeBackingName(disk, await realpath(nearBase));
    const fixed = (await engine.scanDomain(source, vm)) as Domain;
    expect(fixed.disks[0]?.chain).toEqual(await qemuChain(disk));
    expect(fixed.problems).toEqual([]);
    const planned = await engine.plan(source, { op: 'commit', domain: vm, branch: 'main' });
    if (!planned.ok) throw new Error(planned.refusal.message);
    expect(planned.plan.impact.written).toContain(await realpath(nearBase));
    expect(JSON.stringify(planned.plan.steps)).not.toContain(await realpath(farBase));
    const result = await engine.apply(planned.plan);
    expect(result.status).toBe('done');
    // The overlay's bytes went into the base QEMU reads; the other base, which the old resolution named, is untouched.
    expect(await checksums([farBase])).toEqual(far);
    execFileSync('qemu-io', ['-f', 'qcow2', '-r', '-c', 'read -P 0xcc 2M 1M', '-c', 'read -P 0xaa 0 1M', '--', nearBase]);
  });

  test('in a folder source, a symlink to an overlay elsewhere resolves its relative backing name next to the symlink, as qemu-img does', async () => {
    const folder = lab.path('imgs');
    const { disk, overlay, nearBase, farBase } = await symlinkSetup(folder, lab.path('elsewhere'));
    const scan = await scanFolder(folder);
    const layers = Object.assign({}, ...scan.domains.map((d) => d.layers)) as Domain['layers'];
    expect(layers[await realpath(overlay)]?.backing).toBe(await realpath(nearBase));
    expect(layers[await realpath(farBase)]).toBeUndefined();
    expect(await qemuChain(disk)).toEqual([await realpath(overlay), await realpath(nearBase)]);
    const problems = [...scan.problems, ...scan.domains.flatMap((d) => d.problems)].filter((p) => p.path === (overlay));
    expect(problems.map((p) => p.code).sort()).toEqual(['ambiguous-backing', 'outside-folder']);
  });

  test('".." in a backing name of an overlay reached through a symlinked folder follows the real folder, as the kernel does', async () => {
    await mkdir(lab.path('real/deep'), { recursive: true });
    await qemuImgCreate(lab.path('real/base.qcow2'), { size: 16 * MiB });
    await qemuImgCreate(lab.path('base.qcow2'), { size: 16 * MiB });
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', '../base.qcow2', '-F', 'qcow2', 'ov.qcow2'], { cwd: lab.path('real/deep') });
    await symlink(lab.path('real/deep'), lab.path('link'));
    const disk = lab.path('link/ov.qcow2');
    const vm = await lab.define({ name: 'dotdot', disks: [{ target: 'vda', file: disk, format: 'qcow2' }] });
    const domain = (await engine.scanDomain({ kind: 'libvirt', uri: TEST_URI }, vm)) as Domain;
    expect(domain.disks[0]?.chain).toEqual(await qemuChain(disk));
    expect(domain.disks[0]?.chain[1]).toBe(await realpath(lab.path('real/base.qcow2')));
  });

  test('an overlay reached by two paths whose relative backing name names a different base from each is an error, and plans are refused', async () => {
    const { disk, overlay } = await symlinkSetup(lab.path('a'), lab.path('b'));
    const vm = await lab.define({ name: 'twopaths', disks: [{ target: 'vda', file: disk, format: 'qcow2' }] });
    // The same file as a recorded snapshot overlay by its real path would read b/base.qcow2.
    const other = await lab.define({ name: 'twopaths2', disks: [{ target: 'vda', file: overlay, format: 'qcow2' }] });
    const source: Source = { kind: 'libvirt', uri: TEST_URI };
    const scan = await engine.scan(source);
    const problems = scan.domains.filter((d) => d.name === vm || d.name === other).flatMap((d) => d.problems);
    const ambiguous = problems.find((p) => p.code === 'ambiguous-backing');
    expect(ambiguous).toMatchObject({ severity: 'error', path: await realpath(overlay) });
    expect(ambiguous?.message).toMatch(/QEMU reads a different base depending on the path/);
  });
});

describe('backing names that are not local files are shown as not managed, never opened, and refused by plans', () => {
  const NAMES = ['file:base.qcow2', 'nbd://host.invalid/x', 'json:{"file":{"driver":"file","filename":"/x"}}'];

  test('in a folder: each overlay has a not-managed warning with the reason; the scan opens nothing they name', async () => {
    const folder = lab.path('imgs');
    await mkdir(folder);
    // A base.qcow2 where a file: name would have been resolved before: it must not become the backing file.
    await mkdir(lab.path('imgs-base'));
    const decoy = lab.path('imgs-base/base.qcow2');
    await qemuImgCreate(decoy, { size: MiB });
    const files = NAMES.map((_n, i) => join(folder, `ov${i}.qcow2`));
    for (const [i, name] of NAMES.entries()) {
      await qemuImgCreate(files[i] as string, { size: MiB });
      writeBackingName(files[i] as string, name);
    }
    await symlink(decoy, join(folder, 'base.qcow2'));
    const { result, opened } = await traceOpens(() => scanFolder(folder));
    if (result instanceof Error) throw result;
    for (const [i, name] of NAMES.entries()) {
      const layer = result.domains.flatMap((d) => Object.values(d.layers)).find((l) => l.path === files[i]);
      expect(layer).toMatchObject({ backingName: name, backing: null });
      const problem = [...result.problems, ...result.domains.flatMap((d) => d.problems)].find((p) => p.path === files[i]);
      expect(problem).toMatchObject({ code: 'not-managed', severity: 'warning' });
      expect(problem?.message).toContain(`"${name}"`);
      expect(problem?.message).toMatch(/never opens it/);
    }
    expect(opened).not.toMatch(/"(file:)?base\.qcow2"|"\/x"|host\.invalid|json:/);
  });

  test('in a libvirt domain: the not-managed reason is on the layer, and snapshot, commit and repair plans are refused', async () => {
    const source: Source = { kind: 'libvirt', uri: TEST_URI };
    for (const [i, name] of NAMES.entries()) {
      const top = lab.path(`vm${i}.qcow2`);
      await qemuImgCreate(top, { size: MiB });
      writeBackingName(top, name);
      const vm = await lab.define({ name: `proto${i}`, disks: [{ target: 'vda', file: top, format: 'qcow2' }] });
      const domain = (await engine.scanDomain(source, vm)) as Domain;
      expect(domain.disks[0]?.chain).toEqual([top]);
      const problem = domain.problems.find((p) => p.code === 'not-managed' && p.path === top);
      expect(problem?.message).toContain(name);
      for (const intent of [
        { op: 'create-snapshot', domain: vm, name: 's1' },
        { op: 'commit', domain: vm, branch: 'main' },
        { op: 'repair', domain: vm, path: top, mode: 'leaks' },
      ] as const) {
        const planned = await engine.plan(source, intent);
        expect(planned.ok, `${intent.op} on a disk backed by ${name}`).toBe(false);
      }
    }
  });
});
