/**
 * Crashes of an operation on a remote hypervisor (`qemu+ssh://`, the test host of scripts/test-host.sh), then
 * recovery (docs/safety.md, rules 5 and 7): the CLI killed with SIGKILL at every step of S1, S3, S4 and S5; the SSH
 * connection cut while qemu-img commits on the host; two engines on one remote domain at once. The domain ends in
 * its before or after state with rules 1–4 checked on the host (guest views, untouched files, records), the lock
 * held on the host is free again, and this computer's files at the host's paths (decoys) are never touched.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Domain } from '../../shared/model';
import type { Intent, Plan } from '../../shared/ops/plan';
import type { Engine } from '../engine';
import { nodeViews } from '../test-support/checks';
import { withEngineLab } from '../test-support/engine-lab';
import { onTestHost, requireTestHost, TEST_HOST, TEST_HOST_URI } from '../test-support/test-host';
import { controlName, shellQuote } from '../tools/ssh-runner';
import { unfinishedJournals } from './journal';

const BIN = join(__dirname, '..', '..', 'bin', 'virt-snaptree.cjs');
const tag = `k${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
const dir = `/var/lib/snaptree-${tag}`;
const source = { kind: 'libvirt' as const, uri: TEST_HOST_URI };
/** Where the remote lock of a domain is held, as `lockOnHost` (electron/ops/lock.ts) names it. */
const LOCKS = '~/.local/state/virt-snaptree/locks';
const defined: string[] = [];
/** Folders for the CLI's own SSH master connections, so that cutting one cuts no other test's. */
const controlBases: string[] = [];
let engine: Engine;
let run = 0;

withEngineLab((_lab, e) => {
  engine = e;
});

const q = (args: readonly string[]) => args.map(shellQuote).join(' ');
const rv = (args: string[]) => onTestHost(`virsh -q -c qemu:///system ${q(args)}`);

// --- Decoys: this computer's files at the host's paths -------------------------------------------------------

const planted = new Map<string, { sha: string; mtimeMs: number }>();
const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Plants a decoy here at each path the host's images have there: a real qcow2 for the first, text for the others. */
function plantDecoys(paths: string[]): void {
  for (const path of paths) {
    if (planted.has(path)) continue;
    mkdirSync(dirname(path), { recursive: true });
    if (planted.size === 0) execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, '1G']);
    else writeFileSync(path, `decoy ${path}\n`);
    planted.set(path, { sha: digest(path), mtimeMs: statSync(path).mtimeMs });
  }
}

/** Every decoy kept its bytes and time, and nothing else appeared here under the host's folder. */
function expectDecoysUntouched(): void {
  for (const [path, was] of planted) expect({ path, sha: digest(path), mtimeMs: statSync(path).mtimeMs }).toEqual({ path, ...was });
  expect(readdirSync(dir).map((n) => join(dir, n)).sort()).toEqual([...planted.keys()].sort());
}

// --- Domains on the host ----------------------------------------------------------------------------------

/** The XML of a domain with one qcow2 disk, vda. */
function domainXml(vm: string, file: string): string {
  return `<domain type='qemu'><name>${vm}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${file}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;
}

/** Defines a domain on the host on a new base image of `size`, `baseData` bytes of pattern 0x10 written at 0. */
function defineOnHost(size: string, baseData: string): { vm: string; base: string } {
  const id = `c${++run}`;
  const vm = `snaptree-${tag}-${id}`;
  const base = `${dir}/${id}.qcow2`;
  defined.push(vm);
  onTestHost(
    [
      'set -e',
      `mkdir -p ${dir}`,
      `qemu-img create -q -f qcow2 ${base} ${size}`,
      `qemu-io -f qcow2 -c 'write -P 0x10 0 ${baseData}' ${base} >/dev/null`,
      `cat > ${dir}/${id}.xml <<'XML'\n${domainXml(vm, base)}\nXML`,
      `virsh -q -c qemu:///system define ${dir}/${id}.xml >/dev/null`,
      `rm -f ${dir}/${id}.xml`,
    ].join('\n'),
  );
  return { vm, base };
}

/** The file vda uses now, per libvirt on the host. */
function diskOnHost(vm: string): string {
  return onTestHost(`virsh -q -c qemu:///system domblklist ${q([vm])} | awk '$1=="vda"{print $2}'`).trim();
}

