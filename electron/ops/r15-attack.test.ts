/**
 * A reviewer's attacks on clone and export, on real images and real libvirt domains (docs/safety.md, rules 6 and
 * 12): a clone never writes a file of its source (its serial and console logs are its own, as virt-clone makes
 * them, in folders no other user can change, its VM generation ID is new, and a branch that lacks a disk the domain has now is not cloned with the
 * source's own disk, nor one that has a disk the domain no longer has), a UEFI VM that never booted is cloned all
 * the same, as is one whose store libvirt names in `<nvram><source file>`, a clone
 * name virsh would read as another domain's id or UUID is refused, and a new file's name the file system cannot
 * hold is refused at planning with a clear error, before anything runs. Every operation on the source keeps the
 * bytes of a linked clone and of a domain made with virsh alone on the source's files (rules 1–3).
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Intent } from '../../shared/ops/plan';
import { Engine } from '../engine';
import { applyOk, definitionOf, planOk, rawView, sameBytes, stoppedWith } from '../test-support/clone-checks';
import { qemuImgSync, TestLab, TEST_URI, virshSync } from '../test-support/lab';
import { domainExists, seedTwoDisks } from '../test-support/clone-domains';
import { seedChain } from '../test-support/seed-chain';
import { cloneDomainXml } from './xml-edit';

const source = { kind: 'libvirt' as const, uri: TEST_URI };

/** The lab of this file, its domains named `snaptree-r15a-<pid>-…`. */
class AttackLab extends TestLab {
  override readonly prefix = `snaptree-r15a-${process.pid}-`;
}

let lab: AttackLab;
let engine: Engine;

beforeAll(async () => {
  lab = await new AttackLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve' });
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
});

/** A domain with one qcow2 disk and a serial port logging to a file, mirrored by its console (`extra` after its name); one snapshot s1. */
async function seedWithSerialLog(id: string, extra = ''): Promise<{ vm: string; log: string }> {
  const disk = lab.path(`${id}.qcow2`);
  const log = lab.path(`${id}-serial.log`);
  qemuImgSync(['create', '-q', '-f', 'qcow2', '--', disk, '16M']);
  const vm = await lab.defineXml(
    id,
    `<domain type='qemu'><name>${lab.prefix}${id}</name>${extra}<memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>
<devices>
  <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>
  <serial type='file'><source path='${log}'/><target port='0'/></serial>
  <console type='file'><source path='${log}'/><target type='serial' port='0'/></console>
</devices></domain>`,
  );
  lab.snapshot(vm, 's1');
  return { vm, log };
}

/** The files the serial ports and consoles of `xml` log to. */
function logFilesOf(xml: string): string[] {
  return [...xml.matchAll(/<(?:serial|console)[^>]*>\s*<source path='([^']+)'/g)].map((m) => m[1] ?? '');
}

