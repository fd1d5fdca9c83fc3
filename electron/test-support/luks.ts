/** Makes LUKS-encrypted qcow2 images for tests, with a throwaway secret the app never sees. */
import { execFileSync } from 'node:child_process';

/**
 * Makes the LUKS-encrypted qcow2 image `name` in `cwd` (64 MiB; `extra` adds options such as `-b`/`-F`). QEMU
 * times its key derivation with the thread's CPU time, which on a busy machine often measures nothing ("Unable to
 * get accurate CPU usage", about one try in two under load): it is tried again, after a pause, until it gets past that.
 */
export function makeLuks(cwd: string, name: string, extra: string[] = []): void {
  const args = ['create', '-q', '-f', 'qcow2', '--object', 'secret,id=sec0,data=x', '-o', 'encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=50', ...extra, name, '64M'];
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync('qemu-img', args, { cwd, stdio: 'pipe' });
      return;
    } catch (error) {
      if (attempt >= 60) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100 + Math.random() * 400);
    }
  }
}
