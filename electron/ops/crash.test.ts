/**
 * A kill -9 at every step of S1, S3, S4, S5, a fold-commit (offline and of a running domain), a repair, S7's revert of a running domain (powered off first,
 * started after) and S7's deletes and commit by block jobs, each before the step runs, after it ran but before the
 * journal says so, and after, and while a block job the step started runs in QEMU; then
 * recovery (docs/safety.md, rule 5). The domain ends in its before or after state with rules 1–4 of
 * docs/safety.md holding.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Domain } from '../../shared/model';
import type { Intent } from '../../shared/ops/plan';
import { Engine } from '../engine';
import { diskSource, expectSameViews, expectSnapshotRecordsTrue, expectStarts, exportViews } from '../test-support/checks';
import { corruptRefcounts } from '../test-support/damage';
import { TestLab, TEST_URI, virshSync } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';
import { unfinishedJournals } from './journal';

const MiB = 1024 * 1024;
const BIN = join(__dirname, '..', '..', 'bin', 'virt-snaptree.cjs');
const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;
let run = 0;

/** base → s1 → s2 → s3 with data in every layer; with `fork`, a branch "alt" recorded at s1; with `running`, started. */
async function seed(fork: boolean, flatten = false, running = false): Promise<string> {
  const id = `c${++run}`;
  const base = lab.path(`${id}.qcow2`);
  await qemuImgCreate(base, { size: 32 * MiB });
  await writePattern(base, 'qcow2', 0x10, 0, 4 * MiB);
  const vm = await lab.define({ name: id, disks: [{ target: 'vda', file: base, format: 'qcow2' }] });
  for (const [i, snap] of ['s1', 's2', 's3'].entries()) {
    lab.snapshot(vm, snap);
    await writePattern(diskSource(vm, 'vda'), 'qcow2', 0x21 + i, (i + 1) * 4 * MiB, MiB);
  }
  if (fork) {
    const plan = await engine.plan(source, { op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'alt' });
    if (!plan.ok) throw new Error(plan.refusal.message);
    await engine.apply(plan.plan);
    const back = await engine.plan(source, { op: 'switch', domain: vm, branch: 'main' });
    if (!back.ok) throw new Error(back.refusal.message);
    await engine.apply(back.plan);
  }
  // For S5: forget every snapshot record, so the tip's backing serves nothing else and can take a commit.
  if (flatten) for (const snap of ['s3', 's2', 's1']) virshSync(['snapshot-delete', '--domain', vm, '--snapshotname', snap, '--metadata']);
  if (running) virshSync(['start', '--domain', vm]);
  return vm;
}

interface Scenario {
  name: string;
  fork?: boolean;
  flatten?: boolean;
  intent: (vm: string) => Intent;
  /** Nodes the operation sets out to change. */
  changes: string[];
  /** Damage done after seeding, for the operation to fix. */
  damage?: (vm: string) => void;
  /** The domain runs when the operation starts. */
  running?: boolean;
  /** The CLI's arguments for the operation. */
  args?: (vm: string) => string[];
}

const SCENARIOS: Scenario[] = [
  { name: 'S1 revert with a new branch', intent: (vm) => ({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'new' }), changes: ['b:main', 'b:new'] },
  { name: 'S3 delete a snapshot with one child', intent: (vm) => ({ op: 'delete-snapshot', domain: vm, snapshot: 's2' }), changes: ['s:s2'] },
  { name: 'S4 delete a snapshot with two children', fork: true, intent: (vm) => ({ op: 'delete-snapshot', domain: vm, snapshot: 's1' }), changes: ['s:s1'] },
  { name: 'fold the tip into the last snapshot, deleting it', intent: (vm) => ({ op: 'fold-commit', domain: vm, branch: 'main', snapshot: 's3' }), changes: ['b:main', 's:s3'] },
  {
    name: 'fold the tip a running domain writes into the last snapshot',
    running: true,
    intent: (vm) => ({ op: 'fold-commit', domain: vm, branch: 'main', snapshot: 's3' }),
    changes: ['b:main', 's:s3'],
  },
  { name: 'S5 commit a tip into its only-used backing', flatten: true, intent: (vm) => ({ op: 'commit', domain: vm, branch: 'main' }), changes: ['b:main'] },
  {
    name: 'repair a corrupted tip, keeping a copy first',
    intent: (vm) => ({ op: 'repair', domain: vm, path: diskSource(vm, 'vda'), mode: 'all' }),
    changes: ['b:main'],
    damage: (vm) => corruptRefcounts(diskSource(vm, 'vda')),
  },
  {
    name: 'S7 revert a running domain with a new branch, powered off first and started after',
    running: true,
    intent: (vm) => ({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'new', stop: 'force', start: 'running' }),
    args: (vm) => ['revert', vm, 's1', '--branch', 'new', '--stop', 'force', '--start'],
    changes: ['b:main', 'b:new'],
  },
  // S7 by block jobs, killed also while the job runs in QEMU ("N:job"): a commit below the running layer, an
  // active commit that waits for its pivot, and the current tip committed live.
  { name: 'S7 delete a middle snapshot of a running domain', running: true, intent: (vm) => ({ op: 'delete-snapshot', domain: vm, snapshot: 's2' }), changes: ['s:s2'] },
  { name: 'S7 delete the snapshot below the running layer', running: true, intent: (vm) => ({ op: 'delete-snapshot', domain: vm, snapshot: 's3' }), changes: ['s:s3'] },
  { name: 'S7 commit the tip a running domain writes', running: true, flatten: true, intent: (vm) => ({ op: 'commit', domain: vm, branch: 'main' }), changes: ['b:main'] },
];

