/**
 * Clone of a UEFI machine (OVMF, Debian's `ovmf`) on real images and libvirt: the clone gets its own UEFI variable
 * store, a copy of the source's, and starts in the firmware; the source's store and files keep their bytes.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Engine } from '../engine';
import { backingOf, checksums, diskSource, expectStarts } from '../test-support/checks';
import { applyOk, expectUnchanged, fingerprintOf, planOk, sameBytes } from '../test-support/clone-checks';
import { nvramOfDomain, OVMF_CODE, seedUefi } from '../test-support/clone-domains';
import { TestLab, TEST_URI } from '../test-support/lab';

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

describe('a UEFI domain', () => {
  test('is seen with its variable store, and starts in the firmware', async () => {
    expect(existsSync(OVMF_CODE), `${OVMF_CODE} (Debian package ovmf)`).toBe(true);
    const { vm, nvram } = await seedUefi(lab, 'h4uefi0');
    expect((await engine.scanDomain(source, vm)).nvram).toBe(nvram);
    expectStarts(vm);
  });

  test.each(['linked', 'full'] as const)('a %s clone has its own copy of the variable store, and starts', async (mode) => {
    const { vm, nvram } = await seedUefi(lab, `h4uefi-${mode}`);
    const scanned = await engine.scanDomain(source, vm);
    const state = scanned.snapshots.find((s) => s.name === 's1')?.disks[0]?.stateLayer ?? '';
    const before = await fingerprintOf(scanned);
    const nvramBefore = await checksums([nvram]);
    const clone = `${lab.prefix}h4-uefi-${mode}`;
    lab.adopt(clone);
    const plan = await planOk(engine, source, { op: 'clone', domain: vm, node: { kind: 'snapshot', name: 's1' }, name: clone, mode });
    expect(plan.steps.filter((s) => s.kind === 'copy-nvram')).toHaveLength(1);
    await applyOk(engine, plan);

    const copy = nvramOfDomain(clone);
    expect(copy).not.toBeNull();
    expect(copy).not.toBe(nvram);
    expect(existsSync(copy ?? '')).toBe(true);
    expect(Object.values(await checksums([copy ?? '']))).toEqual(Object.values(nvramBefore));
    // docs/safety.md, rule 8, as for every new file: 0600, owned like what it copies.
    const [made, from] = [await stat(copy ?? ''), await stat(nvram)];
    expect((made.mode & 0o777).toString(8)).toBe('600');
    expect([made.uid, made.gid]).toEqual([from.uid, from.gid]);
    expect((await engine.scanDomain(source, clone)).nvram).toBe(copy);

    const disk = diskSource(clone, 'vda');
    if (mode === 'linked') expect(backingOf(disk)).toBe(state);
    else expect(backingOf(disk)).toBeNull();
    expect(await sameBytes({ path: disk, format: 'qcow2' }, { path: state, format: 'qcow2' })).toBe(true);
    expectStarts(clone);
    // The clone's firmware wrote (if anything) its own store: the source's keeps its bytes, as do its images.
    expect(await checksums([nvram])).toEqual(nvramBefore);
    await expectUnchanged(before, vm);
  });
});
