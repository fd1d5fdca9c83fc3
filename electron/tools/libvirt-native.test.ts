/**
 * Real libvirt, behind a proxy on a socket of the test's own that can stall the daemon's answers or cut the
 * connection as a daemon restart does: the reads fail in time and leave nothing unhandled, a handle a late call
 * may still use is never freed, no connection is opened while a call hangs, the engine's readers scan again
 * after a restart, and a process with a call hung in the library still exits.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LibvirtReaders } from '../scan/libvirt-reader';
import { scanLibvirt } from '../scan/scan-libvirt';
import { TestLab } from '../test-support/lab';
import { hungLibvirtCalls, NativeLibvirt } from './libvirt-native';
import { qemuImgCreate } from './qemu-img';
import { openVirsh } from './virsh';

const DAEMON = '/var/run/libvirt/libvirt-sock-ro';

/** A proxy to the daemon's read-only socket that can hold back the daemon's answers, or cut every connection. */
class Proxy {
  readonly server: Server;
  private readonly pairs: Array<[Socket, Socket]> = [];
  /** Answers held back while stalled, per client. */
  stalled = false;
  /** Cuts both sides at the daemon's next answer after `cutAfter` more answers. */
  private cutAfter: number | null = null;

  constructor(readonly path: string) {
    this.server = createServer((client) => {
      const daemon = createConnection(DAEMON);
      this.pairs.push([client, daemon]);
      client.on('data', (data) => daemon.write(data));
      daemon.on('data', (data) => {
        if (this.stalled) return;
        if (this.cutAfter !== null && this.cutAfter-- <= 0) return this.cut();
        client.write(data);
      });
      for (const side of [client, daemon]) side.on('error', () => undefined).on('close', () => (side === client ? daemon : client).destroy());
    });
  }

  get uri(): string {
    return `qemu+unix:///system?socket=${this.path}`;
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.path, resolve));
  }

  /** Every connection closed, as a daemon that restarts closes them; new ones are taken as before. */
  cut(): void {
    this.cutAfter = null;
    for (const [client, daemon] of this.pairs.splice(0)) {
      client.destroy();
      daemon.destroy();
    }
  }

  cutAfterAnswers(n: number): void {
    this.cutAfter = n;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let lab: TestLab;
let proxy: Proxy;
let vm: string;

beforeAll(async () => {
  lab = await new TestLab().init();
  proxy = new Proxy(lab.path('proxy.sock'));
  await proxy.listen();
  await qemuImgCreate(lab.path('vm.qcow2'), { size: 16 << 20 });
  vm = await lab.define({ name: 'proxied', disks: [{ target: 'vda', file: lab.path('vm.qcow2'), format: 'qcow2' }] });
  lab.snapshot(vm, 's1');
  lab.snapshot(vm, 's2');
});

afterAll(async () => {
  await proxy?.close();
  await lab?.cleanup();
});

describe('libvirt through its library, when the daemon misbehaves', () => {
  test('a connection cut between two answers fails the domain being read, and every call queued behind it, all handled', async () => {
    const native = await NativeLibvirt.open(proxy.uri, { connections: 1 });
    // The lookup's answer passes, the state's is the cut: the definition, the snapshot list and the current
    // snapshot were asked for too and fail behind it (vitest fails the run on an unhandled rejection).
    proxy.cutAfterAnswers(1);
    await expect(native.readDomain(vm)).rejects.toMatchObject({ code: 'E_TOOL' });
    expect(native.closedByDaemon).toBe(true);
    expect(native.usable).toBe(false);
    await native.close();
  });

  test('a daemon restart: the engine readers scan again on a new connection, with the same result', async () => {
    const readers = new LibvirtReaders();
    const virsh = openVirsh(proxy.uri);
    try {
      const scan = () => readers.scan(proxy.uri, virsh, (reader) => scanLibvirt(reader, { domains: [vm] }));
      const first = await scan();
      proxy.cut();
      const again = await scan();
      expect(again.domains[0]?.problems).toEqual([]);
      expect(again.domains.map((d) => d.snapshots.map((s) => s.name))).toEqual(first.domains.map((d) => d.snapshots.map((s) => s.name)));
    } finally {
      await readers.close();
      await virsh.close();
    }
  });

  test('answers that never come fail the call in time; no connection is opened while it hangs; files still read', async () => {
    const native = await NativeLibvirt.open(proxy.uri, { connections: 1, timeoutMs: 400 });
    proxy.stalled = true;
    try {
      await expect(native.readDomain(vm)).rejects.toMatchObject({ message: expect.stringContaining('stopped answering') });
      expect(hungLibvirtCalls()).toBe(1);
      await expect(NativeLibvirt.open(proxy.uri)).rejects.toMatchObject({ code: 'E_CONNECT', message: expect.stringContaining('never returned') });
      expect(await readFile('/etc/hostname', 'utf8')).not.toBe('');
    } finally {
      // The daemon's side closes: the hung call returns, and gives its thread back.
      proxy.stalled = false;
      proxy.cut();
    }
    await expect.poll(() => hungLibvirtCalls(), { timeout: 5000 }).toBe(0);
    await native.close();
  });

  test('a process with a call hung in the library exits with its code', async () => {
    const accepted: Socket[] = [];
    const silent = createServer((socket) => accepted.push(socket));
    const path = lab.path('silent.sock');
    await new Promise<void>((resolve) => silent.listen(path, resolve));
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'test-support', 'hung-exit.ts')], {
        env: { ...process.env, SNAPTREE_SILENT_SOCKET: path },
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(null);
        }, 20_000);
        child.on('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      expect(out).toContain('hung calls: 1');
      expect(code).toBe(3);
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
