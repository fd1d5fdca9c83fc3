/**
 * The second hypervisor of the tests (scripts/test-host.sh): a chroot with libvirt 11 reached over SSH as
 * `snaptree-test-host`. Helpers here reach it directly with ssh and virsh, not through the adapters under test.
 */
import { execFileSync } from 'node:child_process';

export const TEST_HOST = 'snaptree-test-host';
export const TEST_HOST_URI = `qemu+ssh://${TEST_HOST}/system`;
/** The same host, offering a key it refuses. */
export const STRANGER_HOST = `${TEST_HOST}-stranger`;

/** Throws, saying how to start it, unless the test host answers. */
export function requireTestHost(): void {
  try {
    execFileSync('virsh', ['-q', '-c', TEST_HOST_URI, 'version'], { stdio: 'ignore', timeout: 30_000 });
  } catch {
    throw new Error(`The test host does not answer on ${TEST_HOST_URI}: start it with "sudo bash scripts/test-host.sh start" (npm test does).`);
  }
}

/** Runs a shell command line on the test host through plain ssh; returns its stdout. */
export function onTestHost(command: string): string {
  return execFileSync('ssh', ['-o', 'BatchMode=yes', TEST_HOST, command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}
