/**
 * Attacks on fold-commit, edit-description, acknowledgements and thumbnails with real qemu-img and virsh
 * (docs/safety.md, SECURITY.md): hostile text, shared backing files, foreign overlays, bad API input.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../shared/errors';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { handleApiCall } from '../api-handler';
import { Engine } from '../engine';
import { startServer, TOKEN_HEADER } from '../server/serve';
import { diskSource } from '../test-support/checks';
import { qemuImgSync } from '../test-support/lab';
import { addAck, readAcks, recordOwnWrites } from '../inspect/acks';
import { localHostFiles } from './host-files';
import { encodePng, thumbnailOf } from './thumbnails';
import { statSync } from 'node:fs';
import { TestLab, TEST_URI, virshSync } from '../test-support/lab';
import { seedChain } from '../test-support/seed-chain';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';

const MiB = 1024 * 1024;
const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;
let run = 0;

/** base → s1 → s2, data in every layer and in the tip. */
const seed = (): Promise<string> => seedChain(lab, `r14a${++run}`);

beforeAll(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  await mkdir(lab.path('views'));
  engine = new Engine({ host: 'serve' });
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
});

describe('text libvirt keeps in XML', () => {
  // U+FFFE and U+FFFF are no XML characters: libvirt refuses the XML with a bare "----^" (seen on libvirt 11).
  test.each(['a\uFFFFb', 'a\uFFFEb'])('%j is refused as input in a description, a new name and a reason', async (text) => {
    const intents = [
      { op: 'edit-description', domain: 'd', snapshot: 's1', description: text },
      { op: 'create-snapshot', domain: 'd', name: 'n', description: text },
      { op: 'create-snapshot', domain: 'd', name: text },
      { op: 'rename-branch', domain: 'd', branch: 'main', to: text },
    ];
    for (const intent of intents) {
      const answer = await handleApiCall(engine, 'plan', { sourceId: 'libvirt:qemu:///system', intent });
      expect(answer.ok ? 'accepted' : answer.error.code).toBe('E_BAD_INPUT');
      if (!answer.ok) expect(answer.error.message).toMatch(/XML|U\+FFF/);
    }
    const ack = await handleApiCall(engine, 'acknowledge', { sourceId: 'libvirt:qemu:///system', domain: 'd', path: '/x', reason: text });
    expect(ack.ok ? 'accepted' : ack.error.code).toBe('E_BAD_INPUT');
  });

  test('noncharacters that XML allows still pass, and land as typed', async () => {
    const vm = await seed();
    const text = 'a\uFDD0b\u{1FFFF}c';
    const planned = await engine.plan(source, { op: 'edit-description', domain: vm, snapshot: 's1', description: text });
    if (!planned.ok) throw new Error(planned.refusal.message);
    await engine.apply(planned.plan);
    expect((await engine.scanDomain(source, vm)).snapshots.find((s) => s.name === 's1')?.description).toBe(text);
  });
});


const WRITTEN_AFTER = /It was written after/;
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The findings of the domain's layer at `path` in a fresh health check. */
async function findingsOf(vm: string, path: string): Promise<string[]> {
  const [report] = await engine.check(source, vm);
  return report?.layers.find((l) => l.path === path)?.findings ?? [];
}

