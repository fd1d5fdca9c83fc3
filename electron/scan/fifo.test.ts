import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { Engine } from '../engine';
import { startServer, type RunningServer } from '../server/serve';
import { TestLab, TEST_URI } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';
import { scanFolder } from './scan-folder';
import { scanLibvirt } from './scan-libvirt';
import { openVirsh } from '../tools/virsh';
import { engineReader } from '../test-support/readers';

const MiB = 1024 * 1024;
/** How long the writers below wait before opening the FIFOs: an open that blocks shows as this much delay. */
const UNBLOCK_AFTER_MS = 4000;
let lab: TestLab;
let writers: ChildProcess[];

beforeEach(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  writers = [];
});
afterEach(async () => {
  for (const writer of writers) writer.kill('SIGKILL');
  await lab.cleanup();
});

/**
 * Makes a FIFO, and a process that opens it for writing after a while: a reader that blocks on it is freed
 * then, so a blocking scan shows as a delay (the test fails on time) instead of hanging the test run.
 */
function fifo(path: string): string {
  execFileSync('mkfifo', ['--', path]);
  const code = `setTimeout(() => require('node:fs').writeFileSync(${JSON.stringify(path)}, 'x'), ${UNBLOCK_AFTER_MS})`;
  writers.push(spawn(process.execPath, ['-e', code], { stdio: 'ignore' }));
  return path;
}

/** Runs `work` and measures how late a 50 ms timer fires meanwhile: the event loop must stay free. */
async function loopStaysFree<T>(work: () => Promise<T>): Promise<{ value: T; timerLateMs: number; tookMs: number }> {
  const started = Date.now();
  let fired = -1;
  setTimeout(() => (fired = Date.now() - started), 50);
  const value = await work();
  const tookMs = Date.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 60));
  return { value, timerLateMs: fired - 50, tookMs };
}

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a FIFO or other non-regular file never blocks a scan', () => {
  test('a FIFO in a scanned folder, directly, through a symlink, and named as a backing file, is skipped with a problem; the scan returns promptly', async () => {
    await qemuImgCreate(lab.path('base.qcow2'), { size: 4 * MiB });
    fifo(lab.path('pipe'));
    await symlink(lab.path('pipe'), lab.path('link.qcow2'));
    fifo(lab.path('backing-pipe'));
    // -u: qemu-img itself must not open the FIFO to make the overlay.
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', lab.path('backing-pipe'), '-F', 'qcow2', lab.path('top.qcow2'), String(4 * MiB)]);
    await mkdir(lab.path('data'), { recursive: true });

    const { value: scan, timerLateMs, tookMs } = await loopStaysFree(() => scanFolder(lab.dir));
    expect(tookMs).toBeLessThan(1000);
    expect(timerLateMs).toBeLessThan(500);
    const problems = [...scan.problems, ...scan.domains.flatMap((d) => d.problems)].filter((p) => p.code === 'not-regular-file');
    expect(problems.map((p) => p.path).sort()).toEqual([lab.path('backing-pipe'), lab.path('link.qcow2'), lab.path('pipe')].sort());
    expect(problems.every((p) => /not a regular file/.test(p.message))).toBe(true);
    expect(scan.domains.some((d) => d.layers[lab.path('base.qcow2')] !== undefined)).toBe(true);
  });

  test('a libvirt domain whose disk is a FIFO is scanned promptly, with the problem on the domain', async () => {
    const pipe = fifo(lab.path('disk-pipe'));
    const vm = await lab.define({ name: 'fifo', disks: [{ target: 'vda', file: pipe, format: 'qcow2' }] });
    const virsh = openVirsh(TEST_URI);
    try {
      const { value: scan, timerLateMs, tookMs } = await loopStaysFree(async () => scanLibvirt(await engineReader(virsh), { domains: [vm] }));
      expect(tookMs).toBeLessThan(3000);
      expect(timerLateMs).toBeLessThan(500);
      const domain = scan.domains.find((d) => d.name === vm);
      expect(domain?.problems.find((p) => p.code === 'not-regular-file')).toMatchObject({ path: pipe, severity: 'error' });
    } finally {
      await virsh.close();
    }
  });

  test('serve keeps answering while the engine scans a folder holding a FIFO behind a symlink', async () => {
    const folder = lab.path('served');
    await mkdir(lab.path('renderer'), { recursive: true });
    await writeFile(lab.path('renderer/index.html'), '<!doctype html><title>app</title>');
    await mkdir(folder);
    await qemuImgCreate(`${folder}/base.qcow2`, { size: 4 * MiB });
    fifo(`${folder}/pipe`);
    await symlink(`${folder}/pipe`, `${folder}/disk.qcow2`);
    const engine = new Engine({ host: 'serve' });
    let server: RunningServer | null = null;
    try {
      server = await startServer({ engine, rendererDir: lab.path('renderer'), token: 'b'.repeat(48) });
      const port = server.port;
      const started = Date.now();
      const scanning = engine.scan({ kind: 'folder', path: folder });
      const answered = await get(port, '/').then((status) => ({ status, ms: Date.now() - started }));
      const scan = await scanning;
      expect(answered.ms).toBeLessThan(1000);
      expect(answered.status).toBeGreaterThanOrEqual(200);
      expect(scan.problems.some((p) => p.code === 'not-regular-file')).toBe(true);
    } finally {
      await server?.close();
      await engine.close();
    }
  });
});
