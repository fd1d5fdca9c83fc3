/**
 * `virt-snaptree clone` and `export` as users run them (the bundled entry), on a real domain of a test lab: a linked
 * and a full clone, exports to qcow2 and raw, the --json shapes, and the refusals of bad input with their words.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { domainExists } from '../test-support/clone-domains';
import { diskSource } from '../test-support/checks';
import { qemuImgSync, TestLab, TEST_URI } from '../test-support/lab';
import { seedChain, seedSlowCopy } from '../test-support/seed-chain';
import type { Domain } from '../../shared/model';
import { nodeRefOf } from './ops-commands';

const BIN = join(__dirname, '..', '..', 'bin', 'virt-snaptree.cjs');
const run = promisify(execFile);

/** This file's domains are named apart from every other test's. */
class CliLab extends TestLab {
  override readonly prefix = `snaptree-t-h3-${process.pid}-`;
}

let lab: CliLab;
let vm: string;
let base: string;
let out: string;
let env: Record<string, string>;

/** Runs `virt-snaptree VERB --connect <the test URI> REST…`: the URI goes before the arguments, so that `--` still ends the options. */
async function cli([verb = '', ...rest]: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, verb, '--connect', TEST_URI, ...rest], { encoding: 'utf8', env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface PlanJson {
  intent: { op: string; mode?: string };
  steps: Array<{ kind: string; target?: string; path?: string }>;
}

beforeAll(async () => {
  lab = await new CliLab().init();
  base = lab.path('src.qcow2');
  vm = await seedChain(lab, 'src', ['s1']);
  out = await mkdtemp(join(tmpdir(), 'snaptree-h3-out-'));
  env = { SNAPTREE_DATA_DIR: lab.path('.data') };
}, 60_000);

afterAll(async () => {
  await lab.cleanup();
  await rm(out, { recursive: true, force: true });
}, 60_000);

describe('virt-snaptree clone', () => {
  test('--dry-run --json prints the plan and makes nothing', async () => {
    const dry = await cli(['clone', vm, 's1', `${lab.prefix}dry`, '--dry-run', '--json']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    const { plan } = JSON.parse(dry.stdout) as { plan: PlanJson };
    expect(plan.intent).toMatchObject({ op: 'clone', mode: 'linked' });
    expect(plan.steps.map((s) => s.kind)).toContain('define-clone');
    expect(domainExists(`${lab.prefix}dry`)).toBe(false);
  }, 60_000);

  test('a linked clone from a snapshot is defined, says where it comes from, and reads the snapshot on its own overlay', async () => {
    const clone = `${lab.prefix}linked`;
    const done = await cli(['clone', vm, 's1', clone, '--yes', '--json']);
    if (domainExists(clone)) lab.adopt(clone);
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    const result = JSON.parse(done.stdout) as { operationId: string; plan: PlanJson };
    expect(result.operationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.plan.steps.map((s) => s.kind)).toEqual(expect.arrayContaining(['create-overlay', 'define-clone']));
    expect(domainExists(clone)).toBe(true);
    const overlay = diskSource(clone, 'vda');
    expect(overlay).not.toBe(diskSource(vm, 'vda'));
    expect(JSON.parse(qemuImgSync(['info', '-U', '--output=json', overlay])) as { 'backing-filename'?: string }).toMatchObject({ 'backing-filename': base });
    const tree = await cli(['tree', clone, '--json']);
    expect(JSON.parse(tree.stdout).domains[0].cloneOf).toMatchObject({ domain: vm, node: { kind: 'snapshot', name: 's1' } });
  }, 120_000);

  test('a full clone into --dir is a standalone image there, equal to the snapshot', async () => {
    const clone = `${lab.prefix}full`;
    const dir = await mkdtemp(join(out, 'full-'));
    const done = await cli(['clone', vm, 'snapshot:s1', clone, '--full', '--dir', dir, '--yes']);
    if (domainExists(clone)) lab.adopt(clone);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('Done.');
    const disk = diskSource(clone, 'vda');
    expect(disk.startsWith(`${dir}/`)).toBe(true);
    expect(JSON.parse(qemuImgSync(['info', '-U', '--output=json', disk])) as Record<string, unknown>).not.toHaveProperty('backing-filename');
    expect(qemuImgSync(['compare', '-U', disk, base])).toContain('identical');
  }, 120_000);

  test('a linked clone from a branch freezes its tip: the source goes on on a new tip, the clone builds on the frozen one', async () => {
    const clone = `${lab.prefix}branch`;
    const tip = diskSource(vm, 'vda');
    const done = await cli(['clone', vm, 'main', clone, '--yes', '--json']);
    if (domainExists(clone)) lab.adopt(clone);
    expect(done.code, done.stderr).toBe(0);
    const { plan } = JSON.parse(done.stdout) as { plan: PlanJson & { intent: { node: unknown } } };
    expect(plan.intent.node).toEqual({ kind: 'branch', name: 'main' });
    expect(diskSource(vm, 'vda')).not.toBe(tip);
    const backing = (path: string) => (JSON.parse(qemuImgSync(['info', '-U', '--output=json', path])) as { 'backing-filename'?: string })['backing-filename'];
    expect(backing(diskSource(vm, 'vda'))).toBe(tip);
    expect(backing(diskSource(clone, 'vda'))).toBe(tip);
  }, 120_000);

  test('a name that is a snapshot and a branch of the domain is refused until snapshot: or branch: says which', () => {
    const both: Domain = { name: 'vm', state: 'shut off', disks: [], snapshots: [{ name: 'x', parent: null, description: null, created: null, state: 'shutoff', current: false, memoryFile: null, revertFiles: [], disks: [] }], branches: [{ name: 'x', current: true, origin: 'domain', base: null, tips: [] }], layers: {}, problems: [] };
    expect(() => nodeRefOf(both, 'x')).toThrow('vm has a snapshot and a branch named "x": write snapshot:x or branch:x.');
    expect(nodeRefOf(both, 'snapshot:x')).toEqual({ kind: 'snapshot', name: 'x' });
    expect(nodeRefOf(both, 'branch:x')).toEqual({ kind: 'branch', name: 'x' });
  });

  test('bad input is refused with words that say what to change, and nothing is made', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['clone', vm, 's1', vm, '--yes'], 1, /A domain named ".*" exists already.*\[E_NAME_TAKEN\]/],
      [['clone', vm, 's1', 'a/b', '--yes'], 2, /Bad new domain name "a\/b": A name cannot contain "\/"\. \[E_BAD_INPUT\]/],
      [['clone', vm, 's1', '--yes', '--', '-x'], 2, /Bad new domain name "-x": A name cannot start with "-"\. \[E_BAD_INPUT\]/],
      [['clone', vm, 's1', `${lab.prefix}nodir`, '--dir', join(out, 'missing'), '--yes'], 2, /The --dir folder .*missing does not exist\. \[E_BAD_INPUT\]/],
      [['clone', vm, 'nosuch', `${lab.prefix}nonode`, '--yes'], 1, /has no snapshot or branch named "nosuch"\. \[E_NOT_FOUND\]/],
      [['clone', vm, 's1', `${lab.prefix}both`, '--linked', '--full', '--yes'], 2, /Give --linked or --full, not both\. \[E_BAD_INPUT\]/],
      [['export', vm, 's1', '--to', join(out, 'missing'), '--yes'], 2, /The --to folder .*missing does not exist\. \[E_BAD_INPUT\]/],
      [['export', vm, 's1', '--to', out, '--format', 'vmdk', '--yes'], 2, /--format takes "qcow2" or "raw"\. \[E_BAD_INPUT\]/],
      [['export', vm, 's1', '--to', out, '--format', 'raw', '--compress', '--yes'], 2, /--compress goes with --format qcow2/],
    ];
    for (const [args, code, words] of cases) {
      const result = await cli(args);
      expect(result.stderr, args.join(' ')).toMatch(words);
      expect(result.code, args.join(' ')).toBe(code);
    }
    for (const name of ['nodir', 'nonode', 'both']) expect(domainExists(`${lab.prefix}${name}`)).toBe(false);
  }, 120_000);
});

