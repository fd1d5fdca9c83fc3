/**
 * Attacks on the engine's cut into steps-as-data (docs/architecture.md, docs/safety.md), against real qemu-img,
 * cp and virsh on images and domains made here:
 * - what every step starts is what its preview line shows: tools on PATH are wrapped to record each argv (and a
 *   virsh session's input) before they run the real tool, with names holding spaces, commas, quotes and Unicode
 *   and a description with a line break and a leading dash;
 * - a plan's impact (created nodes, removed snapshots, You are here afterwards) is what the next scan shows;
 * - a version 1 journal, as the previous release wrote it (each step's command line, no `format` on a rebase or
 *   commit, no graph fields in the impact), is recovered by this build: rolled forward past a commit, and rolled
 *   back after a safe rebase, to what a clean run or a clean rollback gives.
 */
import { localHostFiles } from './host-files';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Domain } from '../../shared/model';
import type { Intent, Plan } from '../../shared/ops/plan';
import { stepCommand, stepLine } from '../../shared/ops/step-command';
import { branchNodeId, snapshotNodeId } from '../../shared/snapshot-graph';
import { Engine } from '../engine';
import { backingOf, diskSource, expectSameViews, exportViews } from '../test-support/checks';
import { corruptRefcounts } from '../test-support/damage';
import { TestLab, TEST_URI, virshSync } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';
import { quoteVirshArg } from '../tools/virsh-command';
import { journalText, parseJournal, type JournalEntry } from './journal-schema';
import { unfinishedJournals } from './journal';
import { captureUndo, runStep } from './steps';

const MiB = 1024 * 1024;
const source = { kind: 'libvirt' as const, uri: TEST_URI };

/** The lab of this file, its names marked as this reviewer's. */
class AttackLab extends TestLab {
  override readonly prefix = `snaptree-r1-${process.pid}-${Math.random().toString(36).slice(2, 6)}-`;
}

let lab: AttackLab;
let engine: Engine;
let traceDir = '';
let seq = 0;

/** A wrapper that records its argv, NUL-separated, in a file of its own, then runs the real tool. */
function wrapper(tool: string, real: string): string {
  const record = `f="${traceDir}/$(date +%s%N)-$$"; printf '%s\\0' ${tool} "$@" > "$f.argv"`;
  if (tool !== 'virsh') return `#!/bin/bash\n${record}\nexec ${real} "$@"\n`;
  // A session (no command in argv) reads its commands from stdin: that input is recorded too.
  return `#!/bin/bash\n${record}\nfor a in "$@"; do case "$a" in -q|-r|-c|*://*) ;; *) exec ${real} "$@";; esac; done\ntee "$f.session" | ${real} "$@"\n`;
}

async function installWrappers(): Promise<void> {
  const bin = lab.path('bin');
  traceDir = lab.path('trace');
  await mkdir(bin);
  await mkdir(traceDir);
  for (const tool of ['qemu-img', 'cp', 'virsh']) {
    const real = execFileSync('which', [tool], { encoding: 'utf8' }).trim();
    await writeFile(join(bin, tool), wrapper(tool, real));
    await chmod(join(bin, tool), 0o755);
  }
  process.env.PATH = `${bin}:${process.env.PATH ?? ''}`;
}

/** Every argv the wrapped tools started since the trace was cleared, and every line sessions were sent. */
async function traced(): Promise<{ argv: string[][]; sessionLines: string[] }> {
  const names = (await readdir(traceDir)).sort();
  const argv: string[][] = [];
  const sessionLines: string[] = [];
  for (const name of names) {
    const text = await readFile(join(traceDir, name), 'utf8');
    if (name.endsWith('.argv')) argv.push(text.split('\0').slice(0, -1));
    else sessionLines.push(...text.split('\n'));
  }
  return { argv, sessionLines };
}

/** Forgets the argv recorded so far; a session's input file stays, as its tee still writes to it. */
async function clearTrace(): Promise<void> {
  for (const name of await readdir(traceDir)) if (name.endsWith('.argv')) await rm(join(traceDir, name));
}

async function planned(intent: Intent): Promise<Plan> {
  const result = await engine.plan(source, intent);
  if (!result.ok) throw new Error(`refused: ${result.refusal.code} ${result.refusal.message}`);
  return result.plan;
}

