/**
 * A UEFI machine whose firmware libvirt chooses (`<os firmware='efi'>`, no `<nvram>` in its definition): libvirt
 * keeps its variable store at the default place once it has started. The scan reports that store, the clone copies
 * it and names its copy in its definition, and starts on it. Real libvirt, qemu-img and OVMF (Debian's `ovmf`).
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Engine } from '../engine';
import { buildDomainXml } from '../lab/domain-xml';
import { qemuImgCreate } from '../tools/qemu-img';
import { checksums, expectStarts } from '../test-support/checks';
import { applyOk, planOk } from '../test-support/clone-checks';
import { nvramOfDomain, OVMF_CODE } from '../test-support/clone-domains';
import { TestLab, TEST_URI, virshSync } from '../test-support/lab';

const source = { kind: 'libvirt' as const, uri: TEST_URI };
const NVRAM_DIR = '/var/lib/libvirt/qemu/nvram';
let lab: TestLab;
let engine: Engine;
/** The variable stores libvirt and the clone made for this run's domains, removed at the end. */
const made: string[] = [];

beforeAll(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve' });
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
  for (const path of made) await rm(path, { force: true });
});

/** A domain booting the firmware libvirt picks (no secure boot: this host has no SMM), with one disk and snapshot s1. */
async function seedAutoEfi(id: string): Promise<string> {
  const base = lab.path(`${id}.qcow2`);
  await qemuImgCreate(base, { size: 32 * 1024 * 1024 });
  const os = `<os firmware='efi'>
    <type arch='x86_64'>hvm</type>
    <firmware><feature enabled='no' name='secure-boot'/><feature enabled='no' name='enrolled-keys'/></firmware>
  </os>
  <features><acpi/></features>`;
  const xml = buildDomainXml({ name: lab.prefix + id, disks: [{ target: 'vda', file: base, format: 'qcow2' }] }).replace("<os><type arch='x86_64'>hvm</type></os>", os);
  const vm = await lab.defineXml(id, xml);
  made.push(`${NVRAM_DIR}/${vm}_VARS.fd`);
  lab.snapshot(vm, 's1');
  return vm;
}

describe('a UEFI domain whose firmware libvirt chooses', () => {
  test('started once, its default variable store is scanned, copied by a clone and named in its definition', async () => {
    expect(existsSync(OVMF_CODE), `${OVMF_CODE} (Debian package ovmf)`).toBe(true);
    const vm = await seedAutoEfi('f1-autoefi');
    const store = `${NVRAM_DIR}/${vm}_VARS.fd`;
    expect(nvramOfDomain(vm)).toBeNull();
    // Never started: libvirt has made no store yet.
    expect((await engine.scanDomain(source, vm)).nvram).toBeUndefined();

    virshSync(['start', '--domain', vm]);
    try {
      // Running: the live definition names the store.
      expect((await engine.scanDomain(source, vm)).nvram).toBe(store);
    } finally {
      virshSync(['destroy', '--domain', vm]);
    }
    expect(existsSync(store)).toBe(true);
    expect((await engine.scanDomain(source, vm)).nvram).toBe(store);

    const clone = `${lab.prefix}f1-autoefi-clone`;
    lab.adopt(clone);
    made.push(`${NVRAM_DIR}/${clone}_VARS.fd`);
    const plan = await planOk(engine, source, { op: 'clone', domain: vm, node: { kind: 'snapshot', name: 's1' }, name: clone, mode: 'linked' });
    expect(plan.steps.filter((s) => s.kind === 'copy-nvram').map((s) => (s.kind === 'copy-nvram' ? s.path : ''))).toEqual([store]);
    await applyOk(engine, plan);

    const copy = nvramOfDomain(clone);
    expect(copy).toBe(`${NVRAM_DIR}/${clone}_VARS.fd`);
    expect(Object.values(await checksums([copy ?? '']))).toEqual(Object.values(await checksums([store])));
    expect((await engine.scanDomain(source, clone)).nvram).toBe(copy);
    expectStarts(clone);
  });
});
