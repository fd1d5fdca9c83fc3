import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Domain, Layer } from '../../shared/model';
import { TestLab, TEST_URI, qemuImgSync } from '../test-support/lab';
import { openVirsh } from '../tools/virsh';
import { scanFolder } from './scan-folder';
import { scanLibvirt } from './scan-libvirt';
import { engineReader } from '../test-support/readers';

/*
 * One file named as raw by one overlay and as qcow2 by another: QEMU reads it differently through each. The
 * judge is `qemu-img info --backing-chain` of each overlay.
 */
let lab: TestLab;

/** What qemu-img says the base of `overlay` is: its format and virtual size. */
function qemuBase(overlay: string): { format: string; size: number } {
  const infos = JSON.parse(qemuImgSync(['info', '-U', '--backing-chain', '--output=json', '--', overlay])) as Array<{ format: string; 'virtual-size': number }>;
  const base = infos[1] as { format: string; 'virtual-size': number };
  return { format: base.format, size: base['virtual-size'] };
}

beforeEach(async () => {
  lab = await new TestLab().init();
  qemuImgSync(['create', '-q', '-f', 'qcow2', lab.path('base.qcow2'), '12M']);
  qemuImgSync(['create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'raw', lab.path('a.qcow2'), '12M']);
  qemuImgSync(['create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', lab.path('b.qcow2')]);
});

afterEach(async () => {
  await lab.cleanup();
});

function checkBase(layers: Record<string, Layer>, problems: Domain['problems']): void {
  expect(qemuBase(lab.path('b.qcow2'))).toEqual({ format: 'qcow2', size: 12 * 1024 * 1024 });
  expect(qemuBase(lab.path('a.qcow2')).format).toBe('raw');
  expect(layers[lab.path('base.qcow2')]).toMatchObject({ format: 'qcow2', virtualSize: 12 * 1024 * 1024 });
  const conflict = problems.find((p) => p.code === 'format-conflict');
  expect(conflict).toMatchObject({ severity: 'error', path: lab.path('base.qcow2') });
  expect(conflict?.message).toContain(
    `QEMU reads ${lab.path('base.qcow2')} as raw through ${lab.path('a.qcow2')} and as qcow2 through ${lab.path('b.qcow2')}`,
  );
}

describe('a file named with two different backing formats', () => {
  test('in a folder: the layer shows its qcow2 content, and the conflict is an error on its chains', async () => {
    const result = await scanFolder(lab.dir);
    const domain = result.domains.find((d) => d.layers[lab.path('base.qcow2')] !== undefined) as Domain;
    checkBase(domain.layers, domain.problems);
  });

  test('in libvirt: both domains carry the error and show the qcow2 base', async () => {
    const a = await lab.define({ name: 'fa', disks: [{ target: 'vda', file: lab.path('a.qcow2'), format: 'qcow2' }] });
    const b = await lab.define({ name: 'fb', disks: [{ target: 'vda', file: lab.path('b.qcow2'), format: 'qcow2' }] });
    const virsh = openVirsh(TEST_URI);
    try {
      // Either order of reading gives the same answer.
      for (const order of [[a, b], [b, a]]) {
        const result = await scanLibvirt(await engineReader(virsh), { domains: order });
        for (const name of [a, b]) {
          const domain = result.domains.find((d) => d.name === name) as Domain;
          checkBase(domain.layers, domain.problems);
        }
      }
    } finally {
      await virsh.close();
    }
  });
});
