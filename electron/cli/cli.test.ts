import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ScanResult } from '../../shared/model';
import { leakCluster } from '../test-support/damage';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';

// The CLI as users run it: the bundled entry that `npm run build` writes (scripts/test.sh builds first).
const BIN = join(__dirname, '..', '..', 'bin', 'virt-snaptree.cjs');
const run = promisify(execFile);

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snaptree-cli-'));
  await qemuImgCreate(join(dir, 'base.qcow2'), { size: 16 << 20 });
  await qemuImgCreate(join(dir, 'a.qcow2'), { backing: { path: join(dir, 'base.qcow2'), format: 'qcow2' } });
  await qemuImgCreate(join(dir, 'b.qcow2'), { backing: { path: join(dir, 'base.qcow2'), format: 'qcow2' } });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('operation verbs on an image folder', () => {
  test('commit IMAGE folds a tip into its backing and moves it to the trash; --dry-run changes nothing', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'snaptree-cli-ops-'));
    try {
      await qemuImgCreate(join(folder, 'base.qcow2'), { size: 16 << 20 });
      await qemuImgCreate(join(folder, 'mid.qcow2'), { backing: { path: join(folder, 'base.qcow2'), format: 'qcow2' } });
      await qemuImgCreate(join(folder, 'top.qcow2'), { backing: { path: join(folder, 'mid.qcow2'), format: 'qcow2' } });
      const env = { SNAPTREE_DATA_DIR: join(folder, '.data') };
      const dry = await cli(['commit', '--folder', folder, join(folder, 'top.qcow2'), '--dry-run', '--json'], env);
      expect(dry.code).toBe(0);
      expect(JSON.parse(dry.stdout).plan.steps.map((s: { kind: string }) => s.kind)).toEqual(['commit', 'trash']);
      expect(existsSync(join(folder, 'top.qcow2'))).toBe(true);
      const done = await cli(['commit', '--folder', folder, join(folder, 'top.qcow2'), '--yes'], env);
      expect(done.code).toBe(0);
      expect(existsSync(join(folder, 'top.qcow2'))).toBe(false);
      const trash = await cli(['trash', 'list', '--folder', folder, '--json'], env);
      expect(JSON.parse(trash.stdout).map((e: { original: string }) => e.original)).toEqual([join(folder, 'top.qcow2')]);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('virt-snaptree compare', () => {
  test('names the fork and says whether two tips read the same bytes', async () => {
    const text = await cli(['compare', '--folder', dir, 'base.qcow2', 'a.qcow2', 'b.qcow2']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('forked at base.qcow2');
    expect(text.stdout).toContain('the guest reads the same bytes on both sides');
    const json = await cli(['compare', '--folder', dir, 'base.qcow2', 'a.qcow2', 'branch:b.qcow2', '--json']);
    expect(JSON.parse(json.stdout).disks[0]).toMatchObject({ identical: true, fork: join(dir, 'base.qcow2') });
  });

  test('a file path stands for that image file', async () => {
    const json = await cli(['compare', '--folder', dir, 'base.qcow2', join(dir, 'base.qcow2'), 'a.qcow2', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).disks[0]).toMatchObject({ fork: join(dir, 'base.qcow2'), a: { file: join(dir, 'base.qcow2'), ownLayers: [] } });
  });

  test('check reports every layer healthy, and says so', async () => {
    const result = await cli(['check', '--folder', dir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('base.qcow2: healthy\n');
  });
});

describe('virt-snaptree check FOLDER and repair', () => {
  test('a leak is reported with exit 1, repaired by repair IMAGE, and then the folder is healthy', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'snaptree-cli-check-'));
    try {
      const image = join(folder, 'leaky.qcow2');
      await qemuImgCreate(image, { size: 16 << 20 });
      await writePattern(image, 'qcow2', 7, 0, 1 << 20);
      leakCluster(image);
      const env = { SNAPTREE_DATA_DIR: join(folder, '.data') };
      const sick = await cli(['check', folder], env);
      expect(sick.code).toBe(1);
      expect(sick.stdout).toContain('leaky.qcow2: needs attention');
      expect(sick.stdout).toContain('1 leaked cluster(s)');
      const fixed = await cli(['repair', '--folder', folder, image, '--yes'], env);
      expect(fixed.code, fixed.stderr).toBe(0);
      expect(fixed.stdout).toContain('qemu-img check -r leaks -f qcow2 -- ' + image);
      const healthy = await cli(['check', folder, '--json'], env);
      expect(healthy.code).toBe(0);
      expect(JSON.parse(healthy.stdout)[0]).toMatchObject({ domain: 'leaky.qcow2', healthy: true });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('virt-snaptree tree', () => {
  test('prints an indented tree of a folder', async () => {
    const { code, stdout } = await cli(['tree', '--folder', dir]);
    expect(code).toBe(0);
    expect(stdout).toContain('└─ base.qcow2');
    expect(stdout).toMatch(/├─ ⎇ a\.qcow2/);
    expect(stdout).toMatch(/└─ ⎇ b\.qcow2/);
  });

  test('--json prints the model', async () => {
    const { code, stdout } = await cli(['tree', '--folder', dir, '--json']);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as ScanResult;
    expect(result.domains[0]?.branches.map((b) => b.name)).toEqual(['a.qcow2', 'b.qcow2']);
  });

  test('named domains (a folder\'s trees by their base) are the only ones printed; an unknown name is E_NOT_FOUND', async () => {
    const named = await cli(['tree', '--folder', dir, '--json', 'base.qcow2']);
    expect(named.code).toBe(0);
    expect((JSON.parse(named.stdout) as ScanResult).domains.map((d) => d.name)).toEqual(['base.qcow2']);
    const unknown = await cli(['tree', '--folder', dir, 'base.qcow2', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No domain named "nope". [E_NOT_FOUND]');
  });

  test('bad input is refused with exit code 2 and a clear message', async () => {
    const bad = await cli(['tree', '--domain', '-rf']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot start with "-"/);
    const both = await cli(['tree', '--folder', dir, '--connect', 'qemu:///system']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('[E_BAD_INPUT]');
    const missing = await cli(['tree', '--folder', join(dir, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('[E_NOT_FOUND]');
  });
});

describe('terminal output', () => {
  test('control characters in names from disk never reach the terminal raw; JSON output keeps the exact name', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'snaptree-cli-esc-'));
    try {
      const name = 'evil\x1b]0;pwned\x07\u009b2J\u202eexe\u2028\u200b\ufeff.qcow2';
      await qemuImgCreate(join(folder, 'base.qcow2'), { size: 1 << 20 });
      await qemuImgCreate(join(folder, name), { backing: { path: join(folder, 'base.qcow2'), format: 'qcow2' } });
      const shown = await cli(['tree', '--folder', folder]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain('evil\\u001b]0;pwned\\u0007\\u009b2J\\u202eexe\\u2028\\u200b\\ufeff.qcow2');
      // eslint-disable-next-line no-control-regex -- the point is that none are printed
      expect(shown.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e\u2028\u200b\ufeff]/);
      const json = await cli(['tree', '--folder', folder, '--json']);
      // eslint-disable-next-line no-control-regex -- the point is that none are printed
      expect(json.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
      const parsed = JSON.parse(json.stdout) as ScanResult;
      expect(Object.keys(parsed.domains[0]?.layers ?? {})).toContain(join(folder, name));
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
