/**
 * The steps of a clone and an export on real files and a real libvirt: `convert` (a standalone image of a chain,
 * progress, cancel, never over a file, run again after a crash, undone), `copy-nvram` and `define-clone` (a new
 * UUID and MACs, disks on the new files, CD-ROM kept, the clone record in, the branch records out).
 */
import { execFileSync } from 'node:child_process';
import { chown, link, lstat, mkdir, readdir, readFile, rmdir, symlink, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AppError } from '../../shared/errors';
import type { Step } from '../../shared/ops/plan';
import { parseDomainXml, cloneRecordOf, nvramOf, domainDisksOf, branchRecordsOf } from '../scan/libvirt-xml';
import { TestLab, TEST_URI, qemuImgSync, virshSync } from '../test-support/lab';
import { seedChain } from '../test-support/seed-chain';
import { Engine } from '../engine';
import { qemuImgCreate, qemuImgSame } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';
import { VirshPerCall } from '../tools/virsh';
import { partFileOf } from './clone-files';
import { errnoOf, localHostFiles, remoteHostFiles } from './host-files';
import { localRunner } from '../tools/host-runner';
import { checkBeforeStep, runStep, undoStep, type StepContext } from './steps';

const MiB = 1024 * 1024;
let lab: TestLab;
let op = 0;
const virsh = new VirshPerCall(TEST_URI);

/** A context of a new operation each time (its id names its temporary files and its clone record). */
function context(extra: Partial<StepContext> = {}): StepContext {
  return { virsh, files: localHostFiles, operationId: `00000000-0000-4000-8000-${String(++op).padStart(12, '0')}`, domain: 'src', op: 'clone', ...extra };
}

/** base (raw) → mid → top (qcow2), each layer with data of its own. */
async function chain(id: string, size = 32 * MiB): Promise<string> {
  const [base, mid, top] = ['base.raw', 'mid.qcow2', 'top.qcow2'].map((n) => lab.path(`${id}-${n}`)) as [string, string, string];
  await qemuImgCreate(base, { format: 'raw', size });
  await writePattern(base, 'raw', 0x11, 0, 4 * MiB);
  await qemuImgCreate(mid, { backing: { path: base, format: 'raw' } });
  await writePattern(mid, 'qcow2', 0x22, 4 * MiB, MiB);
  await qemuImgCreate(top, { backing: { path: mid, format: 'qcow2' } });
  await writePattern(top, 'qcow2', 0x33, 8 * MiB, MiB);
  return top;
}

const convertStep = (source: string, target: string, format: 'qcow2' | 'raw', compress = false): Extract<Step, { kind: 'convert' }> => ({
  kind: 'convert',
  source,
  sourceFormat: 'qcow2',
  target,
  format,
  compress,
  sentence: '',
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'ok',
    (error: unknown) => (error instanceof AppError ? error.code : String(error)),
  );
}

const hidden = async () => (await readdir(lab.dir)).filter((n) => n.startsWith('.snaptree-part-'));

/** This file's domains are named apart from every other test's. */
class StepsLab extends TestLab {
  override readonly prefix = `snaptree-t-h2-${process.pid}-`;
}

beforeAll(async () => {
  lab = await new StepsLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
});

afterAll(async () => {
  await lab?.cleanup();
});

