/**
 * A throwaway lab for engine tests: a temp folder of images and libvirt domains with a unique name prefix,
 * all removed by `cleanup()`. It calls virsh and qemu-img directly, not through the adapters under test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDomainXml, type LabDomain } from '../lab/domain-xml';

export const TEST_URI = process.env.SNAPTREE_TEST_URI ?? 'qemu:///system';

export function virshSync(args: string[]): string {
  return execFileSync('virsh', ['-q', '-c', TEST_URI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function qemuImgSync(args: string[]): string {
  return execFileSync('qemu-img', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export class TestLab {
  readonly prefix = `snaptree-t${process.pid}-${Math.random().toString(36).slice(2, 7)}-`;
  private readonly defined: string[] = [];
  dir = '';

  async init(): Promise<this> {
    this.dir = await mkdtemp(join(tmpdir(), 'snaptree-lab-'));
    return this;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Defines a domain named prefix + `name`; returns the full name. */
  async define(domain: LabDomain): Promise<string> {
    const name = this.prefix + domain.name;
    const file = this.path(`${domain.name.replace(/[^\w.-]/g, '_')}.xml`);
    await writeFile(file, buildDomainXml({ ...domain, name }));
    virshSync(['define', '--file', file]);
    this.defined.push(name);
    return name;
  }

  /** Defines a domain from a whole definition `xml` (named prefix + `name` inside it); returns the full name. */
  async defineXml(name: string, xml: string): Promise<string> {
    const full = this.prefix + name;
    const file = this.path(`${name.replace(/[^\w.-]/g, '_')}.xml`);
    await writeFile(file, xml);
    virshSync(['define', '--file', file]);
    this.defined.push(full);
    return full;
  }

  /** Takes a domain this run made some other way (a clone the engine defined) into the cleanup. */
  adopt(name: string): void {
    if (!name.startsWith(this.prefix)) throw new Error(`${name} is not a domain of this lab`);
    if (!this.defined.includes(name)) this.defined.push(name);
  }

  /** Takes an external disk-only snapshot with libvirt's default overlay names. */
  snapshot(domain: string, snapshot: string, extra: string[] = []): void {
    virshSync(['snapshot-create-as', '--domain', domain, '--name', snapshot, '--disk-only', '--atomic', ...extra]);
  }

  async cleanup(): Promise<void> {
    for (const name of this.defined) {
      try {
        virshSync(['destroy', '--domain', name]);
      } catch {
        // Not running: nothing to stop.
      }
      try {
        virshSync(['undefine', '--domain', name, '--snapshots-metadata']);
      } catch {
        // Already gone, or a UEFI domain, which libvirt undefines only when told what to do with its variable
        // store: it is kept, in the lab's folder that goes below.
        try {
          virshSync(['undefine', '--domain', name, '--snapshots-metadata', '--keep-nvram']);
        } catch {
          // Already gone.
        }
      }
    }
    if (this.dir !== '') await rm(this.dir, { recursive: true, force: true });
  }
}
