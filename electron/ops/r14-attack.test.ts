/**
 * Attacks on fold-commit, edit-description, acknowledgements and thumbnails with real qemu-img and virsh
 * (docs/safety.md, SECURITY.md): hostile text, shared backing files, foreign overlays, bad API input.
 */
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { handleApiCall } from '../api-handler';
import { Engine } from '../engine';
import { diskSource } from '../test-support/checks';
import { TestLab, TEST_URI } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';

const MiB = 1024 * 1024;
const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;
let run = 0;

/** base → s1 → s2, data in every layer and in the tip. */
async function seed(): Promise<string> {
  const id = `r14a${++run}`;
  const base = lab.path(`${id}.qcow2`);
  await qemuImgCreate(base, { size: 32 * MiB });
  await writePattern(base, 'qcow2', 0x10, 0, 4 * MiB);
  const vm = await lab.define({ name: id, disks: [{ target: 'vda', file: base, format: 'qcow2' }] });
  for (const [i, snap] of ['s1', 's2'].entries()) {
    lab.snapshot(vm, snap);
    await writePattern(diskSource(vm, 'vda'), 'qcow2', 0x21 + i, (i + 1) * 4 * MiB, MiB);
  }
  return vm;
}

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