describe('convert', () => {
  test.each(['qcow2', 'raw'] as const)('a three-layer chain into one %s image that reads as the top, private, with progress', async (format) => {
    const top = await chain(`c-${format}`);
    const target = lab.path(`export-${format}.img`);
    const progress: number[] = [];
    const step = convertStep(top, target, format, format === 'qcow2');
    const ctx = context({ onProgress: (p) => progress.push(p) });
    await checkBeforeStep(step, ctx);
    await runStep(step, ctx);
    expect(await qemuImgSame({ path: top, format: 'qcow2' }, { path: target, format })).toBe(true);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(100);
    const info = await lstat(target);
    expect([info.mode & 0o7777, info.nlink]).toEqual([0o600, 1]);
    // Standalone: no backing file.
    expect(qemuImgSync(['info', '-f', format, '--output=json', '--', target])).not.toContain('backing-filename');
    expect(await hidden()).toEqual([]);
  });

  test('refused over an existing file (left as it is) and into a folder that does not exist', async () => {
    const top = await chain('c-exists');
    const taken = lab.path('taken.qcow2');
    await writeFile(taken, 'mine');
    expect(await codeOf(checkBeforeStep(convertStep(top, taken, 'qcow2'), context()))).toBe('E_NAME_TAKEN');
    const missing = convertStep(top, lab.path('no-such-folder/x.qcow2'), 'qcow2');
    await expect(checkBeforeStep(missing, context())).rejects.toThrow(/no-such-folder does not exist/);
    expect(await codeOf(runStep(missing, context()))).toBe('E_NOT_FOUND');
    // A run that finds the target taken (it appeared after the check) writes nothing over it either.
    expect(await codeOf(runStep(convertStep(top, taken, 'qcow2'), context()))).toBe('E_NAME_TAKEN');
    expect(await readFile(taken, 'utf8')).toBe('mine');
  });

  test('cancelled mid-way: no target, and the undo removes the half-written temporary file', async () => {
    const top = await chain('c-cancel', 512 * MiB);
    await writePattern(top, 'qcow2', 0x44, 16 * MiB, 480 * MiB);
    const target = lab.path('cancelled.qcow2');
    const abort = new AbortController();
    const ctx = context({ signal: abort.signal, onProgress: (p) => p > 0 && abort.abort() });
    const step = convertStep(top, target, 'qcow2', true);
    expect(await codeOf(runStep(step, ctx))).toBe('E_CANCELLED');
    await expect(lstat(target)).rejects.toThrow(/ENOENT/);
    expect(await hidden()).toHaveLength(1);
    await undoStep(step, { kind: 'none' }, { ...ctx, signal: new AbortController().signal });
    expect(await hidden()).toEqual([]);
  });

  test('run again after a crash: a finished target is done, one linked but not yet renamed is finished, a half-written file is redone', async () => {
    const top = await chain('c-again');
    const ctx = context();
    const done = convertStep(top, lab.path('again.qcow2'), 'qcow2');
    await runStep(done, ctx);
    const inode = (await lstat(done.target)).ino;
    await runStep(done, ctx);
    expect((await lstat(done.target)).ino).toBe(inode);

    // Killed between the link and the unlink: the target is the temporary file's second name.
    const linked = convertStep(top, lab.path('linked.qcow2'), 'qcow2');
    const part = partFileOf(linked.target, ctx.operationId);
    await runStep({ ...linked, target: part.replace('.snaptree-part-', 'tmp-') }, ctx);
    await link(part.replace('.snaptree-part-', 'tmp-'), part);
    await link(part, linked.target);
    await runStep(linked, ctx);
    expect(await lstat(part).catch(() => null)).toBeNull();

    // Killed while qemu-img wrote: the half-written temporary file goes and the image is written again.
    const half = convertStep(top, lab.path('half.qcow2'), 'qcow2');
    await writeFile(partFileOf(half.target, ctx.operationId), 'half', { mode: 0o600 });
    await runStep(half, ctx);
    expect(await qemuImgSame({ path: top, format: 'qcow2' }, { path: half.target, format: 'qcow2' })).toBe(true);
    expect(await hidden()).toEqual([]);
  });

  test("undone: the step's own target goes; a file of the same name that the step did not write stays", async () => {
    const top = await chain('c-undo');
    const ctx = context();
    const step = convertStep(top, lab.path('undo.raw'), 'raw');
    await runStep(step, ctx);
    await undoStep(step, { kind: 'none' }, ctx);
    await expect(lstat(step.target)).rejects.toThrow(/ENOENT/);
    const foreign = convertStep(top, lab.path('foreign.raw'), 'raw');
    await writeFile(foreign.target, 'not the export', { mode: 0o600 });
    await undoStep(foreign, { kind: 'none' }, ctx);
    expect((await lstat(foreign.target)).size).toBe('not the export'.length);
  });
});

describe('a second name, never over anything (how a new file is put in place)', () => {
  test.each([
    ['this computer', localHostFiles],
    ['a host reached by its shell scripts', remoteHostFiles(localRunner)],
  ])('on %s', async (_where, files) => {
    const dir = lab.path(`link-${files === localHostFiles ? 'local' : 'remote'}`);
    await mkdir(dir);
    await writeFile(`${dir}/a`, 'x');
    await files.link(`${dir}/a`, `${dir}/b`);
    expect((await lstat(`${dir}/a`)).nlink).toBe(2);
    await symlink('/nonexistent', `${dir}/dangling`);
    const code = (to: string, from = `${dir}/a`) => files.link(from, to).then(() => 'ok', (error: unknown) => errnoOf(error));
    expect([await code(`${dir}/b`), await code(`${dir}/dangling`), await code(`${dir}/c`, `${dir}/missing`)]).toEqual(['EEXIST', 'EEXIST', 'ENOENT']);
    expect(await readFile(`${dir}/b`, 'utf8')).toBe('x');
  });
});

