/**
 * The API acts only where the user pointed the engine: sources are named by the id of a configured source,
 * connections that would start programs are refused before anything runs, and only plans the engine issued
 * run, once. Driven over real HTTP against `serve`, with real images.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Engine } from '../engine';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';
import { startServer, TOKEN_HEADER, type RunningServer } from './serve';

const MiB = 1024 * 1024;
let dir: string;
let mine: string;
let foreign: string;
let server: RunningServer;
let engine: Engine;
const token = 'b'.repeat(48);

async function call(method: string, input: unknown): Promise<{ ok: boolean; value?: unknown; error?: { code: string; message: string } }> {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [TOKEN_HEADER]: token },
    body: JSON.stringify(input),
  });
  return (await res.json()) as { ok: boolean; value?: unknown; error?: { code: string; message: string } };
}

/** Every file below a folder with its sha256: the folder must stay byte-identical. */
async function fingerprint(folder: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[path] = createHash('sha256').update(await readFile(path)).digest('hex');
  }
  return out;
}

/** A folder with a base, and a branch forked from it that could be deleted. */
async function images(folder: string): Promise<void> {
  await qemuImgCreate(join(folder, 'base.qcow2'), { size: 16 * MiB });
  await writePattern(join(folder, 'base.qcow2'), 'qcow2', 0x11, 0, MiB);
  for (const tip of ['main.qcow2', 'side.qcow2']) {
    await qemuImgCreate(join(folder, tip), { backing: { path: join(folder, 'base.qcow2'), format: 'qcow2' } });
    await writePattern(join(folder, tip), 'qcow2', 0x22, MiB, MiB);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snaptree-api-'));
  process.env.SNAPTREE_DATA_DIR = join(dir, 'data');
  mine = join(dir, 'mine');
  foreign = join(dir, 'foreign');
  await Promise.all([mine, foreign].map((f) => import('node:fs/promises').then((fs) => fs.mkdir(f))));
  await images(mine);
  await images(foreign);
  engine = new Engine({ host: 'serve', sources: [{ id: `folder:${mine}`, label: mine, source: { kind: 'folder', path: mine }, demo: false }] });
  server = await startServer({ engine, rendererDir: join(dir, 'renderer'), token });
});

afterAll(async () => {
  await server.close();
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the API acts only on configured sources', () => {
  test('a connection URI that would start a program is refused, and the program never runs', async () => {
    const script = join(dir, 'evil.sh');
    const marker = join(dir, 'evil-ran');
    await writeFile(script, `#!/bin/sh\ntouch ${marker}\n`);
    await chmod(script, 0o755);
    for (const uri of [`qemu+ext:///system?command=${script}`, `qemu+ssh://localhost/system?command=${script}`, `qemu+ssh://localhost/system?netcat=${script}`]) {
      // The form a client may send today, and the form an older client sent: neither runs anything.
      for (const input of [{ source: { kind: 'libvirt', uri } }, { sourceId: `libvirt:${uri}` }]) {
        for (const method of ['addSource', 'scan']) {
          const res = await call(method, input);
          expect(res.ok, `${method} ${JSON.stringify(input)}`).toBe(false);
        }
      }
    }
    expect(await stat(marker).then(() => true, () => false)).toBe(false);
  });

  test('a folder the user did not configure cannot be scanned, planned on or changed', async () => {
    const before = await fingerprint(foreign);
    const intent = { op: 'delete-branch', domain: 'base.qcow2', branch: 'side.qcow2' };
    for (const input of [{ source: { kind: 'folder', path: foreign }, intent }, { sourceId: `folder:${foreign}`, intent }]) {
      const planned = await call('plan', input);
      expect(planned.ok).toBe(false);
      const plan = (planned.value as { plan?: { id: string } } | undefined)?.plan;
      if (plan !== undefined) await call('apply', { plan, planId: plan.id });
    }
    expect((await call('scan', { sourceId: `folder:${foreign}` })).error?.code).toBe('E_NOT_FOUND');
    expect((await call('trashList', { sourceId: `folder:${foreign}` })).error?.code).toBe('E_NOT_FOUND');
    expect(await fingerprint(foreign)).toEqual(before);
  });

  test('the configured folder answers by its id', async () => {
    const res = await call('scan', { sourceId: `folder:${mine}` });
    expect(res).toMatchObject({ ok: true, value: { source: { kind: 'folder', path: mine } } });
  });

  test('an added folder must exist and is kept by its real path', async () => {
    expect((await call('addSource', { source: { kind: 'folder', path: join(dir, 'nowhere') } })).error?.code).toBe('E_NOT_FOUND');
    const file = join(mine, 'base.qcow2');
    expect((await call('addSource', { source: { kind: 'folder', path: file } })).error?.code).toBe('E_BAD_INPUT');
    const added = await call('addSource', { source: { kind: 'folder', path: `${foreign}/.` } });
    expect(added.value).toEqual(expect.arrayContaining([expect.objectContaining({ id: `folder:${foreign}` })]));
    await call('removeSource', { id: `folder:${foreign}` });
  });
});

describe('only plans the engine issued run, once', () => {
  test('a plan id the engine never issued is refused and changes nothing', async () => {
    const before = await fingerprint(mine);
    const res = await call('apply', { planId: '00000000-0000-4000-8000-000000000000' });
    expect(res.error).toMatchObject({ code: 'E_NOT_FOUND', message: expect.stringMatching(/not made by this engine/) });
    expect(await fingerprint(mine)).toEqual(before);
  });

  test('an issued plan runs once; applying its id again cannot rewrite its journal', async () => {
    const planned = await call('plan', { sourceId: `folder:${mine}`, intent: { op: 'delete-branch', domain: 'base.qcow2', branch: 'side.qcow2' } });
    expect(planned.ok).toBe(true);
    const id = (planned.value as { plan: { id: string } }).plan.id;
    expect(await call('apply', { planId: id })).toMatchObject({ ok: true, value: { status: 'done' } });
    const journal = join(dir, 'data', 'journal', `${id}.json`);
    const kept = await readFile(journal, 'utf8');
    expect((await call('apply', { planId: id })).error?.code).toBe('E_NOT_FOUND');
    expect(await readFile(journal, 'utf8')).toBe(kept);
  });
});