describe("a clone writes none of its source's files", () => {
  test('its serial and console log to files of its own: starting it leaves the source\'s log as it is', async () => {
    const { vm, log } = await seedWithSerialLog('serial');
    await writeFile(log, "the source's log\n");
    const name = `${lab.prefix}serial-clone`;
    lab.adopt(name);
    await applyOk(engine, await planOk(engine, source, { op: 'clone', domain: vm, node: { kind: 'snapshot', name: 's1' }, name, mode: 'linked', start: true }));
    const logs = logFilesOf(definitionOf(name));
    expect(logs).toHaveLength(2);
    expect(logs[0]).toBe(logs[1]);
    expect(logs).not.toContain(log);
    virshSync(['destroy', '--domain', name]);
    expect(await readFile(log, 'utf8')).toBe("the source's log\n");
    expect(logFilesOf(definitionOf(vm))).toEqual([log, log]);
  });

  test('its log goes in no folder others can write: there a link planted at its new name would be followed as root', async () => {
    const open = lab.path('open-logs');
    await mkdir(open);
    await chmod(open, 0o1777);
    const disk = lab.path('openlog.qcow2');
    qemuImgSync(['create', '-q', '-f', 'qcow2', '--', disk, '16M']);
    const log = `${open}/openlog.log`;
    const vm = await lab.defineXml(
      'openlog',
      `<domain type='qemu'><name>${lab.prefix}openlog</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>
<serial type='file'><source path='${log}'/><target port='0'/></serial></devices></domain>`,
    );
    lab.snapshot(vm, 's1');
    const name = `${lab.prefix}openlog-clone`;
    lab.adopt(name);
    const said = await stoppedWith(engine, source, { op: 'clone', domain: vm, node: { kind: 'snapshot', name: 's1' }, name, mode: 'linked' });
    expect(said).toMatch(/^E_NOT_SUPPORTED: .*open-logs/);
    expect(domainExists(name)).toBe(false);
    expect(await readdir(open)).toEqual([]);
  });

  test('its VM generation ID is a new one, as its UUID is: the guest knows it is a copy', async () => {
    const { vm } = await seedWithSerialLog('genid', "<genid>11111111-2222-4333-8444-555555555555</genid>");
    const name = `${lab.prefix}genid-clone`;
    lab.adopt(name);
    await applyOk(engine, await planOk(engine, source, { op: 'clone', domain: vm, node: { kind: 'snapshot', name: 's1' }, name, mode: 'linked' }));
    const genid = /<genid>([^<]+)<\/genid>/.exec(definitionOf(name))?.[1];
    expect(genid).toMatch(/^[0-9a-f-]{36}$/);
    expect(genid).not.toBe('11111111-2222-4333-8444-555555555555');
    expect(definitionOf(vm)).toContain('<genid>11111111-2222-4333-8444-555555555555</genid>');
  });

  test('a log named after the source is named after the clone; another gets the clone\'s name added, and a virtlogd log too', () => {
    const xml = `<domain><name>vm</name><devices>
      <serial type='file'><source path='/var/log/vm.log'/><target port='0'/></serial>
      <serial type='file'><source path='/var/log/ports/second.log'/><target port='1'/></serial>
      <serial type='pty'><log file='/var/log/vm-pty' append='on'/><target port='2'/></serial>
      <channel type='file'><source path='/srv/ch'/><target type='virtio' name='x.0'/></channel>
    </devices></domain>`;
    const out = cloneDomainXml(xml, { name: 'copy', disks: {}, nvram: null, record: { domain: 'vm', node: { kind: 'snapshot', name: 's' }, operation: 'op' } });
    expect(out).toContain("path=\"/var/log/copy.log\"");
    expect(out).toContain("path=\"/var/log/ports/second-copy.log\"");
    expect(out).toContain("file=\"/var/log/vm-pty-copy\"");
    expect(out).toContain("path=\"/srv/ch-copy\"");
    expect(out).not.toMatch(/"\/var\/log\/vm\.log"|"\/var\/log\/ports\/second\.log"|"\/var\/log\/vm-pty"|"\/srv\/ch"/);
  });
});

describe('a UEFI domain that never booted (libvirt has not made its variable store yet)', () => {
  test('is cloned: the clone names a store of its own, which libvirt makes from the template at its first start', async () => {
    const disk = lab.path('fresh-uefi.qcow2');
    const store = lab.path('fresh-uefi_VARS.fd');
    qemuImgSync(['create', '-q', '-f', 'qcow2', '--', disk, '16M']);
    const vm = await lab.defineXml(
      'fresh-uefi',
      `<domain type='qemu'><name>${lab.prefix}fresh-uefi</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><features><acpi/></features>
<os><type arch='x86_64' machine='q35'>hvm</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader><nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>${store}</nvram></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`,
    );
    lab.snapshot(vm, 'u1');
    expect(existsSync(store)).toBe(false);
    const name = `${lab.prefix}fresh-uefi-clone`;
    lab.adopt(name);
    await applyOk(engine, await planOk(engine, source, { op: 'clone', domain: vm, node: { kind: 'snapshot', name: 'u1' }, name, mode: 'linked', start: true }));
    const own = /<nvram[^>]*>([^<]+)<\/nvram>/.exec(definitionOf(name))?.[1];
    expect(own).toBe(lab.path(`${name}_VARS.fd`));
    expect(existsSync(own ?? '')).toBe(true);
    expect(existsSync(store)).toBe(false);
    virshSync(['destroy', '--domain', name]);
  });
});

