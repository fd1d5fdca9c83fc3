/**
 * The health check after the app's own operations: a file an operation committed into is not reported as
 * "written after" what builds on it, as long as nothing else wrote it since (acks.ts, check.ts).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Engine } from '../engine';
import { applyChecked, diskSource } from '../test-support/checks';
import { TestLab, TEST_URI } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';

const MiB = 1024 * 1024;
const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;

beforeAll(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve' });
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
});

describe('health after the app\u2019s own writes', () => {
  test('deleting a middle snapshot commits into its saved state, and the check says nothing of it; another write is reported', async () => {
    const base = lab.path('own.qcow2');
    await qemuImgCreate(base, { size: 32 * MiB });
    const vm = await lab.define({ name: 'own', disks: [{ target: 'vda', file: base, format: 'qcow2' }] });
    for (const [i, snap] of ['s1', 's2', 's3'].entries()) {
      lab.snapshot(vm, snap);
      await writePattern(diskSource(vm, 'vda'), 'qcow2', 0x21 + i, i * 4 * MiB, MiB);
    }
    // Past the slack a check allows between making an overlay and writing what it builds on.
    await new Promise((r) => setTimeout(r, 2500));
    await applyChecked(engine, source, { op: 'delete-snapshot', domain: vm, snapshot: 's2' });
    const [report] = await engine.check(source, vm);
    const written = report?.layers.filter((l) => l.ownWrite !== undefined) ?? [];
    expect(written.length).toBeGreaterThan(0);
    expect(written[0]?.ownWrite?.op).toBe('delete-snapshot');
    expect(report?.layers.flatMap((l) => l.findings)).toEqual([]);
    expect(report?.healthy).toBe(true);
    // Without the record, the same files are what the check warned of before.
    await rm(join(lab.path('data'), 'own-writes'), { recursive: true });
    const [bare] = await engine.check(source, vm);
    expect(bare?.layers.flatMap((l) => l.writtenAfter).length).toBeGreaterThan(0);
  });
});
