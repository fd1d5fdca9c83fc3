/**
 * The executor on real images and a real libvirt domain: an operation whose lock is lost stops and undoes what
 * ran; an id that already has a journal is refused before any step; "Nothing was changed" is said only once a
 * fresh scan confirms it.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Intent, Plan } from '../../shared/ops/plan';
import type { ProgressEvent } from '../../shared/ops/results';
import { planOperation } from '../../shared/ops/planners';
import { scanLibvirt } from '../scan/scan-libvirt';
import { TestLab, TEST_URI, virshSync } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';
import { VirshPerCall } from '../tools/virsh';
import { executePlan, recoverAll, type ExecuteDeps } from './executor';
import { readJournals } from './journal';
import { lockDomain } from './lock';
import { engineReader } from '../test-support/readers';

const MiB = 1024 * 1024;
const virsh = new VirshPerCall(TEST_URI);
let lab: TestLab;
let run = 0;

/** A shut-off domain with disks vda and vdb and one external snapshot s1. */
async function seed(): Promise<string> {
  const id = `x${++run}`;
  for (const target of ['vda', 'vdb']) await qemuImgCreate(lab.path(`${id}-${target}.qcow2`), { size: 16 * MiB });
  const vm = await lab.define({
    name: id,
    disks: ['vda', 'vdb'].map((target) => ({ target, file: lab.path(`${id}-${target}.qcow2`), format: 'qcow2' })),
  });
  lab.snapshot(vm, 's1');
  return vm;
}

async function planned(intent: Intent, operationId: string = randomUUID()): Promise<Plan> {
  const result = planOperation({ scan: await scanLibvirt(await engineReader(virsh)), operationId }, intent);
  if (!result.ok) throw new Error(result.refusal.message);
  return result.plan;
}

/** The executor's dependencies, counting scans; `atStep` runs as step N is about to start. */
function deps(atStep: Record<number, () => void> = {}): ExecuteDeps & { scans: () => number } {
  let scans = 0;
  return {
    virsh,
    scan: async () => {
      scans++;
      return scanLibvirt(await engineReader(virsh));
    },
    rescan: async () => null,
    onProgress: (event: ProgressEvent) => {
      if (event.percent === null) atStep[event.step]?.();
    },
    scans: () => scans,
  };
}

/** What the operation could touch: the domain's definition, snapshot records and disk sources. */
function world(vm: string): string {
  return [
    virshSync(['dumpxml', '--domain', vm, '--inactive']),
    virshSync(['snapshot-list', '--domain', vm, '--name']),
    virshSync(['snapshot-current', '--domain', vm, '--name']),
  ].join('\n');
}

beforeAll(async () => {
  lab = await new TestLab().init();
});

beforeEach(() => {
  process.env.SNAPTREE_DATA_DIR = lab.path(`data-${randomUUID()}`);
});

afterAll(async () => {
  delete process.env.SNAPTREE_DATA_DIR;
  await lab?.cleanup();
});

describe('a lock lost during an operation', () => {
  test('the operation stops before its next step, undoes what ran and says the lock was lost', async () => {
    const vm = await seed();
    const before = world(vm);
    const plan = await planned({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'lost' });
    const first = plan.steps[0];
    if (first?.kind !== 'create-overlay') throw new Error('expected an overlay first');
    const dataDir = process.env.SNAPTREE_DATA_DIR ?? '';
    // Someone removes the lock folder while step 1 has run: step 2 must not start.
    const run = executePlan(plan, deps({ 1: () => rmSync(join(dataDir, 'locks'), { recursive: true, force: true }) }));
    await expect(run).rejects.toMatchObject({ code: 'E_LOCKED', message: expect.stringMatching(/lock on .* was lost.*Nothing was changed/) });
    expect(existsSync(first.path)).toBe(false);
    expect(world(vm)).toBe(before);
    expect((await readJournals()).map((j) => [j.status, j.steps.map((s) => s.state)])).toEqual([['rolled-back', ['undone', 'pending', 'pending', 'pending']]]);
  });
});

describe('an operation id that already has a journal', () => {
  test('is refused before any step, and the earlier journal stays byte-identical', async () => {
    const vm = await seed();
    const earlier = await planned({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'first' });
    expect(await executePlan(earlier, deps())).toMatchObject({ status: 'done' });
    const journal = join(process.env.SNAPTREE_DATA_DIR ?? '', 'journal', `${earlier.id}.json`);
    const bytes = readFileSync(journal);
    const before = world(vm);
    const again = await planned({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'second' }, earlier.id);
    await expect(executePlan(again, deps())).rejects.toMatchObject({ code: 'E_NAME_TAKEN', message: expect.stringMatching(/already has a journal.*nothing ran/) });
    expect(readFileSync(journal).equals(bytes)).toBe(true);
    expect(world(vm)).toBe(before);
    for (const step of again.steps) if (step.kind === 'create-overlay') expect(existsSync(step.path)).toBe(false);
  });
});