/** Takes disk-only snapshots with libvirt's own overlay names, writing 1 MiB of its own pattern in each new layer. */
function snapshotsOnHost(vm: string, names: string[]): void {
  const lines = names.map((name, i) =>
    [
      `virsh -q -c qemu:///system snapshot-create-as ${q([vm, name])} --disk-only --atomic >/dev/null`,
      `f=$(virsh -q -c qemu:///system domblklist ${q([vm])} | awk '$1=="vda"{print $2}')`,
      `qemu-io -f qcow2 -c 'write -P ${0x21 + i} ${(i + 1) * 4}M 1M' "$f" >/dev/null`,
    ].join('\n'),
  );
  onTestHost(['set -e', ...lines].join('\n'));
}

/** Plans and applies on the test engine; throws unless it is done. */
async function applied(intent: Intent): Promise<void> {
  const planned = await engine.plan(source, intent);
  if (!planned.ok) throw new Error(planned.refusal.message);
  const result = await engine.apply(planned.plan);
  if (result.status !== 'done') throw new Error(`${intent.op}: ${result.status}`);
}

/** base → s1 → s2 → s3 with data in every layer; with `fork`, a branch "alt" recorded at s1; with `flatten`, no records. */
async function seed(fork: boolean, flatten: boolean): Promise<string> {
  const { vm } = defineOnHost('16M', '4M');
  snapshotsOnHost(vm, ['s1', 's2', 's3']);
  if (fork) {
    await applied({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'alt' });
    await applied({ op: 'switch', domain: vm, branch: 'main' });
  }
  // For S5: forget every snapshot record, so the tip's backing serves nothing else and can take a commit.
  if (flatten) for (const snap of ['s3', 's2', 's1']) rv(['snapshot-delete', '--domain', vm, '--snapshotname', snap, '--metadata']);
  return vm;
}

// --- Checks of rules 1–4 on the host ------------------------------------------------------------------------

/** The sha256 of every node's guest view, exported raw on the host (shared, -U) and hashed there. */
function viewHashes(domain: Domain): Record<string, string> {
  const entries = Object.entries(nodeViews(domain));
  const raw = `/tmp/snaptree-${tag}-view.raw`;
  const lines = entries.map(
    ([, file]) => `qemu-img convert -U -f ${domain.layers[file]?.format ?? 'qcow2'} -O raw -- ${q([file])} ${raw} && sha256sum < ${raw} | cut -c1-64 && rm -f ${raw}`,
  );
  const hashes = onTestHost(['set -e', ...lines].join('\n')).trim().split('\n');
  return Object.fromEntries(entries.map(([key], i) => [key, hashes[i] ?? '']));
}

/** sha256 of files on the host. */
function checksumsOnHost(paths: string[]): Record<string, string> {
  const lines = onTestHost(`sha256sum -- ${q(paths)}`).trim().split('\n');
  return Object.fromEntries(lines.map((line) => [line.slice(66), line.slice(0, 64)]));
}

/** Every file named by a snapshot record exists on the host, and libvirt's parents are the scan's. */
function expectRecordsTrue(vm: string, domain: Domain): void {
  const script = [
    `for s in $(virsh -q -c qemu:///system snapshot-list ${q([vm])} --name); do`,
    `  printf 'parent %s %s\\n' "$s" "$(virsh -q -c qemu:///system snapshot-parent ${q([vm])} "$s" 2>/dev/null)"`,
    `  virsh -q -c qemu:///system snapshot-dumpxml ${q([vm])} "$s" | grep -o "<source file='[^']*'" | cut -d"'" -f2 |`,
    `    while read -r f; do [ -e "$f" ] || echo "missing $s $f"; done`,
    'done',
  ].join('\n');
  const lines = onTestHost(script).split('\n').filter(Boolean);
  expect(lines.filter((l) => l.startsWith('missing'))).toEqual([]);
  const parents = lines.filter((l) => l.startsWith('parent ')).map((l) => l.slice(7).trim().split(' '));
  expect(Object.fromEntries(parents.map(([name, parent]) => [name, parent ?? null]))).toEqual(
    Object.fromEntries(domain.snapshots.map((s) => [s.name, s.parent])),
  );
}

/** The domain starts on the host from its definition (its chains resolve), and is powered off again. */
function expectStartsOnHost(vm: string): void {
  rv(['start', '--domain', vm]);
  rv(['destroy', '--domain', vm]);
}