/** Powers the domain off if it runs, so that its files can be compared and it can be started by the checks. */
function shutOff(vm: string): void {
  if (virshSync(['domstate', '--domain', vm]).trim() !== 'shut off') virshSync(['destroy', '--domain', vm]);
}

/** Where each step is killed: before it runs, after, after its journal says so; and while a block job it started runs. */
async function killPoints(scenario: Scenario): Promise<string[]> {
  const vm = await seed(scenario.fork ?? false, scenario.flatten ?? false, scenario.running ?? false);
  const plan = await engine.plan(source, scenario.intent(vm));
  if (!plan.ok) throw new Error(plan.refusal.message);
  shutOff(vm);
  return plan.plan.steps.flatMap((step, i) => [
    `${i}:started`,
    ...(step.kind === 'block-commit' || step.kind === 'block-pull' ? [`${i}:job`] : []),
    `${i}:ran`,
    `${i}:done`,
  ]);
}

beforeAll(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve' });
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
});

describe.each(SCENARIOS)('$name, killed at every step, then recovered', (scenario) => {
  test('ends in its before or after state with the safety rules holding', async () => {
    const points = await killPoints(scenario);
    expect(points.length).toBeGreaterThan(0);
    for (const point of points) {
      const vm = await seed(scenario.fork ?? false, scenario.flatten ?? false, scenario.running ?? false);
      scenario.damage?.(vm);
      const before: Domain = await engine.scanDomain(source, vm);
      const views = exportViews(before, lab.path(`views-${vm}`));
      const diskBefore = diskSource(vm, 'vda');
      const intent = scenario.intent(vm);
      const args =
        scenario.args?.(vm) ??
        {
          'revert-branch': ['revert', vm, 's1', '--branch', 'new'],
          'delete-snapshot': ['delete', vm, intent.op === 'delete-snapshot' ? intent.snapshot : ''],
          commit: ['commit', vm, 'main'],
          'fold-commit': ['fold', vm, 'main', 's3'],
          repair: ['repair', vm, diskBefore, '--all'],
        }[intent.op as 'revert-branch' | 'delete-snapshot' | 'commit' | 'fold-commit' | 'repair'];
      const child = spawnSync(process.execPath, [BIN, ...args, '--connect', TEST_URI, '--yes'], {
        env: { ...process.env, SNAPTREE_CRASH_AT: point },
        encoding: 'utf8',
      });
      expect(child.signal, `killed at ${point}\n${child.stderr}`).toBe('SIGKILL');

      const reports = await engine.recover();
      expect(reports.map((r) => r.outcome)).toEqual([expect.stringMatching(/finished|rolled-back/)]);
      expect(await unfinishedJournals()).toEqual([]);

      // A finished S7 leaves the domain running; its files are compared and it is started with it shut off.
      if (scenario.running === true && reports[0]?.outcome !== 'rolled-back') expect(virshSync(['domstate', '--domain', vm]).trim(), `after ${point}`).toBe('running');
      // No block job is left behind on a domain that runs.
      if (virshSync(['domstate', '--domain', vm]).trim() === 'running') expect(virshSync(['blockjob', '--domain', vm, '--path', 'vda', '--info', '--raw']).trim(), `after ${point}`).toBe('');
      shutOff(vm);
      const after = await engine.scanDomain(source, vm);
      const rolledBack = reports[0]?.outcome === 'rolled-back';
      if (rolledBack) expect(diskSource(vm, 'vda')).toBe(diskBefore);
      await expectSameViews(after, views, rolledBack ? [] : scenario.changes);
      expectSnapshotRecordsTrue(vm);
      expectStarts(vm);
      if (intent.op === 'repair') expect((await engine.check(source, vm))[0]?.healthy, `healthy after ${point}`).toBe(!rolledBack);
    }
  });
});