/** Applies the plan, then checks each step's command reached its tool exactly as its preview line shows it. */
async function applyTraced(plan: Plan): Promise<Domain> {
  await clearTrace();
  const result = await engine.apply(plan);
  if (result.status !== 'done' || result.domain === null) throw new Error(`not done: ${result.status}`);
  const { argv, sessionLines } = await traced();
  for (const step of plan.steps) {
    const command = stepCommand(step);
    const line = stepLine(step, plan.source);
    if (command === null || line === null) continue;
    // The preview's line is the command with the connection only.
    expect(line.filter((a) => a !== '-c' && a !== TEST_URI)).toEqual([command.tool, ...command.args]);
    if (command.tool !== 'virsh') {
      expect(argv, `${step.kind} ran as previewed`).toContainEqual([command.tool, ...command.args]);
      continue;
    }
    // The temporary file a definition or record is written to is the one thing only the run knows.
    const fileAt = command.args.findIndex((a) => a === '--file' || a === '--xmlfile');
    const matches = (args: string[]) =>
      args.length >= command.args.length &&
      args.every((a, i) => i === fileAt + 1 || a === command.args[i] || (step.kind === 'redefine-snapshot' && a === '--current'));
    const perCall = argv.filter((a) => a[0] === 'virsh' && a[4] === command.args[0]).map((a) => a.slice(4));
    const inSession = sessionLines.map((l) => /^(\S+(?: \S+)*)/.exec(l)?.[1] ?? '');
    const quoted = command.args.map((a, i) => (i === fileAt + 1 ? null : quoteVirshArg(a)));
    const sentInSession = inSession.some((l) => quoted.filter((q) => q !== null).every((q) => l.includes(q)) && l.startsWith(quoted[0] ?? ''));
    expect(perCall.some(matches) || sentInSession, `virsh ${command.args.join(' ')} ran as previewed`).toBe(true);
  }
  return result.domain;
}

/** The graph the next scan shows matches what the plan's impact said it would create, remove and make current. */
function expectImpactHolds(plan: Plan, after: Domain): void {
  const ids = new Set([...after.snapshots.map((s) => snapshotNodeId(s.name)), ...after.branches.map((b) => branchNodeId(b.name))]);
  for (const node of plan.impact.createdNodes) {
    expect(ids, `created ${node.id}`).toContain(node.id);
    // It hangs where the impact said: a snapshot from its parent, a branch from the snapshot it grows from.
    const from = node.kind === 'snapshot' ? after.snapshots.find((s) => s.name === node.name)?.parent : after.branches.find((b) => b.name === node.name)?.base;
    expect(from === null || from === undefined ? null : snapshotNodeId(from), `${node.id} hangs from`).toBe(node.parentId);
  }
  for (const name of plan.impact.removedSnapshots) expect(ids, `removed snapshot ${name}`).not.toContain(snapshotNodeId(name));
  const recreated = new Set(plan.impact.createdNodes.map((n) => n.id));
  for (const name of plan.impact.removedBranches)
    if (!recreated.has(branchNodeId(name))) expect(ids, `removed branch ${name}`).not.toContain(branchNodeId(name));
  if (plan.impact.renamed !== null) {
    expect(ids).toContain(branchNodeId(plan.impact.renamed.to));
    expect(ids).not.toContain(branchNodeId(plan.impact.renamed.from));
  }
  const current = after.branches.find((b) => b.current);
  expect(current === undefined ? null : branchNodeId(current.name)).toBe(plan.impact.currentAfter);
}

/** A domain of one disk, base → s1 → s2 with data in every layer; its file names are as awkward as a user's may be. */
async function seed(file: string): Promise<string> {
  const id = `d${++seq}`;
  const base = lab.path(`${id} ${file}.qcow2`);
  await qemuImgCreate(base, { size: 16 * MiB });
  await writePattern(base, 'qcow2', 0x10, 0, 2 * MiB);
  const vm = await lab.define({
    name: id,
    disks: [{ target: 'vda', file: base, format: 'qcow2' }],
  });
  for (const [i, snap] of ['s1', 's2'].entries()) {
    // libvirt 9 names a shut-off domain's new overlay with a diskspec's ",," kept doubled: none here.
    lab.snapshot(vm, snap, ['--diskspec', `vda,snapshot=external,file=${lab.path(`${id} ünï '${snap}'.qcow2`)}`]);
    await writePattern(diskSource(vm, 'vda'), 'qcow2', 0x21 + i, (i + 1) * 2 * MiB, MiB);
  }
  return vm;
}

