/**
 * A remote connection (`qemu+ssh://`) read for real: the test host (scripts/test-host.sh) runs libvirt 11 in a
 * chroot, so the paths it reports are not this computer's files. Chains built there with plain virsh are read
 * there, as qemu-img on that host reads them; files at the same paths here (decoys) are never touched; libvirt
 * 11's own revert is drawn with its auto-named overlay as You are here. (Operations there: electron/ops/remote-*.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ScanResult } from '../../shared/model';
import { snapshotGraph } from '../../shared/snapshot-graph';
import { withEngineLab } from '../test-support/engine-lab';
import { traceOpens } from '../test-support/trace-opens';
import { onTestHost, requireTestHost, STRANGER_HOST, TEST_HOST_URI } from '../test-support/test-host';
import { openVirsh, type Virsh } from '../tools/virsh';
import type { Engine } from '../engine';
import { nativeReader, openNative, virshReader } from './libvirt-reader';
import { AppError } from '../../shared/errors';
import { sshTargetOf } from '../../shared/source-rules';
import type { HostRunner } from '../tools/host-runner';
import { sshRunner } from '../tools/ssh-runner';
import { scanConnection, scanRemote } from './remote-scan';

const tag = `r${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
const prefix = `snaptree-${tag}-`;
const dir = `/var/lib/snaptree-${tag}`;
const vm = `${prefix}vm`;
let virsh: Virsh;
let engine: Engine;
withEngineLab((_lab, e) => {
  engine = e;
});

const remoteVirsh = (args: string) => onTestHost(`virsh -q -c qemu:///system ${args}`);
const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Decoys here at the paths the host's images have there: a valid qcow2 of another size, and plain text. */
function plantDecoys(paths: string[]): Map<string, { sha: string; mtimeMs: number }> {
  const planted = new Map<string, { sha: string; mtimeMs: number }>();
  for (const [i, path] of paths.entries()) {
    mkdirSync(dirname(path), { recursive: true });
    if (i === 0) qcow2Here(path);
    else writeFileSync(path, `decoy ${i}\n`);
    planted.set(path, { sha: digest(path), mtimeMs: statSync(path).mtimeMs });
  }
  return planted;
}

/** A real qcow2 image here (1 GiB, no backing): read by mistake, it would show another size and chain. */
function qcow2Here(path: string): void {
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, '1G']);
}

function expectUntouched(planted: Map<string, { sha: string; mtimeMs: number }>): void {
  for (const [path, was] of planted) expect({ path, sha: digest(path), mtimeMs: statSync(path).mtimeMs }).toEqual({ path, ...was });
}

async function scan(): Promise<ScanResult> {
  return scanConnection(virshReader(virsh), { domains: [vm] });
}

beforeAll(() => {
  requireTestHost();
  virsh = openVirsh(TEST_HOST_URI);
  onTestHost(`mkdir -p ${dir} && qemu-img create -q -f qcow2 ${dir}/base.qcow2 64M && chmod 0640 ${dir}/base.qcow2`);
  const xml = `<domain type='qemu'><name>${vm}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${dir}/base.qcow2'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;
  onTestHost(`cat > ${dir}/vm.xml <<'XML'\n${xml}\nXML\nvirsh -q -c qemu:///system define ${dir}/vm.xml >/dev/null`);
  remoteVirsh(`snapshot-create-as ${vm} s1 --disk-only --atomic`);
  remoteVirsh(`snapshot-create-as ${vm} s2 --disk-only --atomic --description 'second, with "quotes"'`);
});
afterAll(async () => {
  await virsh?.close();
  onTestHost(`for s in $(virsh -q -c qemu:///system snapshot-list ${vm} --name); do virsh -q -c qemu:///system snapshot-delete ${vm} $s --metadata >/dev/null; done; virsh -q -c qemu:///system undefine ${vm} >/dev/null; rm -rf ${dir}`);
  rmSync(dir, { recursive: true, force: true });
});

