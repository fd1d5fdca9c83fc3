import { afterAll, describe, expect, test } from 'vitest';
import { TEST_URI, virshSync } from '../test-support/lab';
import { openVirsh } from '../tools/virsh';
import { createDemoLab, type DemoLab } from './demo-lab';

const virsh = openVirsh(TEST_URI);
const labs: DemoLab[] = [];

afterAll(async () => {
  for (const lab of labs) await lab.dispose();
  await virsh.close();
});

/** The UUID libvirt reports for a domain name, or null when there is none. */
function uuidOf(name: string): string | null {
  try {
    return virshSync(['domuuid', '--domain', name]).trim();
  } catch {
    return null;
  }
}

describe('the demo lab on a shared libvirt daemon', () => {
  test('a second demo instance takes its own domain and never tears down the first', async () => {
    const first = await createDemoLab(virsh);
    labs.push(first);
    expect(first.domain).toBe(true);
    const firstName = first.sources.find((s) => s.id === 'demo-libvirt')?.focus as string;
    expect(firstName).toMatch(/^snaptree-demo(-\d+)?$/);
    const firstUuid = uuidOf(firstName);
    expect(firstUuid).not.toBeNull();
    const snapshotsBefore = virshSync(['snapshot-list', '--domain', firstName, '--name']);

    const second = await createDemoLab(virsh);
    labs.push(second);
    expect(second.domain).toBe(true);
    const secondName = second.sources.find((s) => s.id === 'demo-libvirt')?.focus as string;
    expect(secondName).not.toBe(firstName);
    // The first is untouched: same UUID, same snapshots.
    expect(uuidOf(firstName)).toBe(firstUuid);
    expect(virshSync(['snapshot-list', '--domain', firstName, '--name'])).toBe(snapshotsBefore);

    await second.dispose();
    labs.pop();
    expect(uuidOf(secondName)).toBeNull();
    expect(uuidOf(firstName)).toBe(firstUuid);

    await first.dispose();
    labs.pop();
    expect(uuidOf(firstName)).toBeNull();
  });
});