beforeAll(async () => {
  lab = await new AttackLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  await installWrappers();
  engine = new Engine({ host: 'serve' });
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
});

describe('every step starts what its preview shows, and the impact is what the next scan shows', () => {
  let vm = '';
  beforeEach(async () => {
    vm = await seed("it's, ünï €");
  });

  test('create a snapshot with an awkward name and a description of two lines, one a leading dash', async () => {
    const name = "snap, it's ünï €";
    const description = 'first line\n--metadata second';
    const plan = await planned({
      op: 'create-snapshot',
      domain: vm,
      name,
      description,
    });
    const after = await applyTraced(plan);
    expectImpactHolds(plan, after);
    const xml = virshSync(['snapshot-dumpxml', '--domain', vm, '--snapshotname', name]);
    expect(xml).toContain(`<name>snap, it&apos;s ünï €</name>`);
    expect(xml).toContain('<description>first line\n--metadata second</description>');
    // libvirt keeps a diskspec's ",," in the file it makes for a shut-off domain: no file may be left so named.
    expect((await readdir(lab.dir)).filter((n) => n.includes(',,'))).toEqual([]);
    expect(Object.keys(after.layers)).toContain(diskSource(vm, 'vda'));
  });

  test('a snapshot of a shut-off domain into a folder with a comma is refused before anything runs', async () => {
    const folder = lab.path('a, b');
    await mkdir(folder);
    const base = join(folder, 'disk.qcow2');
    await qemuImgCreate(base, { size: 16 * MiB });
    const comma = await lab.define({
      name: `c${++seq}`,
      disks: [{ target: 'vda', file: base, format: 'qcow2' }],
    });
    const result = await engine.plan(source, {
      op: 'create-snapshot',
      domain: comma,
      name: 'one',
    });
    expect(result.ok ? null : result.refusal.code).toBe('E_NOT_SUPPORTED');
  });

  test('revert to a new branch, switch back, rename and delete the branch', async () => {
    const revert = await planned({
      op: 'revert-branch',
      domain: vm,
      snapshot: 's1',
      branch: "alt, it's",
    });
    expectImpactHolds(revert, await applyTraced(revert));
    const back = await planned({ op: 'switch', domain: vm, branch: 'main' });
    expectImpactHolds(back, await applyTraced(back));
    const rename = await planned({
      op: 'rename-branch',
      domain: vm,
      branch: "alt, it's",
      to: 'ünï alt',
    });
    expectImpactHolds(rename, await applyTraced(rename));
    const drop = await planned({
      op: 'delete-branch',
      domain: vm,
      branch: 'ünï alt',
    });
    expectImpactHolds(drop, await applyTraced(drop));
  });

  test('delete a snapshot (commit and rebase), then revert discarding, then commit the tip', async () => {
    const del = await planned({
      op: 'delete-snapshot',
      domain: vm,
      snapshot: 's2',
    });
    expect(del.steps.map((s) => s.kind)).toContain('commit');
    expectImpactHolds(del, await applyTraced(del));
    const discard = await planned({
      op: 'revert-discard',
      domain: vm,
      snapshot: 's1',
    });
    expectImpactHolds(discard, await applyTraced(discard));
    virshSync(['snapshot-delete', '--domain', vm, '--snapshotname', 's1', '--metadata']);
    const commit = await planned({ op: 'commit', domain: vm, branch: 'main' });
    expectImpactHolds(commit, await applyTraced(commit));
  });

  test('revert keeping the branch left under a new name, then revert discarding', async () => {
    const keep = await planned({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'ünï, new', keepAs: "kept, it's" });
    expectImpactHolds(keep, await applyTraced(keep));
    const discard = await planned({ op: 'revert-discard', domain: vm, snapshot: 's2' });
    expectImpactHolds(discard, await applyTraced(discard));
  });

  test('repair a damaged tip, keeping a copy first', async () => {
    corruptRefcounts(diskSource(vm, 'vda'));
    const plan = await planned({
      op: 'repair',
      domain: vm,
      path: diskSource(vm, 'vda'),
      mode: 'all',
    });
    expect(plan.steps.map((s) => s.kind)).toEqual(['keep-copy', 'repair']);
    expectImpactHolds(plan, await applyTraced(plan));
  });
});

