/**
 * A running test VM without a guest OS writes nothing by itself: tests write into its disk vda through QEMU's own
 * block layer (the monitor's qemu-io), and read a chain the VM holds shared (`qemu-io -U -r`).
 */
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import { virshSync } from './lab';

/**
 * Writes `pattern` into the running VM's disk vda, 64 KiB at `offset`, and flushes it: QEMU keeps qcow2 metadata
 * in its cache until a flush, and a file that changes later would look touched by the operation.
 */
export function guestWrite(vm: string, pattern: number, offset: string): void {
  for (const command of [`write -P ${pattern} ${offset} 64k`, 'flush']) {
    const said = virshSync(['qemu-monitor-command', '--domain', vm, '--hmp', `qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend "${command}"`]);
    expect(said).not.toMatch(/error|failed/i);
  }
}

/** Whether `file`, read with its chain while a VM holds it, has `pattern` in the 64 KiB at `offset`. */
export function reads(file: string, pattern: number, offset: string): boolean {
  const run = spawnSync('qemu-io', ['-U', '-r', '-f', 'qcow2', '-c', `read -P ${pattern} ${offset} 64k`, file], { encoding: 'utf8' });
  const said = `${run.stdout}${run.stderr}`;
  if (said.includes('Pattern verification failed')) return false;
  if (run.status !== 0) throw new Error(`qemu-io failed: ${said}`);
  return true;
}

/** The domain's state in virsh's words. */
export const state = (vm: string): string => virshSync(['domstate', '--domain', vm]).trim();