describe('virt-snaptree export', () => {
  test('qcow2 and raw exports equal the snapshot; an export over an existing file is refused', async () => {
    for (const format of ['qcow2', 'raw'] as const) {
      const to = await mkdtemp(join(out, `${format}-`));
      const done = await cli(['export', vm, 's1', '--to', to, '--format', format, '--yes', '--json']);
      expect(done.code, done.stderr).toBe(0);
      const { plan } = JSON.parse(done.stdout) as { plan: PlanJson };
      const targets = plan.steps.filter((s) => s.kind === 'convert').map((s) => s.target ?? '');
      expect(targets).toHaveLength(1);
      for (const target of targets) {
        expect(target.startsWith(`${to}/`)).toBe(true);
        expect(existsSync(target)).toBe(true);
        expect(qemuImgSync(['compare', '-U', '-f', format, '-F', 'qcow2', target, base])).toContain('identical');
      }
      const again = await cli(['export', vm, 's1', '--to', to, '--format', format, '--yes']);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toMatch(/exist/i);
    }
  }, 180_000);

  test('a kill (SIGTERM) or a closed terminal (SIGHUP to its process group, its output gone) mid-copy cancels as Ctrl+C does: nothing is left, nothing waits for recovery', async () => {
    const big = await seedSlowCopy(lab, 'big');
    for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
      const to = await mkdtemp(join(out, `${signal}-`));
      // Its own process group, as a terminal's foreground job: a hang-up reaches the CLI and qemu-img alike.
      const child = spawn(process.execPath, [BIN, 'export', '--connect', TEST_URI, big, 's1', '--to', to, '--compress', '--yes'], { env: { ...process.env, ...env }, detached: true });
      let stderr = '';
      const ended = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      try {
        // Signalled once the copy reports progress.
        await new Promise<void>((resolve, reject) => {
          child.stderr.on('data', (chunk: Buffer) => {
            stderr += chunk.toString();
            if (/\d+%/.test(stderr)) resolve();
          });
          child.on('close', (code) => reject(new Error(`the export ended (${code}) before it reported progress: ${stderr}`)));
        });
        if (signal === 'SIGTERM') child.kill(signal);
        else {
          child.stdout.destroy();
          child.stderr.destroy();
          process.kill(-(child.pid ?? 0), signal);
        }
        const code = await ended;
        expect(code, stderr).not.toBe(0);
        if (signal === 'SIGTERM') {
          expect(stderr).toMatch(/Cancelling/);
          expect(stderr).toMatch(/nothing was changed/i);
        }
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      expect(await readdir(to)).toEqual([]);
      // No interrupted operation holds the domain: the same export runs to its end at once.
      const again = await cli(['export', big, 's1', '--to', to, '--format', 'raw', '--yes']);
      expect(again.code, again.stderr).toBe(0);
      expect(await readdir(to)).toHaveLength(1);
    }
  }, 180_000);
});
