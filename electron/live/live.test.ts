import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EngineEvent } from '../../shared/contract';
import { Engine } from '../engine';
import { qemuImgSync, TestLab, TEST_URI, virshSync } from '../test-support/lab';

const run = promisify(execFile);

/** This run's domains go by a prefix of their own, so the events of other tests' domains are told apart. */
class LiveLab extends TestLab {
  override readonly prefix = `snaptree-live-${process.pid}-`;
}

/** Resolves with the first event `accept` takes and how long after the call it came; fails after `ms`. */
function nextEvent(engine: Engine, accept: (e: EngineEvent) => boolean, ms = 5000): Promise<{ event: EngineEvent; afterMs: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no event within ${ms} ms`));
    }, ms);
    const stop = engine.subscribe((event) => {
      if (!accept(event)) return;
      clearTimeout(timer);
      stop();
      resolve({ event, afterMs: Date.now() - started });
    });
  });
}

const changed = (sourceId: string, key: 'domain' | 'folder', value: string) => (e: EngineEvent) =>
  e.type === 'source-changed' && e.sourceId === sourceId && e[key] === value;

describe('the live picture of a libvirt connection', () => {
  let lab: LiveLab;
  let engine: Engine;
  let domain: string;
  let unsubscribe: () => void;
  const sourceId = `libvirt:${TEST_URI}`;

  beforeAll(async () => {
    lab = await new LiveLab().init();
    process.env.SNAPTREE_DATA_DIR = lab.path('data');
    qemuImgSync(['create', '-q', '-f', 'qcow2', lab.path('disk.qcow2'), '16M']);
    domain = await lab.define({ name: 'vm', disks: [{ target: 'vda', file: lab.path('disk.qcow2'), format: 'qcow2' }] });
    engine = new Engine({ host: 'serve', sources: [{ id: sourceId, label: 'here', source: { kind: 'libvirt', uri: TEST_URI }, demo: false }] });
    // Someone listening is what starts the watchers.
    unsubscribe = engine.subscribe(() => undefined);
    await engine.liveReady();
  });

  afterAll(async () => {
    unsubscribe();
    await engine.close();
    await lab.cleanup();
  });

  test('a snapshot taken with plain virsh is announced within 2 s, and the domain scanned again holds it', async () => {
    const event = nextEvent(engine, changed(sourceId, 'domain', domain));
    await run('virsh', ['-q', '-c', TEST_URI, 'snapshot-create-as', '--domain', domain, '--name', 'outside', '--disk-only', '--atomic']);
    const { afterMs } = await event;
    console.log(`snapshot-create-as → source-changed: ${afterMs} ms after virsh returned`);
    expect(afterMs).toBeLessThan(2000);
    const scanned = await engine.scanDomain({ kind: 'libvirt', uri: TEST_URI }, domain);
    expect(scanned.snapshots.map((s) => s.name)).toEqual(['outside']);
  });

  test('a snapshot whose metadata alone is deleted (no event, no file change) is found by the fingerprint within 2 s', async () => {
    const event = nextEvent(engine, changed(sourceId, 'domain', domain));
    await run('virsh', ['-q', '-c', TEST_URI, 'snapshot-delete', '--domain', domain, '--snapshotname', 'outside', '--metadata']);
    const { afterMs } = await event;
    console.log(`snapshot-delete --metadata → source-changed: ${afterMs} ms`);
    expect(afterMs).toBeLessThan(2000);
    expect((await engine.scanDomain({ kind: 'libvirt', uri: TEST_URI }, domain)).snapshots).toEqual([]);
  });

  test('a domain defined and removed elsewhere is announced, by name', async () => {
    const added = nextEvent(engine, changed(sourceId, 'domain', `${lab.prefix}other`));
    qemuImgSync(['create', '-q', '-f', 'qcow2', lab.path('other.qcow2'), '16M']);
    const other = await lab.define({ name: 'other', disks: [{ target: 'vda', file: lab.path('other.qcow2'), format: 'qcow2' }] });
    expect((await added).afterMs).toBeLessThan(2000);
    const removed = nextEvent(engine, changed(sourceId, 'domain', other));
    virshSync(['undefine', '--domain', other]);
    expect((await removed).afterMs).toBeLessThan(2000);
    // Gone is said once: libvirt's event, the poll and the folder watch that see it after are not announced again.
    let again = 0;
    const stop = engine.subscribe((e) => {
      if (changed(sourceId, 'domain', other)(e)) again += 1;
    });
    await new Promise((r) => setTimeout(r, 3500));
    stop();
    expect(again).toBe(0);
  });
});

/** The `virsh event` processes this test process started. */
async function eventProcesses(): Promise<number> {
  const { stdout } = await run('ps', ['-o', 'args=', '--ppid', String(process.pid)]).catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter((line) => line.includes('virsh') && line.includes(' event --all --loop')).length;
}

test('virsh event runs only while someone listens', async () => {
  const engine = new Engine({ host: 'serve', sources: [{ id: 'x', label: 'x', source: { kind: 'libvirt', uri: TEST_URI }, demo: false }] });
  try {
    expect(await eventProcesses()).toBe(0);
    const first = engine.subscribe(() => undefined);
    const second = engine.subscribe(() => undefined);
    await engine.liveReady();
    expect(await eventProcesses()).toBe(1);
    first();
    expect(await eventProcesses()).toBe(1);
    second();
    await engine.liveReady();
    await new Promise((r) => setTimeout(r, 200));
    expect(await eventProcesses()).toBe(0);
  } finally {
    await engine.close();
  }
});

describe('the live picture of an image folder', () => {
  let dir: string;
  let engine: Engine;
  let unsubscribe: () => void;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `snaptree-live-${process.pid}-`));
    process.env.SNAPTREE_DATA_DIR = join(dir, '.data');
    qemuImgSync(['create', '-q', '-f', 'qcow2', join(dir, 'base.qcow2'), '16M']);
    engine = new Engine({ host: 'serve', sources: [{ id: 'f', label: 'f', source: { kind: 'folder', path: dir }, demo: false }] });
    unsubscribe = engine.subscribe(() => undefined);
    await engine.liveReady();
  });

  afterAll(async () => {
    unsubscribe();
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('an overlay made with qemu-img create -b is announced within 2 s, and the folder scanned again shows it', async () => {
    const event = nextEvent(engine, changed('f', 'folder', dir));
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(dir, 'base.qcow2'), '-F', 'qcow2', join(dir, 'top.qcow2')]);
    const { afterMs } = await event;
    console.log(`qemu-img create -b → source-changed: ${afterMs} ms`);
    expect(afterMs).toBeLessThan(2000);
    const scan = await engine.scan({ kind: 'folder', path: dir });
    expect(scan.domains.flatMap((d) => Object.keys(d.layers))).toContain(join(dir, 'top.qcow2'));
  });

  test('nothing is announced when nothing the scan shows changed', async () => {
    const event = nextEvent(engine, changed('f', 'folder', dir), 1500);
    await run('touch', [join(dir, 'notes.txt.tmp')]).catch(() => undefined);
    await rm(join(dir, 'notes.txt.tmp'), { force: true });
    await expect(event).rejects.toThrow(/no event/);
  });
});