describe('the app\u2019s own writes do not hide a foreign one', () => {
  test('a foreign write before an operation is still reported after the operation writes the same file', async () => {
    const vm = await seed();
    const base = (await engine.scanDomain(source, vm)).snapshots.find((s) => s.name === 's1')?.disks[0]?.stateLayer ?? '';
    // Past the slack a check allows between making an overlay and writing what it builds on.
    await pause(2500);
    // Something else than the app writes s1's saved state, which s1's overlay builds on: reported.
    await writePattern(base, 'qcow2', 0x77, 8 * MiB, 64 * 1024);
    expect((await findingsOf(vm, base)).join()).toMatch(WRITTEN_AFTER);
    // Deleting s1 commits its overlay into that file, which s2's overlay then builds on: the foreign write stays in
    // what s2 reads, so its warning stays until the user acknowledges it.
    const planned = await engine.plan(source, { op: 'delete-snapshot', domain: vm, snapshot: 's1' });
    if (!planned.ok) throw new Error(planned.refusal.message);
    expect(planned.plan.impact.written).toContain(base);
    await engine.apply(planned.plan);
    expect((await findingsOf(vm, base)).join()).toMatch(WRITTEN_AFTER);
  });

  test('two operations in a row writing a file that something older builds on say nothing of it', async () => {
    const base = lab.path('twice.qcow2');
    const top = lab.path('twice.top');
    qemuImgSync(['create', '-q', '-f', 'qcow2', base, '32M']);
    qemuImgSync(['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, top]);
    const vm = await lab.define({ name: `twice`, disks: [{ target: 'vda', file: top, format: 'qcow2' }] });
    await pause(2500);
    for (const [i, id] of ['00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b'].entries()) {
      const before = { [base]: statSync(base).mtimeMs };
      // As an operation that keeps what builds on the file reading the same (docs/safety.md, rule 3) writes it.
      qemuImgSync(['amend', '-f', 'qcow2', '-o', 'lazy_refcounts=' + (i === 0 ? 'on' : 'off'), base]);
      await recordOwnWrites(localHostFiles, id, 'delete-snapshot', [base], before);
      await pause(50);
    }
    expect(await findingsOf(vm, base)).toEqual([]);
    // A foreign write after them is reported.
    await writePattern(base, 'qcow2', 0x55, 0, 64 * 1024);
    expect((await findingsOf(vm, base)).join()).toMatch(WRITTEN_AFTER);
  });
});

describe('a screen a guest can make huge', () => {
  /** A PNG of a `width` × `height` screen of one colour, as QEMU writes one, with what reading it takes. */
  function timedThumbnail(width: number, height: number): { png: Buffer | null; ms: number } {
    const screen = encodePng({ width, height, rgb: new Uint8Array(width * height * 3).fill(0x40) });
    const start = performance.now();
    const png = thumbnailOf(screen);
    return { png, ms: performance.now() - start };
  }

  test('an 8K screen becomes a thumbnail without holding up the engine for seconds', () => {
    const { png, ms } = timedThumbnail(7680, 4320);
    expect(png).not.toBeNull();
    expect(ms).toBeLessThan(1500);
  });

  test('a screen larger than 8K is refused at once, before its pixels are inflated', () => {
    const { png, ms } = timedThumbnail(8192, 8192);
    expect(png).toBeNull();
    expect(ms).toBeLessThan(500);
  });
});

describe('a thumbnail belongs to the snapshot it was taken with', () => {
  test('a snapshot taken again under the name of one virsh deleted shows no screen of the one before', async () => {
    const file = lab.path('stale.qcow2');
    await qemuImgCreate(file, { size: 16 * MiB });
    const screen = "    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>\n    <video><model type='vga'/></video>\n  </devices>";
    const vm = await lab.define({ name: 'stale', disks: [{ target: 'vda', file, format: 'qcow2' }] });
    const xml = virshSync(['dumpxml', '--domain', vm]).replace('  </devices>', screen);
    await writeFile(lab.path('stale-screen.xml'), xml);
    virshSync(['define', '--file', lab.path('stale-screen.xml')]);
    virshSync(['start', '--domain', vm]);
    // SeaBIOS draws its screen within a moment of the start.
    await pause(1500);
    const first = await engine.plan(source, { op: 'create-snapshot', domain: vm, name: 's1' });
    if (!first.ok) throw new Error(first.refusal.message);
    await engine.apply(first.plan);
    expect((await engine.thumbnail(source, vm, 's1')).dataUrl).not.toBeNull();
    // The VM is shut off, virsh deletes s1 (libvirt merges its overlay away), and the app takes a new s1 of the VM
    // shut off: no screen was kept with it.
    virshSync(['destroy', '--domain', vm]);
    virshSync(['snapshot-delete', '--domain', vm, '--snapshotname', 's1']);
    const again = await engine.plan(source, { op: 'create-snapshot', domain: vm, name: 's1' });
    if (!again.ok) throw new Error(again.refusal.message);
    await engine.apply(again.plan);
    expect((await engine.thumbnail(source, vm, 's1')).dataUrl).toBeNull();
  });
});

describe('a fold into a file system without room for it', () => {
  test('is refused before it starts, so the snapshot it would delete keeps its saved state', async () => {
    const mnt = lab.path('small');
    await mkdir(mnt);
    // mode 0700: an image folder others can write is refused for itself (docs/safety.md, rule 10).
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40M,mode=0700', 'tmpfs', mnt]);
    try {
      const base = join(mnt, 'full.qcow2');
      qemuImgSync(['create', '-q', '-f', 'qcow2', base, '64M']);
      await writePattern(base, 'qcow2', 0x10, 0, 4 * MiB);
      const vm = await lab.define({ name: 'full', disks: [{ target: 'vda', file: base, format: 'qcow2' }] });
      lab.snapshot(vm, 's1');
      await writePattern(diskSource(vm, 'vda'), 'qcow2', 0x33, 8 * MiB, 20 * MiB);
      const saved = lab.path('full-s1.raw');
      qemuImgSync(['convert', '-f', 'qcow2', '-O', 'raw', base, saved]);
      // 8 MiB left for a commit of 20 MiB.
      const free = Number(execFileSync('df', ['--output=avail', '-B1M', mnt], { encoding: 'utf8' }).split('\n')[1]);
      execFileSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=1M', `count=${free - 8}`], { stdio: 'ignore' });
      const planned = await engine.plan(source, { op: 'fold-commit', domain: vm, branch: 'main', snapshot: 's1' });
      if (!planned.ok) throw new Error(planned.refusal.message);
      const error = await engine.apply(planned.plan).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AppError);
      expect(error instanceof AppError ? [error.code, error.message] : []).toEqual(['E_NO_SPACE', expect.stringMatching(/MiB free/)]);
      // Nothing ran: s1 is there, reads as it did, and no operation waits to be recovered.
      expect(virshSync(['snapshot-list', '--domain', vm, '--name']).trim()).toBe('s1');
      expect(() => qemuImgSync(['compare', '-q', '-f', 'raw', '-F', 'qcow2', saved, base])).not.toThrow();
      expect(await engine.recover()).toEqual([]);
      virshSync(['undefine', '--domain', vm, '--snapshots-metadata']);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});

describe('serve: a body that is not UTF-8', () => {
  test('is refused as bad input, not stored with its bytes replaced', async () => {
    const server = await startServer({ engine, rendererDir: lab.path('no-renderer'), token: 'b'.repeat(48) });
    try {
      const body = Buffer.concat([Buffer.from('{"sourceId":"libvirt:qemu:///system","domain":"d","path":"/a","reason":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
      const answer = await fetch(`http://127.0.0.1:${server.port}/api/acknowledge`, { method: 'POST', headers: { [TOKEN_HEADER]: 'b'.repeat(48) }, body });
      const json = (await answer.json()) as { ok: boolean; error?: { code: string; message: string } };
      expect(json.error?.code).toBe('E_BAD_INPUT');
      expect(json.error?.message).toMatch(/UTF-8/);
    } finally {
      await server.close();
    }
  });
});

describe('a record of acknowledgements that cannot be read', () => {
  test('is kept aside, not overwritten, when a new acknowledgement is made', async () => {
    const folder = join(lab.path('data'), 'health');
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const damaged = '[{"host":"local","path":"/kept.qcow2","modified":1,"reason":"cut short';
    await writeFile(join(folder, 'acks.json'), damaged, { mode: 0o600 });
    const ack = await addAck({ host: 'local', path: '/new.qcow2', modified: 2, reason: 'checked by hand' });
    expect((await readAcks()).map((a) => a.path)).toEqual([ack.path]);
    const kept = (await readdir(folder)).filter((n) => n !== 'acks.json');
    expect(kept).toHaveLength(1);
    expect(await readFile(join(folder, kept[0] ?? ''), 'utf8')).toBe(damaged);
  });
});

describe('a fold into a file that cannot be written', () => {
  test('is refused before it starts, leaving nothing to recover', async () => {
    const vm = await seed();
    const state = (await engine.scanDomain(source, vm)).snapshots.find((s) => s.name === 's2')?.disks[0]?.stateLayer ?? '';
    execFileSync('chattr', ['+i', state]);
    try {
      const planned = await engine.plan(source, { op: 'fold-commit', domain: vm, branch: 'main', snapshot: 's2' });
      if (!planned.ok) throw new Error(planned.refusal.message);
      const error = await engine.apply(planned.plan).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error instanceof AppError ? [error.code, error.message] : error).toEqual(['E_NOT_SUPPORTED', expect.stringMatching(/cannot be written.*Nothing was changed/)]);
    } finally {
      execFileSync('chattr', ['-i', state]);
    }
    expect(await engine.recover()).toEqual([]);
    expect(virshSync(['snapshot-list', '--domain', vm, '--name']).trim().split('\n')).toEqual(['s1', 's2']);
  });
});
