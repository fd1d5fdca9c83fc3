/**
 * What the folder scan shows of a layer agrees with what QEMU does when it opens the same file for use (docs/safety.md,
 * rule 11): the header flags QEMU refuses, raw sizes in whole sectors, backing and data file names that are not valid
 * UTF-8, and header fields QEMU ignores.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, realpathSync, writeFileSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Domain, Problem, ScanResult } from '../../shared/model';
import type { Intent } from '../../shared/ops/plan';
import { planOperation } from '../../shared/ops/planners';
import { scanFolder } from './scan-folder';

let root: string;
beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'snaptree-fidelity-')));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const img = (cwd: string, ...args: string[]): string => execFileSync('qemu-img', args, { cwd, stdio: 'pipe' }).toString();
const problemsOf = (scan: ScanResult): Problem[] => [...scan.problems, ...scan.domains.flatMap((d) => d.problems)];
const domainWith = (scan: ScanResult, path: string): Domain => scan.domains.find((d) => d.layers[path] !== undefined) as Domain;
const ctxOf = (scan: ScanResult) => ({ scan, operationId: '0b9e3c4d-5a61-4f7e-8d2a-3c1b5e7f9a20' });
/** "café" in Latin-1: bytes that are not valid UTF-8. */
const CAFE = Buffer.from([0x63, 0x61, 0x66, 0xe9]);
/** Runs qemu-img through the shell: `$CAFE` is the raw bytes 63 61 66 e9, which Node's argv (UTF-8 text) cannot pass. */
const imgRaw = (cwd: string, args: string): string =>
  execFileSync('bash', ['-c', `CAFE="$(printf 'caf\\xe9')"; qemu-img ${args}`], { cwd, stdio: 'pipe' }).toString('latin1');

function folder(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  img(dir, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '10M');
  return dir;
}

function poke(file: string, offset: number, bytes: Buffer): void {
  const fd = openSync(file, 'r+');
  writeSync(fd, bytes, 0, bytes.length, offset);
  closeSync(fd);
}

