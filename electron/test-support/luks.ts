/** Makes LUKS-encrypted qcow2 images for tests, with a throwaway secret the app never sees. */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SECRET = ['--object', 'secret,id=sec0,data=x'];
let template: string | null = null;

/**
 * One encrypted 64 MiB qcow2 image per test process, made once. QEMU times its key derivation when it creates a
 * LUKS header, with the thread's CPU time, which on a busy machine often measures nothing ("Unable to get accurate
 * CPU usage"): creating is tried until it gets past that. Opening an existing header times nothing.
 */
function luksTemplate(): string {
  if (template !== null) return template;
  const dir = mkdtempSync(join(tmpdir(), 'snaptree-luks-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'template.qcow2');
  const args = ['create', '-q', '-f', 'qcow2', ...SECRET, '-o', 'encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=50', path, '64M'];
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync('qemu-img', args, { stdio: 'pipe' });
      template = path;
      return path;
    } catch (error) {
      if (attempt >= 60) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100 + Math.random() * 400);
    }
  }
}

/**
 * Makes the LUKS-encrypted qcow2 image `name` in `cwd` (64 MiB; `backing` such as `['-b', 'base.qcow2', '-F',
 * 'qcow2']` is written into its header the way `qemu-img rebase -u` writes it, unlocked with the secret).
 */
export function makeLuks(cwd: string, name: string, backing: string[] = []): void {
  const path = join(cwd, name);
  copyFileSync(luksTemplate(), path);
  if (backing.length > 0) execFileSync('qemu-img', ['rebase', '-u', ...backing, ...SECRET, '--image-opts', `driver=qcow2,file.filename=${path},encrypt.key-secret=sec0`], { cwd, stdio: 'pipe' });
}