/** The remote lock file of a domain, as `lockOnHost` names it (its driver path and the domain). */
function lockFile(vm: string): string {
  return `${LOCKS}/${createHash('sha256').update(`/system\0${vm}`).digest('hex').slice(0, 24)}`;
}

/** Whether the host's flock on the domain's lock file is free, waiting up to `ms` for it to become free. */
function remoteLockFree(vm: string, ms = 10_000): boolean {
  const tries = Math.max(1, Math.ceil(ms / 100));
  const file = lockFile(vm);
  const script = `for i in $(seq ${tries}); do { [ ! -e ${file} ] || flock -n -E 75 ${file} true; } && { echo free; exit 0; }; sleep 0.1; done; echo held`;
  return onTestHost(script).trim() === 'free';
}

/** Waits until the host's flock on the domain's lock file is held by someone (an engine); false after `ms`. */
function remoteLockHeld(vm: string, ms = 60_000): boolean {
  const tries = Math.ceil(ms / 100);
  const script = `for i in $(seq ${tries}); do [ -e ${lockFile(vm)} ] && { flock -n -E 75 ${lockFile(vm)} true; [ $? = 75 ] && { echo held; exit 0; }; }; sleep 0.1; done; echo free`;
  return onTestHost(script).trim() === 'held';
}

// --- The CLI as another process -----------------------------------------------------------------------------

/** A folder of its own for the SSH connection of a CLI run (XDG_RUNTIME_DIR, which ssh-runner's controlDir uses). */
function controlBase(): string {
  const base = mkdtempSync(join(tmpdir(), 'stk-'));
  controlBases.push(base);
  return base;
}

/** The pid of the SSH master connection that a CLI run with this control base opened, or null. */
function masterPid(base: string): number | null {
  const check = spawnSync('ssh', ['-o', `ControlPath=${join(base, `virt-snaptree-ssh-${process.getuid?.() ?? 0}`, controlName({ host: TEST_HOST }))}`, '-O', 'check', TEST_HOST], { encoding: 'utf8' });
  const pid = /pid=(\d+)/.exec(check.stderr)?.[1];
  return pid === undefined ? null : Number(pid);
}

