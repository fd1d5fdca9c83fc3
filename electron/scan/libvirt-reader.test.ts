/**
 * Real libvirt: what libvirt's library reads in process agrees with what virsh prints about the same domains,
 * read by read and as a whole scan, on names virsh orders and splits in its own ways; the library's own failures
 * (a missing object, a socket that never answers) and the choice of reader.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ScanResult } from '../../shared/model';
import { TestLab, TEST_URI, virshSync } from '../test-support/lab';
import { hungLibvirtCalls, isNoSuchObject, NativeLibvirt, OPEN_TIMEOUT_MS, virshNameOrder } from '../tools/libvirt-native';
import { qemuImgCreate } from '../tools/qemu-img';
import { openVirsh, type Virsh } from '../tools/virsh';
import { isLocalUri, LibvirtReaders, nativeAllowed, nativeReader, virshReader, type DomainReadout, type LibvirtReader } from './libvirt-reader';
import { scanLibvirt } from './scan-libvirt';

const MiB = 1024 * 1024;
const run = promisify(execFile);
let lab: TestLab;
let virsh: Virsh;
let native: NativeLibvirt;
let byVirsh: LibvirtReader;
let byLibrary: LibvirtReader;
const domains: string[] = [];
let named = '';
let running = '';

/** Snapshot names virsh sorts, splits or would read as syntax. */
const SNAPSHOT_NAMES = ['Zeta', 'alpha', ' lead space', 'ünïcode', `it's "quoted"`, 'tab\there', '-dash', 'B2', 'b1', 'S1', 's1x', 'Same', 'same'];
const LINE_BREAK = 'line one\nline two';

beforeAll(async () => {
  lab = await new TestLab().init();
  virsh = openVirsh(TEST_URI);
  byVirsh = virshReader(virsh);
  native = await NativeLibvirt.open(TEST_URI);
  byLibrary = nativeReader(native);

  // Domains whose names sort differently with and without case folding, one with no snapshots.
  for (const name of ['Beta', 'alpha', 'gamma', 'quiet', 'Case', 'case']) {
    await qemuImgCreate(lab.path(`${name}.qcow2`), { size: 16 * MiB });
    const full = await lab.define({ name, disks: [{ target: 'vda', file: lab.path(`${name}.qcow2`), format: 'qcow2' }] });
    domains.push(full);
    if (name !== 'quiet') lab.snapshot(full, 's1', ['--diskspec', `vda,file=${lab.path(`${name}.s1`)}`]);
  }
  named = domains[1] as string;
  for (const [i, snapshot] of SNAPSHOT_NAMES.entries()) lab.snapshot(named, snapshot, ['--diskspec', `vda,file=${lab.path(`named.${i}`)}`]);
  // virsh lists a name with a line break as two lines; libvirt takes it from an XML file.
  const xml = lab.path('line-break.xml');
  await writeFile(xml, `<domainsnapshot><name>${LINE_BREAK}</name><disks><disk name="vda" snapshot="external"><source file="${lab.path('named.lb')}"/></disk></disks></domainsnapshot>`);
  virshSync(['snapshot-create', '--domain', named, '--xmlfile', xml, '--disk-only']);
  // The current snapshot is one further up: not the newest.
  virshSync(['snapshot-current', '--domain', named, '--snapshotname', 'alpha']);

  // A running domain: its live and persistent definitions differ, and it lists before every shut-off one.
  await qemuImgCreate(lab.path('live.qcow2'), { size: 16 * MiB });
  running = await lab.define({ name: 'live', disks: [{ target: 'vda', file: lab.path('live.qcow2'), format: 'qcow2' }] });
  lab.snapshot(running, 's1', ['--diskspec', `vda,file=${lab.path('live.s1')}`]);
  virshSync(['start', '--domain', running]);
  virshSync(['desc', '--domain', running, '--config', '--title', '--new-desc', 'persistent only']);
  domains.push(running);
}, 120_000);

afterAll(async () => {
  await native?.close();
  await virsh?.close();
  await lab?.cleanup();
});

const ours = (names: string[]): string[] => names.filter((n) => n.startsWith(lab.prefix));
const withoutDumps = ({ dumps: _dumps, ...rest }: DomainReadout): Omit<DomainReadout, 'dumps'> => rest;

