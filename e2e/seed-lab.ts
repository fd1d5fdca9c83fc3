/**
 * The seed lab of the browser tests on real libvirt: `serve --connect qemu:///system` with its own data folder, and
 * seed domains (base → snap1 → snap2 → snap3, data written in every layer and in the current state) under a prefix
 * of the test file's own. Everything the file made is removed when it is done (a domain it started stopped first);
 * nothing else on the daemon is touched.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, stop, test } from './fixtures';

export const URI = 'qemu:///system';
export const MiB = 1024 * 1024;

export const virsh = (...args: string[]) => execFileSync('virsh', ['-q', '-c', URI, ...args], { encoding: 'utf8' });
export const img = (...args: string[]) => execFileSync('qemu-img', args, { encoding: 'utf8' });
/** Writes `length` bytes of `pattern` at `offset` into a qcow2 file, as a guest would. */
export const write = (file: string, pattern: number, offset: number, length = MiB) => execFileSync('qemu-io', ['-f', 'qcow2', '-c', `write -P ${pattern} ${offset} ${length}`, file]);

/** The file the domain's first disk is on. */
export function diskSource(domain: string): string {
  const xml = virsh('dumpxml', '--domain', domain, '--inactive');
  return /<source file='([^']+)'/.exec(xml)?.[1] ?? '';
}

export interface SeedLab {
  /** The lab's folder (images, XML, the app's data folder). */
  readonly dir: string;
  /** The app's URL with its token. */
  readonly url: string;
  /** Defines `<prefix><name>`: base (4 MiB of pattern 16 at 0) → snap1 → snap2 → snap3, layer i holding 1 MiB of 33+i at (i+1)·4 MiB. */
  buildSeed(name: string): string;
}

/** Starts the lab before the file's tests and removes it after them; `tag` names its domains (`snaptree-<tag>-<pid>-…`). */
export function seedLab(tag: string): SeedLab {
  const prefix = `snaptree-${tag}-${process.pid}-`;
  let dir = '';
  let url = '';
  let server: ChildProcess | undefined;
  test.beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `snaptree-${tag}-`));
    ({ child: server, server: { url } } = await startServe(['--connect', URI], { SNAPTREE_DATA_DIR: join(dir, 'data') }));
  });
  test.afterAll(async () => {
    if (server) await stop(server);
    for (const domain of virsh('list', '--all', '--name').split('\n').filter((n) => n.startsWith(prefix))) {
      // A running domain undefined would go on as a transient one, on files the lab's folder no longer holds.
      if (virsh('domstate', '--domain', domain).trim() !== 'shut off') virsh('destroy', '--domain', domain);
      virsh('undefine', '--domain', domain, '--snapshots-metadata');
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    get url() {
      return url;
    },
    buildSeed(name) {
      const domain = prefix + name;
      const base = join(dir, `${name}.qcow2`);
      img('create', '-q', '-f', 'qcow2', base, String(64 * MiB));
      write(base, 16, 0, 4 * MiB);
      const xml = join(dir, `${name}.xml`);
      writeFileSync(
        xml,
        `<domain type='qemu'><name>${domain}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${base}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`,
      );
      virsh('define', '--file', xml);
      for (const [i, snap] of ['snap1', 'snap2', 'snap3'].entries()) {
        virsh('snapshot-create-as', '--domain', domain, '--name', snap, '--disk-only', '--atomic');
        write(diskSource(domain), 33 + i, (i + 1) * 4 * MiB);
      }
      return domain;
    },
  };
}
