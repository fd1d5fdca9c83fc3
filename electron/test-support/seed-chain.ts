/** The chain most operation tests start from, on real images and a real domain of a test lab. */
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';
import { diskSource } from './checks';
import type { TestLab } from './lab';

const MiB = 1024 * 1024;

/**
 * Defines `id`: base (4 MiB of 0x10 at 0, 32 MiB in all) → one disk-only snapshot per name in `snapshots`, after each
 * of which the new top layer gets 1 MiB of 0x21+i at (i+1)·4 MiB; so every layer and the tip hold data of their own.
 */
export async function seedChain(lab: TestLab, id: string, snapshots: readonly string[] = ['s1', 's2']): Promise<string> {
  const base = lab.path(`${id}.qcow2`);
  await qemuImgCreate(base, { size: 32 * MiB });
  await writePattern(base, 'qcow2', 0x10, 0, 4 * MiB);
  const vm = await lab.define({ name: id, disks: [{ target: 'vda', file: base, format: 'qcow2' }] });
  for (const [i, snap] of snapshots.entries()) {
    lab.snapshot(vm, snap);
    await writePattern(diskSource(vm, 'vda'), 'qcow2', 0x21 + i, (i + 1) * 4 * MiB, MiB);
  }
  return vm;
}

/**
 * Defines `id` on a base image holding 384 MiB of 0x5a (512 MiB in all), with one disk-only snapshot s1 over it: a
 * compressed copy of s1 takes a few seconds, long enough to be stopped mid-way.
 */
export async function seedSlowCopy(lab: TestLab, id: string): Promise<string> {
  const file = lab.path(`${id}.qcow2`);
  await qemuImgCreate(file, { size: 512 * MiB });
  await writePattern(file, 'qcow2', 0x5a, 0, 384 * MiB);
  const vm = await lab.define({ name: id, disks: [{ target: 'vda', file, format: 'qcow2' }] });
  lab.snapshot(vm, 's1');
  return vm;
}