describe('a UEFI domain whose store libvirt writes as <nvram type="file"><source file=…/></nvram>', () => {
  test('is cloned with a copy of its store, named in the same form', async () => {
    const disk = lab.path('newstyle.qcow2');
    const store = lab.path('newstyle_VARS.fd');
    qemuImgSync(['create', '-q', '-f', 'qcow2', '--', disk, '16M']);
    await writeFile(store, await readFile('/usr/share/OVMF/OVMF_VARS_4M.fd'), { mode: 0o600 });
    const vm = await lab.defineXml(
      'newstyle',
      `<domain type='qemu'><name>${lab.prefix}newstyle</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><features><acpi/></features>
<os><type arch='x86_64' machine='q35'>hvm</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader><nvram type='file' template='/usr/share/OVMF/OVMF_VARS_4M.fd'><source file='${store}'/></nvram></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`,
    );
    lab.snapshot(vm, 'n1');
    const name = `${lab.prefix}newstyle-clone`;
    lab.adopt(name);
    await applyOk(engine, await planOk(engine, source, { op: 'clone', domain: vm, node: { kind: 'snapshot', name: 'n1' }, name, mode: 'linked' }));
    const own = lab.path(`${name}_VARS.fd`);
    expect(definitionOf(name)).toContain(`<source file='${own}'/>`);
    expect(await readFile(own)).toEqual(await readFile(store));
    expect(definitionOf(vm)).toContain(`<source file='${store}'/>`);
  });
});

describe("every operation on the source keeps a linked clone's bytes, and those of a plain domain on the same files", () => {
  test('revert, switch, delete a branch, discard, delete snapshots, commit and fold', async () => {
    const vm = await seedChain(lab, 'allops');
    const name = `${lab.prefix}allops-clone`;
    lab.adopt(name);
    await applyOk(engine, await planOk(engine, source, { op: 'clone', domain: vm, node: { kind: 'snapshot', name: 's1' }, name, mode: 'linked' }));
    const cloneFile = lab.path(`${name}.vda.qcow2`);
    // A domain made with virsh alone (no clone record) on s2's saved state.
    const s2State = (await engine.scanDomain(source, vm)).snapshots.find((x) => x.name === 's2')?.disks[0]?.stateLayer ?? '';
    const plainFile = lab.path('allops-plain.qcow2');
    qemuImgSync(['create', '-q', '-f', 'qcow2', '-b', s2State, '-F', 'qcow2', '--', plainFile]);
    await lab.define({ name: 'allops-plain', disks: [{ target: 'vda', file: plainFile, format: 'qcow2' }] });
    const views = [
      { file: cloneFile, raw: rawView(cloneFile, lab.path('allops-clone.raw')) },
      { file: plainFile, raw: rawView(plainFile, lab.path('allops-plain.raw')) },
    ];
    const intents: Intent[] = [
      { op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'b2' },
      { op: 'switch', domain: vm, branch: 'main' },
      { op: 'delete-branch', domain: vm, branch: 'b2' },
      { op: 'revert-discard', domain: vm, snapshot: 's2' },
      { op: 'commit', domain: vm, branch: 'main' },
      { op: 'fold-commit', domain: vm, branch: 'main', snapshot: 's2' },
      { op: 'delete-snapshot', domain: vm, snapshot: 's2' },
      { op: 'delete-snapshot', domain: vm, snapshot: 's1' },
    ];
    for (const intent of intents) {
      const planned = await engine.plan(source, intent);
      if (planned.ok) await applyOk(engine, planned.plan);
      else expect(planned.refusal.message, intent.op).toMatch(/allops-(plain|clone)/);
      for (const view of views) expect(await sameBytes({ path: view.file, format: 'qcow2' }, { path: view.raw, format: 'raw' }), `${intent.op}: ${view.file}`).toBe(true);
    }
  });
});

