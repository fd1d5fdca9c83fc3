/**
 * Encrypted images, images holding internal snapshots, and headers QEMU refuses, through the real folder scan,
 * the CLI tree and real plans.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, openSync, closeSync, realpathSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { formatTree } from '../../shared/format-tree';
import type { Domain, ScanResult } from '../../shared/model';
import type { Intent } from '../../shared/ops/plan';
import { planOperation } from '../../shared/ops/planners';
import { compareNodes } from '../inspect/compare';
import { makeLuks } from '../test-support/luks';
import { scanFolder } from './scan-folder';

let root: string;
beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'snaptree-encrypted-')));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const img = (cwd: string, ...args: string[]): void => void execFileSync('qemu-img', args, { cwd, stdio: 'pipe' });
const ctxOf = (scan: ScanResult) => ({ scan, operationId: '7d3c1a52-3f7e-4f0a-9a55-0d7f6f1f2b10' });
const domainWith = (scan: ScanResult, path: string): Domain => scan.domains.find((d) => d.layers[path] !== undefined) as Domain;

/** A folder of its own: base.qcow2 and top.qcow2 on it, plus whatever `extra` makes. */
function folder(name: string, extra: (dir: string) => void): string {
  const dir = join(root, name);
  execFileSync('mkdir', ['-p', dir]);
  img(dir, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '64M');
  extra(dir);
  return dir;
}

describe('encrypted images', () => {
  test('a LUKS layer is marked encrypted in the scan and the tree; commit, repair and compare on its chain are refused', async () => {
    const dir = folder('luks', (d) => {
      makeLuks(d, 'secret.qcow2', ['-b', 'base.qcow2', '-F', 'qcow2']);
      img(d, 'create', '-q', '-f', 'qcow2', '-b', 'secret.qcow2', '-F', 'qcow2', 'top.qcow2');
    });
    const [secret, top] = [join(dir, 'secret.qcow2'), join(dir, 'top.qcow2')];
    const scan = await scanFolder(dir);
    const domain = domainWith(scan, top);
    expect(domain.layers[secret]).toMatchObject({ encrypted: 'luks', backing: join(dir, 'base.qcow2') });
    expect(domain.layers[top]?.encrypted ?? null).toBeNull();
    expect(formatTree(scan)).toContain(`file ${secret}: encrypted (LUKS)`);

    const intents: Intent[] = [
      { op: 'commit', domain: domain.name, branch: 'top.qcow2' },
      { op: 'repair', domain: domain.name, path: secret, mode: 'leaks' },
      { op: 'repair', domain: domain.name, path: top, mode: 'all' },
    ];
    for (const intent of intents) {
      const result = planOperation(ctxOf(scan), intent);
      expect(result.ok, intent.op).toBe(false);
      if (!result.ok) expect(result.refusal.message, intent.op).toMatch(/encrypted/);
    }
    await expect(compareNodes(domain, `f:${join(dir, 'base.qcow2')}`, 'b:top.qcow2')).rejects.toThrow(/encrypted image .*secret/);
  });

  test('the same chain without encryption plans a commit: the refusal is about the encryption alone', async () => {
    const dir = folder('plain', (d) => {
      img(d, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'mid.qcow2');
      img(d, 'create', '-q', '-f', 'qcow2', '-b', 'mid.qcow2', '-F', 'qcow2', 'top.qcow2');
    });
    const scan = await scanFolder(dir);
    const domain = domainWith(scan, join(dir, 'top.qcow2'));
    expect(planOperation(ctxOf(scan), { op: 'commit', domain: domain.name, branch: 'top.qcow2' }).ok).toBe(true);
  });
});

describe('internal snapshots', () => {
  test('a layer holding internal snapshots says how many, in the scan and in the tree', async () => {
    const dir = folder('internal', (d) => {
      img(d, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow2');
      img(d, 'snapshot', '-c', 'one', 'top.qcow2');
      img(d, 'snapshot', '-c', 'two', 'top.qcow2');
    });
    const scan = await scanFolder(dir);
    const top = join(dir, 'top.qcow2');
    expect(domainWith(scan, top).layers[top]?.internalSnapshots).toBe(2);
    expect(domainWith(scan, top).layers[join(dir, 'base.qcow2')]?.internalSnapshots ?? 0).toBe(0);
    expect(formatTree(scan)).toContain(`file ${top}: holds 2 internal snapshots`);
  });
});

describe('headers QEMU refuses', () => {
  test('an image whose header QEMU refuses is no layer: the scan says why, and the images it may be built on are not written', async () => {
    const dir = folder('refused', (d) => {
      img(d, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'mid.qcow2');
      img(d, 'create', '-q', '-f', 'qcow2', '-b', 'mid.qcow2', '-F', 'qcow2', 'top.qcow2');
      copyFileSync(join(d, 'top.qcow2'), join(d, 'odd.qcow2'));
      // Incompatible feature bit 40: the old reader dropped bits 32-63 and showed this as a normal image.
      const fd = openSync(join(d, 'odd.qcow2'), 'r+');
      writeSync(fd, Buffer.from([0x01]), 0, 1, 74);
      closeSync(fd);
    });
    const odd = join(dir, 'odd.qcow2');
    expect(() => execFileSync('qemu-img', ['info', '-f', 'qcow2', odd], { stdio: 'pipe' })).toThrow(/Unknown incompatible feature/);
    const scan = await scanFolder(dir);
    expect(scan.domains.some((d) => d.layers[odd] !== undefined)).toBe(false);
    const problem = scan.problems.find((p) => p.path === odd);
    expect(problem?.message).toMatch(/QEMU refuses to open \(Unsupported qcow2 feature\(s\): Unknown incompatible feature: 10000000000\)/);
    const domain = domainWith(scan, join(dir, 'top.qcow2'));
    const result = planOperation(ctxOf(scan), { op: 'commit', domain: domain.name, branch: 'top.qcow2' });
    expect(result.ok).toBe(false);
  });
});