describe('libvirt read through its library, as virsh prints it', () => {
  test('lists the domains in virsh order: running ones first, then by name with case folded', async () => {
    const listed = ours(await byLibrary.listDomains());
    expect(listed).toEqual(ours(await byVirsh.listDomains()));
    expect(listed[0]).toBe(running);
    // The rest by name with case folded; Case and case in the order libvirt gave, as virsh keeps it.
    expect(listed.slice(1)).toHaveLength(6);
    expect(listed.slice(1)).toEqual([...listed.slice(1)].sort(virshNameOrder));
  });

  test('reads each domain as virsh does: state, live and persistent XML, snapshot names in order, current', async () => {
    for (const name of domains) {
      const read = await byLibrary.readDomain(name);
      const said = await byVirsh.readDomain(name);
      if (name === named) {
        // virsh prints the name with a line break as two lines, which name nothing; the library names it whole.
        expect(said.snapshotNames.filter((n) => n !== 'line one' && n !== 'line two')).toEqual(read.snapshotNames.filter((n) => n !== LINE_BREAK));
        expect(read.snapshotNames).toContain(LINE_BREAK);
        expect(read.current).toBe('alpha');
        continue;
      }
      expect(withoutDumps(read), name).toEqual(said);
    }
    const live = await byLibrary.readDomain(running);
    expect([live.state, live.live]).toEqual(['running', true]);
    expect(live.configXml).toContain('persistent only');
    expect(live.xml).not.toContain('persistent only');
    expect((await byLibrary.readDomain(domains[3] as string)).current).toBeNull();
  });

  test('dumps every snapshot with its domain, each as snapshot-dumpxml prints it', async () => {
    const read = await byLibrary.readDomain(named);
    expect([...(read.dumps?.keys() ?? [])].sort()).toEqual([...SNAPSHOT_NAMES, 's1', LINE_BREAK].sort());
    for (const [snapshot, dump] of read.dumps ?? []) {
      // A name virsh cannot take in a session goes to a virsh of its own, whose output loses its last line break.
      expect((await dump)?.trimEnd(), snapshot).toBe((await byVirsh.dumpSnapshot(named, snapshot))?.trimEnd());
      expect(await byLibrary.dumpSnapshot(named, snapshot)).toBe(await dump);
    }
  });

  test('a whole scan is the same either way', async () => {
    const scan = async (reader: LibvirtReader): Promise<Omit<ScanResult, 'scannedAt'>> => {
      const { scannedAt: _at, ...rest } = await scanLibvirt(reader, { domains });
      return rest;
    };
    const [library, bySessions] = await Promise.all([scan(byLibrary), scan(byVirsh)]);
    expect(library).toEqual(bySessions);
    expect(library.domains.find((d) => d.name === named)?.snapshots.map((s) => s.name)).toContain(LINE_BREAK);
    expect(library.hypervisor).toBe(await byVirsh.version());
  });

  test('a snapshot or domain that does not exist is told apart from a failure', async () => {
    expect(await byLibrary.dumpSnapshot(named, 'no such snapshot')).toBeNull();
    expect(await byVirsh.dumpSnapshot(named, 'no such snapshot')).toBeNull();
    expect(await byLibrary.dumpSnapshot(`${lab.prefix}no-such`, 's1')).toBeNull();
    const error = await byLibrary.readDomain(`${lab.prefix}no-such`).catch((e: unknown) => e);
    expect(isNoSuchObject(error)).toBe(true);
    expect(error).toMatchObject({ code: 'E_TOOL', message: expect.stringContaining('no domain with matching name') });
  });
});