describe('copy-nvram', () => {
  test('a private copy where nothing stands; run again, done; undone, gone; refused over a file', async () => {
    const store = lab.path('src_VARS.fd');
    await writeFile(store, Buffer.alloc(128 * 1024, 7), { mode: 0o600 });
    const step: Step = { kind: 'copy-nvram', path: store, copy: lab.path('clone_VARS.fd'), sentence: '' };
    const ctx = context();
    await checkBeforeStep(step, ctx);
    await runStep(step, ctx);
    await runStep(step, ctx);
    const info = await lstat(step.copy);
    expect([info.mode & 0o7777, info.size, info.uid]).toEqual([0o600, 128 * 1024, (await lstat(store)).uid]);
    expect(await codeOf(checkBeforeStep(step, context()))).toBe('E_NAME_TAKEN');
    await undoStep(step, { kind: 'none' }, ctx);
    await expect(lstat(step.copy)).rejects.toThrow(/ENOENT/);
    expect(await hidden()).toEqual([]);
  });
});

/** A domain with two managed disks, a CD-ROM, an interface with a MAC, a variable store, and a branch record. */
async function richDomain(id: string): Promise<{ vm: string; nvram: string }> {
  const [a, b] = [lab.path(`${id}-a.qcow2`), lab.path(`${id}-b.qcow2`)];
  await qemuImgCreate(a, { size: 16 * MiB });
  await qemuImgCreate(b, { size: 16 * MiB });
  const nvram = lab.path(`${id}_VARS.fd`);
  await writeFile(nvram, Buffer.alloc(128 * 1024, 1), { mode: 0o600 });
  const name = lab.prefix + id;
  const xml = `<domain type='qemu'>
  <name>${name}</name>
  <title>the source</title>
  <memory unit='MiB'>64</memory>
  <metadata><snaptree:branches xmlns:snaptree='urn:virt-snaptree:branches:1' current='main'><snaptree:branch name='main'><snaptree:tip target='vda' file='${a}'/></snaptree:branch></snaptree:branches></metadata>
  <os><type arch='x86_64'>hvm</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader><nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>${nvram}</nvram></os>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${a}'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${b}'/><target dev='vdb' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='hdc' bus='ide'/><readonly/></disk>
    <interface type='network'><mac address='52:54:00:12:34:56'/><source network='default'/><model type='virtio'/></interface>
    <graphics type='vnc' port='5977' autoport='no'/>
  </devices>
</domain>`;
  return { vm: await lab.defineXml(id, xml), nvram };
}

describe('define-clone', () => {
  test('a new domain: new UUID and MACs, disks on the new files, CD-ROM kept, own variable store, the clone record in, branch records out', async () => {
    const { vm, nvram } = await richDomain('h2-rich');
    const name = `${lab.prefix}h2-clone`;
    const [na, nb, nv] = [lab.path('clone-a.qcow2'), lab.path('clone-b.raw'), lab.path('clone_VARS.fd')];
    const step: Extract<Step, { kind: 'define-clone' }> = {
      kind: 'define-clone',
      source: vm,
      name,
      node: { kind: 'snapshot', name: 's1' },
      disks: { vda: na, vdb: nb },
      formats: { vda: 'qcow2', vdb: 'raw' },
      nvram: nv,
      sentence: '',
    };
    const ctx = context({ domain: vm });
    await checkBeforeStep(step, ctx);
    await runStep(step, ctx);
    lab.adopt(name);
    // Run again (a crash after it ran): done, nothing else defined.
    await runStep(step, ctx);
    const source = virshSync(['dumpxml', '--domain', vm, '--inactive']);
    const xml = virshSync(['dumpxml', '--domain', name, '--inactive']);
    const uuid = (x: string) => /<uuid>([^<]+)<\/uuid>/.exec(x)?.[1];
    const macs = (x: string) => [...x.matchAll(/<mac address='([^']+)'/g)].map((m) => m[1]);
    expect(uuid(xml)).not.toBe(uuid(source));
    expect(macs(xml)).toHaveLength(1);
    expect(macs(xml)).not.toEqual(macs(source));
    const root = parseDomainXml(xml);
    const disks = domainDisksOf(root);
    expect(disks.map((d) => [d.target, d.file, d.format])).toEqual([
      ['vda', na, 'qcow2'],
      ['vdb', nb, 'raw'],
      ['hdc', null, 'raw'],
    ]);
    expect(nvramOf(root)).toBe(nv);
    expect(xml).toContain("template='/usr/share/OVMF/OVMF_VARS_4M.fd'");
    expect(nvramOf(parseDomainXml(source))).toBe(nvram);
    expect(cloneRecordOf(root)).toEqual({ domain: vm, node: { kind: 'snapshot', name: 's1' }, operation: ctx.operationId });
    expect(branchRecordsOf(root).branches).toEqual([]);
    expect(xml).not.toContain('<title>');
    expect(xml).toMatch(/<graphics type='vnc' (port='-1' )?autoport='yes'/);

    // A name taken by a domain this operation did not define: refused, and its undo leaves that domain.
    expect(await codeOf(checkBeforeStep(step, context()))).toBe('E_NAME_TAKEN');
    expect(await codeOf(runStep(step, context()))).toBe('E_NAME_TAKEN');
    await undoStep(step, { kind: 'none' }, context());
    expect(virshSync(['domstate', '--domain', name]).trim()).toBe('shut off');

    // Undone by the operation that defined it: gone.
    await undoStep(step, { kind: 'none' }, ctx);
    expect(virshSync(['list', '--all', '--name'])).not.toContain(name);
  });
});