/** A branch "alt" forked at s1 by a revert, with the domain switched back to main. */
async function forkAltAtS1(vm: string): Promise<void> {
  await engine.apply(await planned({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'alt' }));
  await engine.apply(await planned({ op: 'switch', domain: vm, branch: 'main' }));
}

/**
 * base → s1 → s2 → tip, a branch "alt" on base; with s2's record gone, s1's overlay only carries the tip, while
 * base is shared: deleting s1 rebases the tip safely onto base, with no commit (no point of no return).
 */
async function seedSafeRebase(file: string): Promise<string> {
  const vm = await seed(file);
  await forkAltAtS1(vm);
  virshSync(['snapshot-delete', '--domain', vm, '--snapshotname', 's2', '--metadata']);
  return vm;
}

/** A journal as the previous release wrote it: version 1, command lines, no format on a rebase or commit, no graph fields. */
function versionOneText(entry: JournalEntry): string {
  const json = JSON.parse(journalText(entry)) as {
    version: number;
    plan: {
      steps: Array<Record<string, unknown>>;
      impact: Record<string, unknown>;
    };
  };
  json.version = 1;
  json.plan.steps = entry.plan.steps.map((step) => {
    const { format: _format, ...rest } = step as typeof step & {
      format?: string;
    };
    return {
      ...rest,
      command: step.kind === 'trash' ? ['mv', '--', step.path, '<trash>'] : (stepLine(step, entry.plan.source) ?? []),
    };
  });
  for (const key of ['createdNodes', 'removedSnapshots', 'removedBranches', 'renamed', 'currentAfter']) delete json.plan.impact[key];
  return `${JSON.stringify(json, null, 1)}\n`;
}

/** Runs the plan's first step as the executor does, then leaves a version 1 journal as a kill -9 right after it would. */
async function crashAfterFirstStep(plan: Plan, vm: string): Promise<void> {
  const step = plan.steps[0];
  if (step === undefined) throw new Error('empty plan');
  const ctx = {
    virsh: null, files: localHostFiles,
    operationId: plan.id,
    domain: vm,
    op: plan.intent.op,
  };
  const undo = await captureUndo(step, ctx);
  await runStep(step, ctx);
  const entry: JournalEntry = {
    id: plan.id,
    createdAt: new Date().toISOString(),
    uri: TEST_URI,
    plan,
    status: 'running',
    steps: plan.steps.map((_s, i) => (i === 0 ? { state: 'started', undo } : { state: 'pending' })),
  };
  const text = versionOneText(entry);
  const read = parseJournal(text, plan.id);
  expect(read.ok && read.entry.plan.steps[0]).toMatchObject({
    kind: step.kind,
    format: 'qcow2',
  });
  await mkdir(join(lab.path('data'), 'journal'), { recursive: true });
  await writeFile(join(lab.path('data'), 'journal', `${plan.id}.json`), text, {
    mode: 0o600,
  });
}