/** The CLI's arguments for an operation on the test host, applied without asking. */
function cliArgs(intent: Intent): string[] {
  const connect = ['--connect', TEST_HOST_URI, '--yes'];
  switch (intent.op) {
    case 'revert-branch':
      return ['revert', intent.domain, intent.snapshot, '--branch', intent.branch, ...connect];
    case 'delete-snapshot':
      return ['delete', intent.domain, intent.snapshot, ...connect];
    case 'commit':
      return ['commit', intent.domain, intent.branch, ...connect];
    case 'rename-branch':
      return ['rename-branch', intent.domain, intent.branch, intent.to, ...connect];
    default:
      throw new Error(`no CLI command for ${intent.op} in these tests`);
  }
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Starts the CLI on the host for `args`; `exited` resolves when it ends. */
function startCli(args: string[], env: Record<string, string>): { pid: number; exited: Promise<Exit> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<Exit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  return { pid: child.pid ?? -1, exited };
}

/** Waits (on the host, up to 45 s) until qemu-img commits `file`; returns the pid of that qemu-img there. */
function waitForCommitOnHost(file: string): number {
  const pattern = `^qemu-img commit .*${file.replace(/[.]/g, '\\.')}`;
  const script = `for i in $(seq 900); do p=$(pgrep -f ${q([pattern])} | head -n1); [ -n "$p" ] && { echo "$p"; exit 0; }; sleep 0.05; done; echo none`;
  const out = onTestHost(script).trim();
  if (!/^\d+$/.test(out)) throw new Error(`qemu-img commit of ${file} never ran on the host`);
  return Number(out);
}

// --- Set-up and clean-up ----------------------------------------------------------------------------------

beforeAll(() => {
  requireTestHost();
  execFileSync('test', ['-f', join(__dirname, '..', '..', '.vite', 'build', 'cli.js')]);
  onTestHost(`mkdir -p ${dir} && chmod 0755 ${dir}`);
});

afterAll(() => {
  for (const vm of defined) {
    try {
      onTestHost(
        [
          `v() { virsh -q -c qemu:///system "$@"; }`,
          `v destroy ${q([vm])} >/dev/null 2>&1`,
          `for s in $(v snapshot-list ${q([vm])} --name 2>/dev/null); do v snapshot-delete ${q([vm])} "$s" --metadata >/dev/null; done`,
          `v undefine ${q([vm])} >/dev/null 2>&1`,
          `rm -f ${lockFile(vm)}`,
          'true',
        ].join('\n'),
      );
    } catch {
      // Reported by the tests; clean up the rest all the same.
    }
  }
  try {
    onTestHost(`rm -rf ${dir} /tmp/snaptree-${tag}-view.raw`);
  } catch {
    // The host went away: nothing more to remove there.
  }
  for (const base of controlBases) {
    spawnSync('ssh', ['-o', `ControlPath=${join(base, `virt-snaptree-ssh-${process.getuid?.() ?? 0}`, controlName({ host: TEST_HOST }))}`, '-O', 'exit', TEST_HOST], { stdio: 'ignore' });
    rmSync(base, { recursive: true, force: true });
  }
  rmSync(dir, { recursive: true, force: true });
});

// --- 1. kill -9 at every step ------------------------------------------------------------------------------

interface Scenario {
  name: string;
  fork?: boolean;
  flatten?: boolean;
  intent: (vm: string) => Intent;
  /** Nodes the operation sets out to change. */
  changes: string[];
}

const SCENARIOS: Scenario[] = [
  { name: 'S1 revert with a new branch', intent: (vm) => ({ op: 'revert-branch', domain: vm, snapshot: 's1', branch: 'new' }), changes: ['b:main', 'b:new'] },
  { name: 'S3 delete a snapshot with one child', intent: (vm) => ({ op: 'delete-snapshot', domain: vm, snapshot: 's2' }), changes: ['s:s2'] },
  { name: 'S4 delete a snapshot with two children', fork: true, intent: (vm) => ({ op: 'delete-snapshot', domain: vm, snapshot: 's1' }), changes: ['s:s1'] },
  { name: 'S5 commit a tip into its only-used backing', flatten: true, intent: (vm) => ({ op: 'commit', domain: vm, branch: 'main' }), changes: ['b:main'] },
];

/** Where each step is killed: once journaled as started, after it ran, after its journal says so. */
const killPoints = (plan: Plan) => plan.steps.flatMap((_step, i) => [`${i}:started`, `${i}:ran`, `${i}:done`]);

/** What a domain is before an operation: its scan, views, files' checksums and the plan the engine makes for it. */
async function before(scenario: Scenario, vm: string) {
  const domain = await engine.scanDomain(source, vm);
  plantDecoys(Object.keys(domain.layers));
  const planned = await engine.plan(source, scenario.intent(vm));
  if (!planned.ok) throw new Error(planned.refusal.message);
  return { domain, plan: planned.plan, views: viewHashes(domain), sums: checksumsOnHost(Object.keys(domain.layers)), disk: diskOnHost(vm) };
}

/** Rules 1–4 after recovery: views kept (but the changed nodes' when finished), files not named kept, records true. */
async function expectRulesHold(scenario: Scenario, vm: string, was: Awaited<ReturnType<typeof before>>, rolledBack: boolean, at: string): Promise<void> {
  const after = await engine.scanDomain(source, vm);
  expect(after.problems.filter((p) => p.severity === 'error'), `problems after ${at}`).toEqual([]);
  if (rolledBack) expect(diskOnHost(vm), `disk after ${at}`).toBe(was.disk);
  const views = viewHashes(after);
  for (const [key, hash] of Object.entries(was.views)) {
    if (!rolledBack && scenario.changes.some((c) => key.startsWith(`${c}/`))) continue;
    expect(views[key], `${key} reads the same bytes after ${at}`).toBe(hash);
  }
  const named = new Set([...was.plan.impact.written, ...was.plan.impact.trashed]);
  const kept = Object.keys(was.sums).filter((p) => !named.has(p));
  expect(checksumsOnHost(kept), `files the plan does not name, after ${at}`).toEqual(Object.fromEntries(kept.map((p) => [p, was.sums[p]])));
  expectRecordsTrue(vm, after);
  expectStartsOnHost(vm);
}

describe.each(SCENARIOS)('$name on the remote host, killed at every step, then recovered', (scenario) => {
  test('ends in its before or after state, the safety rules holding there and the host lock free', async () => {
    const base = controlBase();
    let points: string[] | null = null;
    let last = '';
    const outcomes: Record<string, number> = {};
    for (let k = 0; points === null || k < points.length; k++) {
      const vm = await seed(scenario.fork ?? false, scenario.flatten ?? false);
      const was = await before(scenario, vm);
      points ??= killPoints(was.plan);
      const point = points[k] ?? '';
      const child = spawnSync(process.execPath, [BIN, ...cliArgs(scenario.intent(vm))], {
        env: { ...process.env, SNAPTREE_CRASH_AT: point, XDG_RUNTIME_DIR: base },
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(child.signal, `killed at ${point}\n${child.stderr}`).toBe('SIGKILL');
      // The lock the killed engine held on the host dies with its SSH channel.
      expect(remoteLockFree(vm), `host lock free after the kill at ${point}`).toBe(true);

      const reports = await engine.recover();
      expect(reports.map((r) => r.outcome), `recovery after ${point}: ${JSON.stringify(reports)}`).toEqual([expect.stringMatching(/finished|rolled-back/)]);
      expect(await unfinishedJournals()).toEqual([]);
      await expectRulesHold(scenario, vm, was, reports[0]?.outcome === 'rolled-back', point);
      const outcome = reports[0]?.outcome ?? 'none';
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      expect(remoteLockFree(vm, 0), `host lock free after recovery from ${point}`).toBe(true);
      last = vm;
    }
    console.log(`${scenario.name}: ${String(points?.length)} kill points (${(points ?? []).join(' ')}); ${JSON.stringify(outcomes)}`);
    // A new operation runs on the domain: nothing holds its lock, here or there.
    await applied({ op: 'rename-branch', domain: last, branch: 'main', to: 'again' });
    expectDecoysUntouched();
  }, 1_800_000);
});

// --- 2. The SSH connection cut while qemu-img commits on the host -------------------------------------------

/** A domain whose tip holds 1 GiB of pattern 0x33 over its base, with no snapshot record: S5's commit runs long there. */
function bigCommitDomain(): { vm: string; base: string; tip: string } {
  const { vm, base } = defineOnHost('2G', '4M');
  rv(['snapshot-create-as', '--domain', vm, '--name', 's1', '--disk-only', '--atomic']);
  const tip = diskOnHost(vm);
  onTestHost(`qemu-io -f qcow2 -c 'write -P 0x33 4M 1G' ${q([tip])} >/dev/null`);
  rv(['snapshot-delete', '--domain', vm, '--snapshotname', 's1', '--metadata']);
  return { vm, base, tip };
}

/** The guest view of `file` on the host reads the base's data, then the tip's 1 GiB, then zeros. */
function expectBigView(file: string): void {
  const out = onTestHost(`qemu-io -r -U -f qcow2 -c 'read -P 0x10 0 4M' -c 'read -P 0x33 4M 1G' -c 'read -P 0 1028M 64M' ${q([file])}`);
  expect(out).not.toMatch(/fail|error/i);
  expect(out.match(/^read /gm)).toHaveLength(3);
}

/** Kills, on the host, the SSH session (sshd's process of that connection) that runs the qemu-img of pid `pid`. */
function killSessionOnHost(pid: number): void {
  const script = [
    `p=${pid}`,
    'while [ "$p" -gt 1 ]; do',
    '  p=$(ps -o ppid= -p "$p" | tr -d " ")',
    '  case "$(ps -o comm= -p "$p")" in sshd*) case "$(ps -o args= -p "$p")" in *@notty*) kill -9 "$p"; echo "$p"; exit 0;; esac;; esac',
    'done',
    'exit 1',
  ].join('\n');
  expect(onTestHost(script).trim()).toMatch(/^\d+$/);
}

const CUTS: Array<{ name: string; cut: (base: string, qemuImg: number) => void }> = [
  {
    name: 'the SSH master connection here is killed',
    cut: (base) => {
      const pid = masterPid(base);
      if (pid === null) throw new Error('no SSH master connection for the CLI');
      process.kill(pid, 'SIGKILL');
    },
  },
  { name: 'the SSH session on the host is killed (its sshd process)', cut: (_base, qemuImg) => killSessionOnHost(qemuImg) },
];

describe.each(CUTS)('a commit on the remote host when $name', ({ cut }) => {
  test('fails with a clear error, frees the host lock, loses nothing, and is finished by recovery', async () => {
    const { vm, base, tip } = bigCommitDomain();
    plantDecoys([base, tip]);
    const control = controlBase();
    const cli = startCli(cliArgs({ op: 'commit', domain: vm, branch: 'main' }), { XDG_RUNTIME_DIR: control });
    const qemuImg = waitForCommitOnHost(tip);
    cut(control, qemuImg);
    const exit = await cli.exited;
    expect(exit.code, exit.stderr).toBe(1);
    expect(exit.stderr).toMatch(/SSH connection to snaptree-test-host was lost|connection to snaptree-test-host ended|cannot be reached over SSH/);
    expect(exit.stderr).toMatch(/\[(E_CONNECT|E_LOCKED)\]/);
    expect(exit.stderr).toMatch(/virt-snaptree recover/);
    console.log(`cut: ${exit.stderr.trim().split('\n').at(-1) ?? ''}`);
    // The qemu-img it ran there was stopped with the connection, and the lock held over it is free.
    expect(onTestHost(`pgrep -f ${q([`^qemu-img commit .*${tip}`])} || echo none`).trim()).toBe('none');
    expect(remoteLockFree(vm)).toBe(true);
    expect(await unfinishedJournals()).toHaveLength(1);

    const reports = await engine.recover();
    expect(reports.map((r) => r.outcome), JSON.stringify(reports)).toEqual(['finished']);
    expect(await unfinishedJournals()).toEqual([]);
    expect(diskOnHost(vm)).toBe(base);
    expectBigView(base);
    expectStartsOnHost(vm);
    expect(remoteLockFree(vm, 0)).toBe(true);
    await applied({ op: 'rename-branch', domain: vm, branch: 'main', to: 'again' });
    expectDecoysUntouched();
  }, 600_000);
});

// --- 3. Two engines on one remote domain ------------------------------------------------------------------

describe('two engines on one remote domain at once', () => {
  test('the second is refused with E_LOCKED, from this computer or another, until the first ends', async () => {
    const vm = await seed(false, false);
    const was = await before(SCENARIOS[0] as Scenario, vm);
    rv(['start', '--domain', vm]);
    // The first waits for a clean shutdown the guest (it has no OS) never does: it holds the locks meanwhile.
    const first = startCli(['revert', vm, 's1', '--branch', 'new', '--stop', 'shutdown', '--timeout', '90', '--connect', TEST_HOST_URI, '--yes'], {
      XDG_RUNTIME_DIR: controlBase(),
    });
    expect(remoteLockHeld(vm), 'the first engine holds the host lock').toBe(true);

    const second = (env: Record<string, string>) =>
      spawnSync(process.execPath, [BIN, ...cliArgs({ op: 'rename-branch', domain: vm, branch: 'main', to: 'other' })], {
        env: { ...process.env, XDG_RUNTIME_DIR: controlBase(), ...env },
        encoding: 'utf8',
        timeout: 120_000,
      });
    // From this computer: the data folder's lock refuses it.
    const here = second({});
    expect(here.status, here.stderr).toBe(1);
    expect(here.stderr).toMatch(/\[E_LOCKED\]/);
    // From another computer (a data folder of its own): the host's lock refuses it, naming the host.
    const elsewhere = second({ SNAPTREE_DATA_DIR: join(controlBase(), 'data') });
    expect(elsewhere.status, elsewhere.stderr).toBe(1);
    expect(elsewhere.stderr).toMatch(/\[E_LOCKED\]/);
    expect(elsewhere.stderr).toMatch(/on snaptree-test-host/);
    console.log(`second engine here: ${here.stderr.trim()}\nsecond engine elsewhere: ${elsewhere.stderr.trim()}`);

    process.kill(first.pid, 'SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(remoteLockFree(vm), 'the host lock dies with the killed engine').toBe(true);
    const reports = await engine.recover();
    expect(reports.map((r) => r.outcome), JSON.stringify(reports)).toEqual(['rolled-back']);
    // The guest never shut down: it still runs, on the same files.
    expect(rv(['domstate', '--domain', vm]).trim()).toBe('running');
    rv(['destroy', '--domain', vm]);
    expect(diskOnHost(vm)).toBe(was.disk);
    expect(viewHashes(await engine.scanDomain(source, vm))).toEqual(was.views);
    await applied({ op: 'rename-branch', domain: vm, branch: 'main', to: 'other' });
    expectDecoysUntouched();
  }, 600_000);
});