describe('virt-snaptree tree, read either way', () => {
  // The CLI as users run it: the bundled entry that `npm run build` writes (scripts/test.sh builds first).
  const BIN = join(__dirname, '..', '..', 'bin', 'virt-snaptree.cjs');
  const tree = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, [BIN, 'tree', '--connect', TEST_URI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );

  test('prints the same tree through the library as through virsh', async () => {
    const names = domains.filter((d) => d !== named);
    const [library, bySessions] = await Promise.all([tree(['--', ...names]), tree(['--', ...names], { VIRT_SNAPTREE_READER: 'virsh' })]);
    expect(library.code, library.stderr).toBe(0);
    expect(library.stdout).toBe(bySessions.stdout);
    expect(library.stdout).toContain(running);
  });

  test('a domain libvirt does not know is E_NOT_FOUND, and libvirt prints nothing of its own', async () => {
    const missing = `${lab.prefix}no-such`;
    const result = await tree([missing]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`virt-snaptree: No domain named "${missing}". [E_NOT_FOUND]\n`);
  });
});

describe('the library connection', () => {
  let server: Server;
  const sockets: Socket[] = [];

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server?.close(resolve));
  });

  test('a socket that accepts and never answers fails the open in time, without waiting on virsh as long again', async () => {
    const path = lab.path('silent.sock');
    server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const uri = `qemu+unix:///system?socket=${path}`;
    const t0 = Date.now();
    await expect(NativeLibvirt.open(uri, { timeoutMs: 500, connections: 1 })).rejects.toMatchObject({ code: 'E_CONNECT', message: expect.stringContaining('no answer') });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(OPEN_TIMEOUT_MS).toBeLessThanOrEqual(15_000);
    // Once the socket closes, the call left running in the library ends too.
    for (const socket of sockets.splice(0)) socket.destroy();
    await expect.poll(() => hungLibvirtCalls(), { timeout: 5000 }).toBe(0);
    // The engine's readers say so; while that open still hangs, the next read goes to virsh instead.
    const readers = new LibvirtReaders({ timeoutMs: 500 });
    const silent = openVirsh(uri);
    try {
      await expect(readers.reader(uri, silent)).rejects.toMatchObject({ code: 'E_CONNECT', message: expect.stringContaining('no answer') });
      expect(hungLibvirtCalls()).toBeGreaterThan(0);
      await expect(readers.reader(uri, silent)).resolves.toMatchObject({ uri });
    } finally {
      for (const socket of sockets.splice(0)) socket.destroy();
      await readers.close();
      await silent.close();
    }
    await expect.poll(() => hungLibvirtCalls(), { timeout: 5000 }).toBe(0);
  });

  test('an unreachable local connection is read by virsh, which says what is wrong', async () => {
    const readers = new LibvirtReaders();
    const nowhere = openVirsh('qemu+unix:///system?socket=/nonexistent/libvirt-sock');
    try {
      const reader = await readers.reader(nowhere.uri, nowhere);
      await expect(scanLibvirt(reader)).rejects.toMatchObject({ code: 'E_CONNECT', message: expect.stringContaining('Failed to connect socket') });
    } finally {
      await readers.close();
      await nowhere.close();
    }
  });

  test('only local URIs are opened in process, and VIRT_SNAPTREE_READER=virsh keeps every read on virsh', () => {
    for (const uri of ['qemu:///system', 'qemu:///session', 'qemu+unix:///system?socket=/run/x', 'test:///default']) expect(isLocalUri(uri), uri).toBe(true);
    for (const uri of ['qemu+ssh://host/system', 'qemu+tls://host/system', 'qemu://host/system', 'qemu:///embed?root=/tmp/x', 'qemu+libssh2://u@h/system']) {
      expect(isLocalUri(uri), uri).toBe(false);
    }
    expect(nativeAllowed('qemu:///system', {})).toBe(true);
    expect(nativeAllowed('qemu:///system', { VIRT_SNAPTREE_READER: 'virsh' })).toBe(false);
  });

  test('virsh order folds ASCII case only; ties keep their order', () => {
    // strcasecmp folds to lower case: `_` (0x5f) sorts before `a`, though after `A`; Ä and ä stay apart. Names
    // equal but for case keep the order they came in, as virsh keeps libvirt's.
    expect(['ä', 'b', 'Ä', 'B', 'a', '_x'].sort(virshNameOrder)).toEqual(['_x', 'a', 'b', 'B', 'Ä', 'ä']);
    expect(['B', 'b'].sort(virshNameOrder)).toEqual(['B', 'b']);
    expect(['b', 'A', 'c'].sort(virshNameOrder)).toEqual(['A', 'b', 'c']);
  });
});