describe('a clone of a branch that has no file of a disk the domain has now', () => {
  test.each(['linked', 'full'] as const)('%s: refused naming the disk, instead of sharing the source\'s disk with the clone', async (mode) => {
    const vm = await seedChain(lab, `nodisk-${mode}`, ['t1']);
    await applyOk(engine, await planOk(engine, source, { op: 'revert-branch', domain: vm, snapshot: 't1', branch: 'again' }));
    const added = lab.path(`nodisk-${mode}-vdb.qcow2`);
    qemuImgSync(['create', '-q', '-f', 'qcow2', '--', added, '16M']);
    virshSync(['attach-disk', '--domain', vm, '--source', added, '--target', 'vdb', '--driver', 'qemu', '--subdriver', 'qcow2', '--config']);
    const left = (await engine.scanDomain(source, vm)).branches.find((b) => !b.current);
    expect(left?.tips.map((t) => t.target)).toEqual(['vda']);
    const name = `${lab.prefix}nodisk-${mode}-clone`;
    lab.adopt(name);
    const planned = await engine.plan(source, { op: 'clone', domain: vm, node: { kind: 'branch', name: left?.name ?? '' }, name, mode });
    expect(planned.ok).toBe(false);
    if (!planned.ok) expect(planned.refusal).toMatchObject({ code: 'E_NOT_SUPPORTED', message: expect.stringMatching(/vdb/) });
  });
});

describe('a clone of a branch that has a file of a disk the domain no longer has', () => {
  test('is refused at planning naming the disk, before anything runs', async () => {
    const vm = await seedTwoDisks(lab, 'gone-disk');
    await applyOk(engine, await planOk(engine, source, { op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'again' }));
    virshSync(['detach-disk', '--domain', vm, '--target', 'vdb', '--config']);
    const left = (await engine.scanDomain(source, vm)).branches.find((b) => !b.current);
    expect(left?.tips.map((t) => t.target).sort()).toEqual(['vda', 'vdb']);
    const name = `${lab.prefix}gone-disk-clone`;
    lab.adopt(name);
    const planned = await engine.plan(source, { op: 'clone', domain: vm, node: { kind: 'branch', name: left?.name ?? '' }, name, mode: 'linked' });
    expect(planned.ok).toBe(false);
    if (!planned.ok) expect(planned.refusal).toMatchObject({ code: 'E_NOT_SUPPORTED', message: expect.stringMatching(/vdb/) });
  });
});

describe('a clone name virsh would read as another domain\'s id or UUID', () => {
  // virsh looks a domain up by id, then UUID, then name: a clone so named, started, would start another domain.
  test('is refused at planning, before anything runs', async () => {
    const vm = await seedChain(lab, 'idname', ['i1']);
    const uuid = virshSync(['domuuid', '--domain', vm]).trim();
    for (const name of [uuid, uuid.replaceAll('-', ''), '42', '+7']) {
      const planned = await engine.plan(source, { op: 'clone', domain: vm, node: { kind: 'snapshot', name: 'i1' }, name, mode: 'linked', start: true });
      expect(planned.ok, name).toBe(false);
      if (!planned.ok) expect(planned.refusal).toMatchObject({ code: 'E_BAD_INPUT', message: expect.stringMatching(/id or UUID/) });
    }
  });
});

describe('a new file name longer than the file system holds is refused at planning', () => {
  // 150 characters (within the 200 a new name may have), 300 bytes in UTF-8: no file system takes a name that long.
  const wide = 'é'.repeat(150);

  test.each(['linked', 'full'] as const)('a %s clone named with 150 two-byte characters', async (mode) => {
    const { vm } = await seedWithSerialLog(`long-${mode}`);
    const intent: Intent = { op: 'clone', domain: vm, node: { kind: 'snapshot', name: 's1' }, name: wide, mode };
    const planned = await engine.plan(source, intent);
    expect(planned.ok).toBe(false);
    if (!planned.ok) {
      expect(planned.refusal.code).toBe('E_BAD_INPUT');
      expect(planned.refusal.message).toMatch(/255 bytes/);
    }
  });

  test('an export whose file would hold a long snapshot name', async () => {
    const { vm } = await seedWithSerialLog('long-export');
    const snapshot = 'ü'.repeat(120);
    lab.snapshot(vm, snapshot);
    const planned = await engine.plan(source, { op: 'export', domain: vm, node: { kind: 'snapshot', name: snapshot }, to: lab.dir, format: 'raw' });
    expect(planned.ok).toBe(false);
    if (!planned.ok) expect(planned.refusal).toMatchObject({ code: 'E_BAD_INPUT', message: expect.stringMatching(/255 bytes/) });
  });
});
