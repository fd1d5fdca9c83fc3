import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Domain } from '../../shared/model';
import { TestLab, TEST_URI, qemuImgSync, virshSync } from '../test-support/lab';
import { openVirsh, type Virsh } from '../tools/virsh';
import { scanLibvirt } from './scan-libvirt';
import { engineReader } from '../test-support/readers';

/*
 * libvirt 9.0 keeps a `<backingStore>` the user writes in the inactive definition and hands that chain to QEMU
 * with -blockdev; an empty `<backingStore/>` means "no backing"; none at all means libvirt reads the headers.
 * The judge is the running VM's own `info block -v`.
 */
let lab: TestLab;
let virsh: Virsh;

/** The chain the running VM reads for its first disk, top first, as real paths (`info block -v`). */
function vmChain(domain: string): string[] {
  const out = virshSync(['qemu-monitor-command', '--domain', domain, '--hmp', 'info block -v']);
  return [...out.matchAll(/^image: (.*)$/gm)].map((m) => {
    const name = m[1] as string;
    const file = name.startsWith('json:') ? (JSON.parse(name.slice(5)) as { file: { filename: string } }).file.filename : name;
    return realpathSync(file);
  });
}

/** Redefines a lab domain with `store` written after the first disk's `<source>`. */
async function withBackingStore(domain: string, store: string): Promise<void> {
  const xml = virshSync(['dumpxml', '--domain', domain, '--inactive']).replace(/(<source file=[^>]*\/>)/, `$1${store}`);
  const file = lab.path(`${domain}.xml`);
  await writeFile(file, xml);
  virshSync(['define', '--file', file]);
}

const fileStore = (file: string, rest = '<backingStore/>'): string =>
  `<backingStore type='file'><format type='qcow2'/><source file='${file}'/>${rest}</backingStore>`;

async function scanOne(name: string): Promise<Domain> {
  const result = await scanLibvirt(await engineReader(virsh), { domains: [name] });
  return result.domains[0] as Domain;
}

async function setUp(name: string, top: string, store: string): Promise<string> {
  const domain = await lab.define({ name, disks: [{ target: 'vda', file: lab.path(top), format: 'qcow2' }] });
  await withBackingStore(domain, store);
  return domain;
}

beforeAll(async () => {
  lab = await new TestLab().init();
  virsh = openVirsh(TEST_URI);
  for (const [file, size] of [['hbase.qcow2', '32M'], ['xbase.qcow2', '48M'], ['lone.qcow2', '16M'], ['lone2.qcow2', '16M']] as const) {
    qemuImgSync(['create', '-q', '-f', 'qcow2', lab.path(file), size]);
  }
  for (const top of ['top.qcow2', 'same.qcow2', 'cut.qcow2', 'xmid.qcow2']) {
    qemuImgSync(['create', '-q', '-f', 'qcow2', '-b', lab.path('hbase.qcow2'), '-F', 'qcow2', lab.path(top)]);
  }
});

afterAll(async () => {
  await virsh?.close();
  await lab?.cleanup();
});

describe('a domain whose definition states a <backingStore>', () => {
  test('the graph shows the chain the VM reads, and a header naming another base is an error, shut off and running', async () => {
    const name = await setUp('xbase', 'top.qcow2', fileStore(lab.path('xbase.qcow2')));
    const expected = [lab.path('top.qcow2'), lab.path('xbase.qcow2')];
    for (const state of ['shut off', 'running']) {
      if (state === 'running') {
        virshSync(['start', '--domain', name]);
        expect(vmChain(name)).toEqual(expected);
      }
      const domain = await scanOne(name);
      expect(domain.state).toBe(state);
      expect(domain.disks[0]?.chain).toEqual(expected);
      const problem = domain.problems.find((p) => p.code === 'backing-mismatch');
      expect(problem).toMatchObject({ severity: 'error', target: 'vda' });
      expect(problem?.message).toContain(`the VM reads ${lab.path('xbase.qcow2')} as the base of ${lab.path('top.qcow2')} (the domain's <backingStore>)`);
      expect(problem?.message).toContain(`header names ${lab.path('hbase.qcow2')}`);
      expect(problem?.message).toContain(`qemu-img rebase -u -F qcow2 -b ${lab.path('xbase.qcow2')} ${lab.path('top.qcow2')}`);
      expect(domain.layers[lab.path('xbase.qcow2')]?.virtualSize).toBe(48 * 1024 * 1024);
    }
    virshSync(['destroy', '--domain', name]);
  });

  test('a <backingStore> that agrees with the headers is no problem', async () => {
    const name = await setUp('same', 'same.qcow2', fileStore(lab.path('hbase.qcow2')));
    const domain = await scanOne(name);
    expect(domain.disks[0]?.chain).toEqual([lab.path('same.qcow2'), lab.path('hbase.qcow2')]);
    expect(domain.problems.filter((p) => p.code === 'backing-mismatch')).toEqual([]);
  });

  test('an empty <backingStore/> means the VM reads the image with no base at all', async () => {
    const name = await setUp('cut', 'cut.qcow2', '<backingStore/>');
    virshSync(['start', '--domain', name]);
    expect(vmChain(name)).toEqual([lab.path('cut.qcow2')]);
    const domain = await scanOne(name);
    virshSync(['destroy', '--domain', name]);
    expect(domain.disks[0]?.chain).toEqual([lab.path('cut.qcow2')]);
    expect(domain.problems.find((p) => p.code === 'backing-mismatch')).toMatchObject({ severity: 'error' });
  });

  test('a <backingStore> left open continues with the headers of its last level', async () => {
    const name = await setUp('open', 'lone.qcow2', fileStore(lab.path('xmid.qcow2'), ''));
    virshSync(['start', '--domain', name]);
    const expected = [lab.path('lone.qcow2'), lab.path('xmid.qcow2'), lab.path('hbase.qcow2')];
    expect(vmChain(name)).toEqual(expected);
    const domain = await scanOne(name);
    virshSync(['destroy', '--domain', name]);
    expect(domain.disks[0]?.chain).toEqual(expected);
    // lone.qcow2's header names no base: qemu-img would see a lone image.
    expect(domain.problems.find((p) => p.code === 'backing-mismatch')?.message).toMatch(/header names no backing file/);
  });

  test('without a <backingStore> the VM reads the headers, running or not, and nothing is reported', async () => {
    const name = await lab.define({ name: 'plain', disks: [{ target: 'vda', file: lab.path('lone2.qcow2'), format: 'qcow2' }] });
    virshSync(['start', '--domain', name]);
    expect(vmChain(name)).toEqual([lab.path('lone2.qcow2')]);
    const domain = await scanOne(name);
    virshSync(['destroy', '--domain', name]);
    expect(domain.disks[0]?.chain).toEqual([lab.path('lone2.qcow2')]);
    expect(domain.problems).toEqual([]);
  });
});