describe('a qemu+ssh connection', () => {
  test('is read on its host, as qemu-img there reads it; files at the same paths here are never touched', async () => {
    const planted = plantDecoys([`${dir}/base.qcow2`, `${dir}/base.s1`, `${dir}/base.s2`]);
    const result = await scan();
    expect(result.hypervisor).toMatch(/^libvirt 11\.\d+\.\d+, QEMU 10\./);
    const domain = result.domains[0];
    expect(domain?.problems).toEqual([]);
    expect(domain?.snapshots.map((s) => [s.name, s.parent, s.description])).toEqual([
      ['s1', null, null],
      ['s2', 's1', 'second, with "quotes"'],
    ]);
    const chain = JSON.parse(onTestHost(`qemu-img info -f qcow2 --backing-chain --output=json ${dir}/base.s2`)) as Array<{ filename: string; 'virtual-size': number; 'full-backing-filename'?: string }>;
    const layers = domain?.layers ?? {};
    expect(Object.keys(layers).sort()).toEqual(chain.map((i) => i.filename).sort());
    for (const info of chain) {
      expect({ path: info.filename, size: layers[info.filename]?.virtualSize, backing: layers[info.filename]?.backing ?? undefined }).toEqual({
        path: info.filename,
        size: info['virtual-size'],
        backing: info['full-backing-filename'],
      });
    }
    const stat = onTestHost(`stat -c '%U %G %a' ${dir}/base.qcow2`).trim();
    const owner = layers[`${dir}/base.qcow2`]?.owner;
    expect(`${owner?.user} ${owner?.group} ${owner?.mode.toString(8)}`).toBe(stat);
    expectUntouched(planted);
  });

  test("libvirt's library over SSH reads the same as virsh, and names the daemon's libvirt", async () => {
    const native = await openNative(TEST_HOST_URI);
    if (native === null) throw new Error('the library did not open the SSH connection');
    try {
      const [byLibrary, byVirsh] = [await scanConnection(nativeReader(native), { domains: [vm] }), await scan()];
      expect({ ...byLibrary, scannedAt: '' }).toEqual({ ...byVirsh, scannedAt: '' });
      expect(byLibrary.hypervisor).toMatch(/^libvirt 11\./);
    } finally {
      await native.close();
    }
  });

  test("libvirt 11's own revert is drawn: its auto-named overlay is You are here, under the snapshot it went back to", async () => {
    remoteVirsh(`snapshot-revert ${vm} s1`);
    const result = await scan();
    const domain = result.domains[0];
    if (domain === undefined) throw new Error('no domain');
    const disk = domain.disks[0];
    expect(disk?.file).toMatch(new RegExp(`^${dir}/base\\.\\d+$`));
    // The files there: s1's and s2's saved states stay; the state on top of s2, never snapshotted, is gone: what
    // libvirt 11 does when it reverts external snapshots itself.
    expect(onTestHost(`ls ${dir}`).split('\n').filter(Boolean).sort()).toEqual(['base.qcow2', 'base.s1', disk?.file?.slice(dir.length + 1), 'vm.xml'].sort());
    expect(domain.snapshots.map((s) => s.name)).toEqual(['s1', 's2']);
    const here = snapshotGraph(domain).find((n) => n.kind === 'branch' && n.current);
    expect(here?.parentId).toBe('s:s1');
    expect(here?.branch?.tips.map((t) => t.file)).toEqual([disk?.file]);
    expect(domain.problems.filter((p) => p.severity === 'error')).toEqual([]);
  });

  test('no call of this process or of what it starts looks at a path of the host here, not even a stat', async () => {
    const { result, opened } = await traceOpens(() => scan(), '%file');
    if (result instanceof Error) throw result;
    expect(result.domains[0]?.problems.filter((p) => p.severity === 'error')).toEqual([]);
    // The ssh command lines carry the paths as text for the host: those are not looks here.
    const looks = opened.split('\n').filter((line) => line.includes(dir) && !/execve\(/.test(line));
    expect(looks).toEqual([]);
    expect(opened).toMatch(/execve\("[^"]*\/ssh"/);
  });

  test("a login the host refuses, met by libvirt's own ssh, is told as the SSH runner tells it", async () => {
    const stranger = { kind: 'libvirt' as const, uri: `qemu+ssh://${STRANGER_HOST}/system` };
    await expect(engine.scan(stranger)).rejects.toMatchObject({
      code: 'E_CONNECT',
      // Whichever meets the refusal first, libvirt's ssh or the engine's, says it the same way.
      message: expect.stringMatching(new RegExp(`(^|: )${STRANGER_HOST} refused the SSH login \\(.*Permission denied.*Give a key its user accepts`)),
    });
  });

  test('a connection whose files the engine cannot reach (qemu+tls) is refused operations and the trash, before any connection', async () => {
    const source = { kind: 'libvirt' as const, uri: 'qemu+tls://snaptree-nowhere.invalid/system' };
    await expect(engine.plan(source, { op: 'delete-snapshot', domain: vm, snapshot: 's1' })).rejects.toMatchObject({ code: 'E_NOT_SUPPORTED', message: expect.stringContaining('only over SSH') });
    await expect(engine.trash(source, vm)).rejects.toMatchObject({ code: 'E_NOT_SUPPORTED' });
  });
  test('names as the host has them: a backing name ending in a line break, a dangling link, a link loop', async () => {
    const odd = `${prefix}odd`;
    const sub = `${dir}/odd`;
    // img and "img\n" are two files; t1 is built on the second, by a name that goes through ../
    onTestHost(
      // (bash's $'…' quoting: the test host's root logs in to bash.)
      `mkdir -p ${sub}/sub && cd ${sub} && qemu-img create -q -f qcow2 img 64M && qemu-img create -q -f qcow2 $'img\\n' 128M && ` +
        `qemu-img create -q -f qcow2 -u -b $'${sub}/sub/../img\\n' -F qcow2 t1.qcow2 1G && ` +
        `ln -s nowhere dangling && ln -s loopB loopA && ln -s loopA loopB && qemu-img create -q -f qcow2 -u -b ${sub}/dangling -F qcow2 t2.qcow2 1G && ` +
        `cat > odd.xml <<'XML'\n<domain type='qemu'><name>${odd}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices>` +
        `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${sub}/t1.qcow2'/><target dev='vda' bus='virtio'/></disk>` +
        `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${sub}/t2.qcow2'/><target dev='vdb' bus='virtio'/></disk></devices></domain>\nXML\n` +
        `virsh -q -c qemu:///system define odd.xml >/dev/null`,
    );
    try {
      const result = await scanConnection(virshReader(virsh), { domains: [odd] });
      const domain = result.domains[0];
      const info = JSON.parse(onTestHost(`qemu-img info -f qcow2 --backing-chain --output=json ${sub}/t1.qcow2`)) as Array<{ filename: string; 'virtual-size': number }>;
      const backing = domain?.layers[`${sub}/t1.qcow2`]?.backing ?? '';
      expect({ path: backing, size: domain?.layers[backing]?.virtualSize }).toEqual({ path: `${sub}/img\n`, size: info[1]?.['virtual-size'] });
      expect(info[1]?.['virtual-size']).toBe(128 * 1024 * 1024);
      const problems = domain?.problems.map((p) => `${p.code} ${p.path ?? ''}`) ?? [];
      expect(problems).toContain(`missing-backing ${sub}/t2.qcow2`);
      expect(problems.filter((p) => p.startsWith('unreadable-file') && /loop[AB]$/.test(p)).sort()).toEqual([`unreadable-file ${sub}/loopA`, `unreadable-file ${sub}/loopB`]);
      expect(domain?.problems.find((p) => p.path === `${sub}/loopA`)?.message).toContain('ELOOP');
    } finally {
      onTestHost(`virsh -q -c qemu:///system undefine ${odd} >/dev/null; rm -rf ${sub}`);
    }
  });

  test('a host that stops answering fails the scan: files it could not send are never shown as missing', async () => {
    const target = sshTargetOf(TEST_HOST_URI);
    if (target === null) throw new Error('no SSH target');
    const real = sshRunner(target);
    // The host answers libvirt and the first commands, then the connection goes for every file command.
    let commands = 0;
    const flaky: HostRunner = { ...real, run: async (tool, args, options) => {
      commands++;
      if (commands > 1) throw new AppError('E_CONNECT', `${target.host} cannot be reached over SSH (Connection closed).`);
      return real.run(tool, args, options);
    } };
    await expect(scanRemote(virshReader(virsh), flaky, target.host, { domains: [vm] })).rejects.toMatchObject({ code: 'E_CONNECT' });
  });
  test('two nodes are compared by qemu-img on the host, as there; nothing runs here but ssh', async () => {
    const source = { kind: 'libvirt' as const, uri: TEST_HOST_URI };
    const guest = `${prefix}cmp`;
    const sub = `${dir}/cmp`;
    onTestHost(
      `mkdir -p ${sub} && cd ${sub} && qemu-img create -q -f qcow2 base.qcow2 64M && qemu-io -f qcow2 -c 'write -P 0x11 0 1M' base.qcow2 >/dev/null && ` +
        `cat > cmp.xml <<'XML'\n<domain type='qemu'><name>${guest}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices>` +
        `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${sub}/base.qcow2'/><target dev='vda' bus='virtio'/></disk></devices></domain>\nXML\n` +
        `virsh -q -c qemu:///system define cmp.xml >/dev/null && virsh -q -c qemu:///system snapshot-create-as ${guest} s1 --disk-only --atomic >/dev/null && ` +
        `qemu-io -f qcow2 -c 'write -P 0x22 2M 64k' base.s1 >/dev/null && virsh -q -c qemu:///system snapshot-create-as ${guest} s2 --disk-only --atomic >/dev/null`,
    );
    try {
      const planted = plantDecoys([`${sub}/base.qcow2`, `${sub}/base.s1`]);
      const { result, opened } = await traceOpens(() => engine.compare(source, guest, 's:s1', 's:s2'), 'execve');
      if (result instanceof Error) throw result;
      const disk = result.disks[0];
      // qemu-img on the host says the same of the two saved states: they differ first at 2 MiB.
      const there = onTestHost(`qemu-img compare -U -f qcow2 -F qcow2 ${sub}/base.qcow2 ${sub}/base.s1 || true`);
      expect(there).toContain('Content mismatch at offset 2097152!');
      expect({ identical: disk?.identical, first: disk?.firstDifference }).toEqual({ identical: false, first: 2 * 1024 * 1024 });
      expect(disk?.b.changed).toEqual([[2 * 1024 * 1024, 64 * 1024]]);
      const started = [...opened.matchAll(/execve\("([^"]+)"/g)].map((m) => m[1]?.split('/').pop());
      expect(new Set(started)).toEqual(new Set(['ssh']));
      expectUntouched(planted);
    } finally {
      onTestHost(`for s in s2 s1; do virsh -q -c qemu:///system snapshot-delete ${guest} $s --metadata >/dev/null; done; virsh -q -c qemu:///system undefine ${guest} >/dev/null; rm -rf ${sub}`);
      rmSync(sub, { recursive: true, force: true });
    }
  });
  test('a health check runs qemu-img on the host and reads the dirty bit there; nothing runs here but ssh', async () => {
    const source = { kind: 'libvirt' as const, uri: TEST_HOST_URI };
    const guest = `${prefix}chk`;
    const sub = `${dir}/chk`;
    // An image left dirty: lazy refcounts, and qemu-io aborting after a write.
    onTestHost(
      `mkdir -p ${sub} && cd ${sub} && qemu-img create -q -f qcow2 -o lazy_refcounts=on dirty.qcow2 64M && (qemu-io -f qcow2 -c 'write 0 64k' -c abort dirty.qcow2 >/dev/null 2>&1; true) && ` +
        `cat > chk.xml <<'XML'\n<domain type='qemu'><name>${guest}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices>` +
        `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${sub}/dirty.qcow2'/><target dev='vda' bus='virtio'/></disk></devices></domain>\nXML\n` +
        `virsh -q -c qemu:///system define chk.xml >/dev/null`,
    );
    try {
      const planted = plantDecoys([`${sub}/dirty.qcow2`]);
      expect(onTestHost(`qemu-img info -U -f qcow2 --output=json ${sub}/dirty.qcow2`)).toContain('"dirty-flag": true');
      const { result, opened } = await traceOpens(() => engine.check(source, guest), 'execve');
      if (result instanceof Error) throw result;
      const layer = result[0]?.layers.find((l) => l.path === `${sub}/dirty.qcow2`);
      // What qemu-img check says there, read-only (it counts the refcounts a dirty image has not fixed yet).
      const there = JSON.parse(onTestHost(`qemu-img check -U -f qcow2 --output=json ${sub}/dirty.qcow2 || true`)) as { corruptions?: number; leaks?: number };
      expect({ dirty: layer?.dirty, corruptions: layer?.corruptions, leaks: layer?.leaks }).toEqual({ dirty: true, corruptions: there.corruptions ?? 0, leaks: there.leaks ?? 0 });
      expect(layer?.findings.join(' ')).toContain('dirty bit');
      const started = [...opened.matchAll(/execve\("([^"]+)"/g)].map((m) => m[1]?.split('/').pop());
      expect(new Set(started)).toEqual(new Set(['ssh']));
      expectUntouched(planted);
    } finally {
      onTestHost(`virsh -q -c qemu:///system undefine ${guest} >/dev/null; rm -rf ${sub}`);
      rmSync(sub, { recursive: true, force: true });
    }
  });

  test('a host that accepts the connection and never answers holds back no other connection, and fails on its own in time', async () => {
    // A silent server: it takes every TCP connection and never sends a byte (not even the SSH banner).
    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const uri = `qemu+ssh://127.0.0.1:${port}/system`;
    try {
      const quiet = engine.scan({ kind: 'libvirt', uri }).then(
        () => 'answered',
        (error: unknown) => error,
      );
      // This computer's connection is read meanwhile, as fast as ever.
      const local = await Promise.race([engine.scan({ kind: 'libvirt', uri: 'qemu:///system' }).then(() => 'local first'), quiet.then(() => 'silent first')]);
      expect(local).toBe('local first');
      // The silent one fails by itself, naming the connection as the user gave it.
      expect(await quiet).toMatchObject({ code: 'E_CONNECT', message: expect.stringContaining(uri) });
      expect(String((await quiet as Error).message)).not.toContain('no_tty');
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
    }
  }, 60_000);
});