/** Whether QEMU opens the image for use (read-only, without its backing chain), as a VM would. */
function qemuOpens(file: string): boolean {
  try {
    execFileSync('qemu-io', ['-r', '-c', 'quit', `json:${JSON.stringify({ driver: 'qcow2', backing: null, file: { driver: 'file', filename: file } })}`], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

describe('the scan shows what QEMU opens', () => {
  test('an image with the data-file-raw flag and no data file is unreadable with QEMU reason, as qemu-io refuses it', async () => {
    const dir = folder('raw-flag');
    const x = join(dir, 'x.qcow2');
    img(dir, 'create', '-q', '-f', 'qcow2', 'x.qcow2', '10M');
    poke(x, 88, Buffer.from([0, 0, 0, 0, 0, 0, 0, 2]));
    expect(qemuOpens(x)).toBe(false);
    const scan = await scanFolder(dir);
    expect(scan.domains.some((d) => d.layers[x] !== undefined)).toBe(false);
    expect(problemsOf(scan).find((p) => p.path === x)?.message).toMatch(/data-file-raw requires a data file/);
  });

  test('a raw layer is as large as qemu-img says: its length rounded up to whole 512-byte sectors', async () => {
    const dir = folder('raw-size');
    writeFileSync(join(dir, 'raw1000.img'), Buffer.alloc(1000));
    img(dir, 'create', '-q', '-f', 'qcow2', '-b', 'raw1000.img', '-F', 'raw', 'top.qcow2');
    // A qcow2 file named with -F raw is a raw disk of the file's length.
    img(dir, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'raw', 'over-raw.qcow2');
    const chain = JSON.parse(img(dir, 'info', '--backing-chain', '--output=json', '-f', 'qcow2', 'top.qcow2')) as Array<{ 'virtual-size': number }>;
    const asRaw = JSON.parse(img(dir, 'info', '--output=json', '-f', 'raw', 'base.qcow2')) as { 'virtual-size': number };
    expect(chain[1]?.['virtual-size']).toBe(1024);
    const scan = await scanFolder(dir);
    expect(domainWith(scan, join(dir, 'top.qcow2')).layers[join(dir, 'raw1000.img')]?.virtualSize).toBe(1024);
    expect(domainWith(scan, join(dir, 'over-raw.qcow2')).layers[join(dir, 'base.qcow2')]?.virtualSize).toBe(asRaw['virtual-size']);
  });

  test('a backing name that is not valid UTF-8 is reported with escapes, never as missing; the chain is not followed and plans on it are refused', async () => {
    const dir = folder('utf8');
    copyFileSync(join(dir, 'base.qcow2'), Buffer.concat([Buffer.from(`${dir}/`), CAFE, Buffer.from('.qcow2')]));
    const c = join(dir, 'c.qcow2');
    imgRaw(dir, 'create -q -f qcow2 -u -b "$CAFE.qcow2" -F qcow2 c.qcow2 10M');
    // QEMU opens the chain through the raw name: the base is there, nothing is missing.
    expect(imgRaw(dir, 'info --backing-chain -f qcow2 c.qcow2')).toContain('image: caf\xe9.qcow2');
    img(dir, 'create', '-q', '-f', 'qcow2', '-b', 'c.qcow2', '-F', 'qcow2', 'top.qcow2');
    const scan = await scanFolder(dir);
    const problems = problemsOf(scan);
    expect(problems.filter((p) => /missing|does not exist/.test(p.message))).toEqual([]);
    const named = problems.find((p) => p.path === c && /not valid UTF-8/.test(p.message));
    expect(named?.severity).toBe('error');
    expect(named?.message).toContain('caf\\xe9.qcow2');
    const domain = domainWith(scan, c);
    expect(domain.layers[c]).toMatchObject({ backing: null, backingName: null });
    const intents: Intent[] = [
      { op: 'commit', domain: domain.name, branch: 'top.qcow2' },
      { op: 'repair', domain: domain.name, path: c, mode: 'leaks' },
    ];
    for (const intent of intents) expect(planOperation(ctxOf(scan), intent).ok, intent.op).toBe(false);
  });

  test('a data file name that is not valid UTF-8 is reported with escapes, never as missing', async () => {
    const dir = folder('utf8-data');
    const d = join(dir, 'd.qcow2');
    imgRaw(dir, 'create -q -f qcow2 -o "data_file=$CAFE.raw" d.qcow2 10M');
    const scan = await scanFolder(dir);
    const problems = problemsOf(scan);
    expect(problems.filter((p) => p.code === 'missing-data-file')).toEqual([]);
    expect(problems.find((p) => p.path === d && /not valid UTF-8/.test(p.message))?.message).toContain('caf\\xe9.raw');
    expect(problems.find((p) => p.path === d && p.code === 'external-data-file')).toBeDefined();
  });

  test('a backing format with an empty backing name is no backing link, as qemu-img shows it', async () => {
    const dir = folder('empty-name');
    const z = join(dir, 'z.qcow2');
    img(dir, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'z.qcow2');
    poke(z, 16, Buffer.alloc(4));
    expect(JSON.parse(img(dir, 'info', '--output=json', '-f', 'qcow2', 'z.qcow2'))).not.toHaveProperty('backing-filename-format');
    const scan = await scanFolder(dir);
    expect(domainWith(scan, z).layers[z]).toMatchObject({ backingName: null, backingFormat: null, backing: null });
  });

  test('a data file extension without the data-file bit is ignored, as QEMU does: no data file is shown', async () => {
    const dir = folder('data-bit-clear');
    const d = join(dir, 'dd.qcow2');
    img(dir, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=d.raw', 'dd.qcow2', '10M');
    poke(d, 79, Buffer.from([0])); // the low byte of the incompatible features: clears bit 2, the data-file bit
    expect(qemuOpens(d)).toBe(true);
    const scan = await scanFolder(dir);
    expect(domainWith(scan, d).layers[d]?.dataFile ?? null).toBeNull();
    expect(problemsOf(scan).filter((p) => p.path === d)).toEqual([]);
  });
});