describe('a version 1 journal is recovered by this build', () => {
  test('a commit lacking its format is finished: the domain reads as after a clean run', async () => {
    const vm = await seed('v1 forward');
    const clean = await seed('v1 clean');
    const plan = await planned({
      op: 'delete-snapshot',
      domain: vm,
      snapshot: 's2',
    });
    expect(plan.steps[0]?.kind).toBe('commit');
    await crashAfterFirstStep(plan, vm);
    const reports = await engine.recover(vm);
    expect(reports.map((r) => r.outcome)).toEqual(['finished']);
    expect(await unfinishedJournals()).toEqual([]);
    const done = await engine.apply(await planned({ op: 'delete-snapshot', domain: clean, snapshot: 's2' }));
    expect(done.status).toBe('done');
    const views = exportViews(await engine.scanDomain(source, clean), lab.path('views-clean'));
    const after = await engine.scanDomain(source, vm);
    expect(after.snapshots.map((s) => s.name)).toEqual(['s1']);
    // Same guest views, node for node, as the clean run (the node ids are the same: only file names differ).
    await expectSameViews(after, views);
  });

  test('a safe rebase lacking its format is undone: the domain reads as before, its file back on its old backing', async () => {
    const vm = await seedSafeRebase('v1 back');
    const before = await engine.scanDomain(source, vm);
    const views = exportViews(before, lab.path('views-back'));
    const tip = diskSource(vm, 'vda');
    const oldBacking = backingOf(tip);
    const plan = await planned({
      op: 'delete-snapshot',
      domain: vm,
      snapshot: 's1',
    });
    expect(plan.steps[0]).toMatchObject({ kind: 'rebase', unsafe: false });
    expect(plan.pointOfNoReturn).toBeNull();
    await crashAfterFirstStep(plan, vm);
    expect(backingOf(tip)).not.toBe(oldBacking);
    const reports = await engine.recover(vm);
    expect(reports.map((r) => r.outcome)).toEqual(['rolled-back']);
    expect(backingOf(tip)).toBe(oldBacking);
    const header = execFileSync('qemu-img', ['info', '--output=json', '-U', '-f', 'qcow2', '--', tip], { encoding: 'utf8' });
    expect(JSON.parse(header)).toMatchObject({
      'backing-filename-format': 'qcow2',
    });
    await expectSameViews(await engine.scanDomain(source, vm), views);
  });
});

describe('the one domain guard refuses nothing that is the fix for what it refuses', () => {
  test('a branch that lost one of its tip files can still be deleted, as it could before the guard was shared', async () => {
    const id = `b${++seq}`;
    const disks = await Promise.all(
      ['vda', 'vdb'].map(async (target) => {
        const file = lab.path(`${id}-${target}.qcow2`);
        await qemuImgCreate(file, { size: 16 * MiB });
        return { target, file, format: 'qcow2' as const };
      }),
    );
    const vm = await lab.define({ name: id, disks });
    lab.snapshot(vm, 's1');
    await forkAltAtS1(vm);
    const alt = (await engine.scanDomain(source, vm)).branches.find((b) => b.name === 'alt');
    const lost = alt?.tips.find((t) => t.target === 'vdb')?.file;
    if (lost === undefined) throw new Error('no tip on vdb');
    await rm(lost);
    const scanned = await engine.scanDomain(source, vm);
    // The scan reports the lost file as an error of the domain; deleting the branch is how it goes away.
    expect(scanned.problems.some((p) => p.severity === 'error' && p.message.includes('"alt"'))).toBe(true);
    const result = await engine.plan(source, {
      op: 'delete-branch',
      domain: vm,
      branch: 'alt',
    });
    expect(result.ok ? 'planned' : `${result.refusal.code}: ${result.refusal.message}`).toBe('planned');
  });
});