describe('what a failed operation says it did', () => {
  test('a step failing mid-way is undone, a fresh scan confirms it, and only then the error says nothing was changed', async () => {
    const vm = await seed();
    const before = world(vm);
    const plan = await planned({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'blocked' });
    const [first, second] = plan.steps;
    if (first?.kind !== 'create-overlay' || second?.kind !== 'create-overlay') throw new Error('expected two overlays first');
    // Something else puts a file where step 2 creates vdb's overlay: the step refuses to touch it.
    const executed = deps({ 1: () => writeFileSync(second.path, 'not ours\n') });
    const error = await executePlan(plan, executed).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_CHANGED', message: expect.stringMatching(/already exists; it was not made by this operation\. Nothing was changed/) });
    // The plan was checked before the run and, after the undo, once more.
    expect(executed.scans()).toBe(2);
    expect(existsSync(first.path)).toBe(false);
    expect(readFileSync(second.path, 'utf8')).toBe('not ours\n');
    expect(world(vm)).toBe(before);
  });

  test('when the world differs after the undo, the error keeps its cause and says what ran, but claims nothing', async () => {
    const vm = await seed();
    const plan = await planned({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'moved' });
    const second = plan.steps[1];
    if (second?.kind !== 'create-overlay') throw new Error('expected two overlays first');
    // Step 2 fails as above, and someone else forgets snapshot s1 meanwhile: the world is not as it was.
    const executed = deps({
      1: () => {
        writeFileSync(second.path, 'not ours\n');
        virshSync(['snapshot-delete', '--domain', vm, '--snapshotname', 's1', '--metadata']);
      },
    });
    const error = await executePlan(plan, executed).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_CHANGED', message: expect.stringMatching(/already exists; it was not made by this operation\./) });
    const message = (error as Error).message;
    expect(message).not.toMatch(/Nothing was changed/);
    expect(message).toMatch(/Steps 1 and 2 ran and were undone, but a fresh scan does not show .* Check/);
  });
});

describe('an undo that fails', () => {
  test('the error keeps its cause, says which steps ran and were undone, and recovery finishes the undo later', async () => {
    const vm = await seed();
    const before = world(vm);
    const plan = await planned({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'stuck' });
    const [first, second] = plan.steps;
    if (first?.kind !== 'create-overlay' || second?.kind !== 'create-overlay') throw new Error('expected two overlays first');
    // Step 2 fails as above, and step 1's new file is made immutable, so undoing step 1 cannot remove it.
    const executed = deps({
      1: () => {
        writeFileSync(second.path, 'not ours\n');
        execFileSync('chattr', ['+i', first.path]);
      },
    });
    try {
      const error = await executePlan(plan, executed).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'E_CHANGED', message: expect.stringMatching(/already exists; it was not made by this operation\. Undoing it failed too/) });
      const message = (error as Error).message;
      expect(message).not.toMatch(/Nothing was changed/);
      expect(message).toMatch(/Ran: steps 1 and 2; undone: step 2\. Check .* "virt-snaptree recover"/);
      expect((await readJournals()).map((j) => j.status)).toEqual(['failed']);
    } finally {
      execFileSync('chattr', ['-i', first.path]);
    }
    // Until it is recovered, no other operation runs on the domain.
    const other = await planned({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'meanwhile' });
    await expect(executePlan(other, deps())).rejects.toMatchObject({ code: 'E_LOCKED', message: expect.stringMatching(/did not finish .*run "virt-snaptree recover"/) });
    // A domain another operation holds is left alone by recovery, its journal untouched.
    const held = await lockDomain(TEST_URI, vm);
    expect(await recoverAll(() => virsh)).toEqual([]);
    expect((await readJournals()).map((j) => j.status)).toEqual(['failed']);
    await held.release();
    expect(await recoverAll(() => virsh)).toEqual([expect.objectContaining({ outcome: 'rolled-back' })]);
    expect(existsSync(first.path)).toBe(false);
    expect(world(vm)).toBe(before);
  });
});

describe('a journal that is a link', () => {
  test('an operation whose journal name is a planted link is refused before any step; the target stays byte-identical', async () => {
    const vm = await seed();
    const before = world(vm);
    const plan = await planned({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'linked' });
    const journals = join(process.env.SNAPTREE_DATA_DIR ?? '', 'journal');
    mkdirSync(journals, { recursive: true, mode: 0o700 });
    const outside = lab.path(`outside-${plan.id}.json`);
    writeFileSync(outside, '{"precious":true}\n');
    symlinkSync(outside, join(journals, `${plan.id}.json`));
    await expect(executePlan(plan, deps())).rejects.toMatchObject({ code: 'E_NAME_TAKEN' });
    expect(readFileSync(outside, 'utf8')).toBe('{"precious":true}\n');
    expect(world(vm)).toBe(before);
  });
});