describe('the folder an export names', () => {
  /** Plans and applies an export of s1 to `to`; the error code it is refused with. */
  async function exportTo(engine: Engine, vm: string, to: string): Promise<string> {
    const plan = await engine.plan({ kind: 'libvirt', uri: TEST_URI }, { op: 'export', domain: vm, node: { kind: 'snapshot', name: 's1' }, to, format: 'raw' });
    if (!plan.ok) return plan.refusal.code;
    return codeOf(engine.apply(plan.plan));
  }

  /** A tmpfs of its own at a new folder of the lab, with `options`; unmounted after `use`. */
  async function mounted(name: string, options: string, use: (dir: string) => Promise<void>): Promise<void> {
    const dir = lab.path(name);
    await mkdir(dir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
    try {
      await use(dir);
    } finally {
      execFileSync('umount', [dir]);
      await rmdir(dir);
    }
  }

  test('must exist, be a folder itself, belong to no other user, take new files and have room; refused before anything is written', async () => {
    const engine = new Engine({ host: 'serve' });
    try {
      const vm = await seedChain(lab, 'h2-places');
      expect(await exportTo(engine, vm, lab.path('missing'))).toBe('E_NOT_FOUND');
      const real = lab.path('real');
      await mkdir(real, { mode: 0o700 });
      await symlink(real, lab.path('link'));
      expect(await exportTo(engine, vm, lab.path('link'))).toBe('E_BAD_INPUT');
      const others = lab.path('others');
      await mkdir(others, { mode: 0o755 });
      await chown(others, 1000, 1000);
      expect(await exportTo(engine, vm, others)).toBe('E_NOT_SUPPORTED');
      // 32 MiB of raw image into 1 MiB.
      await mounted('small', 'size=1m,mode=0700', async (dir) => {
        expect(await exportTo(engine, vm, dir)).toBe('E_NO_SPACE');
        expect(await readdir(dir)).toEqual([]);
      });
      await mounted('read-only', 'ro,mode=0700', async (dir) => {
        expect(await exportTo(engine, vm, dir)).toBe('E_NOT_SUPPORTED');
      });
      expect([await readdir(real), await readdir(others)]).toEqual([[], []]);
      // A linked clone's overlays go by the same rule.
      const name = `${lab.prefix}h2-linked`;
      const cloneInto = async (dir: string) => {
        const plan = await engine.plan({ kind: 'libvirt', uri: TEST_URI }, { op: 'clone', domain: vm, node: { kind: 'snapshot', name: 's1' }, name, mode: 'linked', dir });
        return plan.ok ? codeOf(engine.apply(plan.plan)) : plan.refusal.code;
      };
      expect([await cloneInto(lab.path('missing')), await cloneInto(lab.path('link'))]).toEqual(['E_NOT_FOUND', 'E_BAD_INPUT']);
      await writeFile(`${real}/${name}.vda.qcow2`, 'planted');
      expect(await cloneInto(real)).toBe('E_NAME_TAKEN');
      expect(await readFile(`${real}/${name}.vda.qcow2`, 'utf8')).toBe('planted');
      expect(virshSync(['list', '--all', '--name'])).not.toContain(name);
      // The export into the folder itself is made.
      expect(await exportTo(engine, vm, real)).toBe('ok');
      expect(await readdir(real)).toHaveLength(2);
    } finally {
      await engine.close();
    }
  });
});
