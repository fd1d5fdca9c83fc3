/**
 * Bad input through the CLI and the API (docs/safety.md, rule 6). Each gets a clear message with its code, and nothing
 * changes on disk or in libvirt.
 */
import { spawnSync } from 'node:child_process';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { handleApiCall } from '../api-handler';
import { Engine } from '../engine';
import { checksums, diskSource } from '../test-support/checks';
import { TestLab, TEST_URI, virshSync } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';

const BIN = join(__dirname, '..', '..', 'bin', 'virt-snaptree.cjs');
const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;
let vm: string;
let plain: string;
let broken: string;

async function fingerprint(): Promise<string> {
  const files = (await readdir(lab.dir)).filter((n) => n.endsWith('.qcow2')).map((n) => lab.path(n));
  const xml = [vm, plain, broken].map((d) => virshSync(['dumpxml', '--domain', d, '--inactive']));
  const snaps = [vm, plain, broken].map((d) => virshSync(['snapshot-list', '--domain', d, '--name']));
  return JSON.stringify({ files: await checksums(files), xml, snaps });
}

function cli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args, '--connect', TEST_URI, '--yes'], { encoding: 'utf8', env: process.env });
}

async function api(method: string, input: unknown) {
  return handleApiCall(engine, method, input);
}

beforeAll(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve', sources: [{ id: 'test', label: TEST_URI, source, demo: false }] });
  await qemuImgCreate(lab.path('vm.qcow2'), { size: 16 << 20 });
  vm = await lab.define({ name: 'vm', disks: [{ target: 'vda', file: lab.path('vm.qcow2'), format: 'qcow2' }] });
  lab.snapshot(vm, 's1');
  await qemuImgCreate(lab.path('plain.qcow2'), { size: 16 << 20 });
  plain = await lab.define({ name: 'plain', disks: [{ target: 'vda', file: lab.path('plain.qcow2'), format: 'qcow2' }] });
  await qemuImgCreate(lab.path('gone.qcow2'), { size: 16 << 20 });
  await qemuImgCreate(lab.path('broken.qcow2'), { backing: { path: lab.path('gone.qcow2'), format: 'qcow2' } });
  broken = await lab.define({ name: 'broken', disks: [{ target: 'vda', file: lab.path('broken.qcow2'), format: 'qcow2' }] });
  lab.snapshot(broken, 'b1');
  await unlink(lab.path('gone.qcow2'));
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
});

describe('bad names are refused before anything runs', () => {
  test.each([
    ['a leading dash', '-rf'],
    ['a slash', 'a/b'],
    ['a newline', 'two\nlines'],
    ['an empty name', ''],
  ])('CLI: %s', async (_what, name) => {
    const before = await fingerprint();
    const result = cli(['revert', vm, 's1', '--branch', name]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/\[E_BAD_INPUT\]/);
    expect(await fingerprint()).toBe(before);
  });

  test.each(['-rf', 'a/b', 'tab\there', ' padded'])('API: %j', async (name) => {
    const before = await fingerprint();
    const response = await api('plan', { sourceId: 'test', intent: { op: 'revert-branch', domain: vm, snapshot: 's1', branch: name } });
    expect(response).toMatchObject({ ok: false, error: { code: 'E_BAD_INPUT' } });
    expect(await fingerprint()).toBe(before);
  });

  test('API: an unknown operation or extra fields', async () => {
    expect(await api('plan', { sourceId: 'test', intent: { op: 'format-disk', domain: vm } })).toMatchObject({ ok: false, error: { code: 'E_BAD_INPUT' } });
    expect(await api('plan', { sourceId: 'test', intent: { op: 'switch', domain: vm, branch: 'x', shell: 'rm' } })).toMatchObject({ ok: false, error: { code: 'E_BAD_INPUT' } });
    expect(await api('apply', { planId: 'not-a-uuid' })).toMatchObject({
      ok: false,
      error: { code: 'E_BAD_INPUT' },
    });
  });
});

describe('names that look dangerous are just names', () => {
  test("spaces, quotes, unicode and $(...) go through as they are, to the file and libvirt's records", async () => {
    const name = `new 'ü' $(touch pwned) "x"`;
    const planned = await api('plan', { sourceId: 'test', intent: { op: 'revert-branch', domain: vm, snapshot: 's1', branch: name } });
    expect(planned.ok).toBe(true);
    const plan = planned.ok ? (planned.value as { ok: true; plan: { id: string } }).plan : null;
    const applied = await api('apply', { planId: plan?.id });
    expect(applied).toMatchObject({ ok: true, value: { status: 'done' } });
    expect(diskSource(vm, 'vda')).toBe(lab.path(`${vm}.${name}.vda.qcow2`));
    expect((await readdir(process.cwd())).includes('pwned')).toBe(false);
    const dom = await engine.scanDomain(source, vm);
    expect(dom.branches.find((b) => b.current)?.name).toBe(name);
  });
});

describe('the world says no', () => {
  test('a missing backing file: the plan is refused with the problem', async () => {
    const result = await engine.plan(source, { op: 'revert-branch', domain: broken, snapshot: 'b1', branch: 'x' });
    expect(result.ok ? 'planned' : result.refusal).toMatchObject({ code: 'E_NOT_SUPPORTED', message: expect.stringMatching(/missing/) });
  });

  test('a domain with no snapshots has nothing to revert to', async () => {
    const result = await engine.plan(source, { op: 'revert-branch', domain: plain, snapshot: 's1', branch: 'x' });
    expect(result.ok ? 'planned' : result.refusal.code).toBe('E_NOT_FOUND');
  });

  test('a running domain whose images QEMU holds: the revert is refused until it is shut off', async () => {
    virshSync(['start', '--domain', plain]);
    try {
      await engine.apply((await (async () => {
        const r = await engine.plan(source, { op: 'create-snapshot', domain: plain, name: 'live' });
        if (!r.ok) throw new Error(r.refusal.message);
        return r.plan;
      })()));
      const result = await engine.plan(source, { op: 'revert-branch', domain: plain, snapshot: 'live', branch: 'x' });
      expect(result.ok ? 'planned' : result.refusal).toMatchObject({ code: 'E_DOMAIN_RUNNING', message: expect.stringMatching(/Shut it down/) });
    } finally {
      virshSync(['destroy', '--domain', plain]);
    }
  });

  test('two clients racing one domain: one runs, the other is told and changes nothing', async () => {
    const other = new Engine({ host: 'serve' });
    try {
      const a = await engine.plan(source, { op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'racer-a' });
      const b = await other.plan(source, { op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'racer-b' });
      if (!a.ok || !b.ok) throw new Error('refused');
      const results = await Promise.allSettled([engine.apply(a.plan), other.apply(b.plan)]);
      const outcomes = results.map((r) => (r.status === 'fulfilled' ? r.value.status : (r.reason as { code: string }).code));
      // The loser either finds the lock taken or, re-checking after the winner, a changed world to re-confirm.
      expect(outcomes.filter((o) => o === 'done')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'E_LOCKED' || o === 'changed')).toHaveLength(1);
      const dom = await engine.scanDomain(source, vm);
      expect(dom.branches.filter((b) => b.name.startsWith('racer-'))).toHaveLength(1);
    } finally {
      await other.close();
    }
  });
});