describe('cancelling an operation', () => {
  test('cancelled as a safe rebase starts, the operation is undone and nothing is changed', async () => {
    const vm = await seedSafeRebase('cancel');
    const views = exportViews(await engine.scanDomain(source, vm), lab.path('views-cancel'));
    const tip = diskSource(vm, 'vda');
    const oldBacking = backingOf(tip);
    const plan = await planned({
      op: 'delete-snapshot',
      domain: vm,
      snapshot: 's1',
    });
    expect(plan.steps[0]).toMatchObject({ kind: 'rebase', unsafe: false });
    const controller = new AbortController();
    const error: unknown = await engine
      .apply(plan, {
        signal: controller.signal,
        onProgress: (e) => e.step === 0 && controller.abort(),
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    // The undo runs whatever the cancelled signal says: a cancel stops the operation, never its way back.
    expect(error).toMatchObject({
      code: 'E_CANCELLED',
      message: expect.stringContaining('Nothing was changed'),
    });
    expect(await unfinishedJournals()).toEqual([]);
    expect(backingOf(tip)).toBe(oldBacking);
    await expectSameViews(await engine.scanDomain(source, vm), views);
  });
});

describe('cancelling a commit', () => {
  test('the journal says the operation must be finished, and recovery finishes it to what a clean run gives', async () => {
    const vm = await seed('cancel commit');
    await writePattern(diskSource(vm, 'vda'), 'qcow2', 0x33, 0, 12 * MiB);
    for (const snap of ['s2', 's1']) virshSync(['snapshot-delete', '--domain', vm, '--snapshotname', snap, '--metadata']);
    const views = exportViews(await engine.scanDomain(source, vm), lab.path('views-cancel-commit'));
    const plan = await planned({ op: 'commit', domain: vm, branch: 'main' });
    expect(plan.steps[0]?.kind).toBe('commit');
    const controller = new AbortController();
    const error: unknown = await engine
      .apply(plan, {
        signal: controller.signal,
        onProgress: (e) => e.step === 0 && e.percent !== null && controller.abort(),
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toMatchObject({
      code: 'E_CANCELLED',
      message: expect.stringContaining('virt-snaptree recover'),
    });
    const [journal] = await unfinishedJournals();
    expect(journal?.status).toBe('failed');
    expect(journal?.steps[0]?.state).toBe('started');
    const reports = await engine.recover(vm);
    expect(reports.map((r) => r.outcome)).toEqual(['finished']);
    await expectSameViews(await engine.scanDomain(source, vm), views);
  });
});

describe('repair is the fix for what the scan flags', () => {
  test('an image qemu marked corrupt in its header can be repaired, on a domain whose only error is that mark', async () => {
    const vm = await seed('marked');
    const tip = diskSource(vm, 'vda');
    corruptRefcounts(tip);
    // qcow2 header: incompatible features at byte 72, big-endian; bit 1 is "corrupt" (docs/model.md).
    const fd = await open(tip, 'r+');
    const bits = Buffer.alloc(8);
    await fd.read(bits, 0, 8, 72);
    bits.writeBigUInt64BE(bits.readBigUInt64BE(0) | 2n, 0);
    await fd.write(bits, 0, 8, 72);
    await fd.close();
    const scanned = await engine.scanDomain(source, vm);
    expect(scanned.problems.filter((p) => p.severity === 'error').map((p) => p.path)).toEqual([tip]);
    const plan = await engine.plan(source, {
      op: 'repair',
      domain: vm,
      path: tip,
      mode: 'all',
    });
    expect(plan.ok ? 'planned' : `${plan.refusal.code}: ${plan.refusal.message}`).toBe('planned');
    if (!plan.ok) return;
    expectImpactHolds(plan.plan, await applyTraced(plan.plan));
    expect((await engine.scanDomain(source, vm)).problems.filter((p) => p.severity === 'error')).toEqual([]);
  });
});

describe('a define step never probes a format', () => {
  test('a raw disk whose guest wrote a qcow2 header at its start stays raw when a delete points the disk back at it', async () => {
    const id = `r${++seq}`;
    const base = lab.path(`${id}.raw`);
    await qemuImgCreate(base, { format: 'raw', size: 16 * MiB });
    // What a guest may write to its own disk: a qcow2 header naming a host file as its backing file.
    const bait = lab.path(`${id}-bait.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/hostname', '--', bait, '16M']);
    execFileSync('qemu-io', ['-f', 'raw', '-c', `write -s ${bait} 0 512`, '--', base]);
    const vm = await lab.define({
      name: id,
      disks: [{ target: 'vda', file: base, format: 'raw' }],
    });
    lab.snapshot(vm, 's1', ['--diskspec', `vda,snapshot=external,file=${lab.path(`${id}.s1.qcow2`)}`]);
    const plan = await planned({
      op: 'delete-snapshot',
      domain: vm,
      snapshot: 's1',
    });
    expect(plan.steps.map((s) => s.kind)).toContain('define-domain');
    await engine.apply(plan);
    expect(diskSource(vm, 'vda')).toBe(base);
    const xml = virshSync(['dumpxml', '--domain', vm, '--inactive']);
    const disk = [...xml.matchAll(/<disk[\s\S]*?<\/disk>/g)].map((m) => m[0]).find((d) => d.includes("dev='vda'")) ?? '';
    expect(/<driver[^>]*type='(\w+)'/.exec(disk)?.[1]).toBe('raw');
  });
});
