/**
 * Scan benchmark (docs/architecture.md, "Benchmarks"), every figure beside its baseline measured in the same run.
 * Three libvirt hosts are built: 20 domains × 50 external snapshots × 2 disks, one domain with a chain of 1,000
 * snapshots, and one domain with 200 branches forked from one snapshot (bench/libvirt-host.ts). Measured:
 * - the engine's scan of the 20 × 50 host in process (through libvirt's library), against the naive scan (one
 *   virsh process per call), with the scan through virsh sessions and batches beside them;
 * - `virt-snaptree tree --connect URI DOMAIN…` over the host's domains as a whole process (Node start, loading,
 *   connecting, scan, printing), against a shell loop of `virsh snapshot-list --tree` over the same domains,
 *   with one virsh process dumping every snapshot's XML beside them: target no slower than the loop;
 * - the chain and the fork shapes: the engine's scan and the whole process, target ≤ 1 s each;
 * - the 20 × 50 host again on a second hypervisor over SSH (scripts/test-host.sh): `tree --connect qemu+ssh://…`
 *   as a whole process against the local one, target ≤ 3 s and within 3× of it.
 *
 *   npm run bench:scan            (as root, with libvirtd and the test host running: scripts/start-libvirt.sh,
 *                                  scripts/test-host.sh start; builds the CLI first)
 *   BENCH_DOMAINS=5 BENCH_SNAPSHOTS=20 BENCH_CHAIN=200 BENCH_BRANCHES=50 npm run bench:scan     (smaller hosts)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { listedNames } from '../electron/scan/list-snapshots';
import { nativeReader, openNative, virshReader, type LibvirtReader } from '../electron/scan/libvirt-reader';
import { scanConnection } from '../electron/scan/remote-scan';
import { runChecked } from '../electron/tools/host-runner';
import { sshRunner } from '../electron/tools/ssh-runner';
import { sshTargetOf } from '../shared/source-rules';
import { scanLibvirt } from '../electron/scan/scan-libvirt';
import { NativeLibvirt, sizeThreadPool } from '../electron/tools/libvirt-native';
import { openVirsh, type Virsh } from '../electron/tools/virsh';
import { buildHost, shapes, type HostShape } from './libvirt-host';
import { median, report, type Row } from './report';

const URI = process.env.BENCH_URI ?? 'qemu:///system';
/** The second hypervisor, over SSH (scripts/test-host.sh start). */
const REMOTE_URI = process.env.BENCH_REMOTE_URI ?? 'qemu+ssh://snaptree-test-host/system';
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const PREFIX = `snaptree-bench-${process.pid}-`;
const BIN = join(__dirname, '..', '..', 'bin', 'virt-snaptree.cjs');
const SHAPE_TARGET_S = 1;

interface Scanned {
  seconds: number;
  snapshots: number;
  layers: number;
}

async function seconds(run: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await run();
  return (performance.now() - t0) / 1000;
}

/** How a scan reads libvirt: its library (the engine's way for a local connection), virsh sessions, a virsh per call. */
type ReadMode = 'library' | 'session' | 'per-call';

/** A fresh reader as a new engine would open it, and how to close it. */
async function openReader(mode: ReadMode): Promise<{ reader: LibvirtReader; close: () => Promise<void> }> {
  if (mode === 'library') {
    const native = await NativeLibvirt.open(URI);
    return { reader: nativeReader(native), close: () => native.close() };
  }
  const virsh = openVirsh(URI, mode);
  return { reader: virshReader(virsh), close: () => virsh.close() };
}

/** The engine's scan of `names` in process, connecting included. */
async function timeScan(mode: ReadMode, names: string[]): Promise<Scanned> {
  const t0 = performance.now();
  const { reader, close } = await openReader(mode);
  try {
    const result = await scanLibvirt(reader, { domains: names });
    const took = (performance.now() - t0) / 1000;
    const problems = result.domains.flatMap((d) => d.problems);
    if (problems.length > 0) throw new Error(`scan reported problems: ${problems[0]?.message}`);
    return {
      seconds: took,
      snapshots: result.domains.reduce((n, d) => n + d.snapshots.length, 0),
      layers: result.domains.reduce((n, d) => n + Object.keys(d.layers).length, 0),
    };
  } finally {
    await close();
  }
}

/** `virt-snaptree tree --connect URI DOMAIN…` as a user runs it: a whole Node process. */
async function timeTree(names: string[], uri = URI): Promise<number> {
  return seconds(async () => {
    const { stdout } = await execa('node', [BIN, 'tree', '--connect', uri, '--', ...names]);
    if (!names.every((n) => stdout.includes(n))) throw new Error('tree left out a domain');
    if (/not managed|missing|does not exist/.test(stdout)) throw new Error(`tree of ${uri} reported a problem`);
  });
}

/** The engine's scan of a remote connection in process (its library over SSH, its files over SSH), connecting included. */
async function timeRemoteScan(uri: string, names: string[]): Promise<number> {
  const t0 = performance.now();
  const native = await openNative(uri);
  if (native === null) throw new Error(`the library did not open ${uri}`);
  try {
    const result = await scanConnection(nativeReader(native), { domains: names });
    const problems = result.domains.flatMap((d) => d.problems);
    if (problems.length > 0) throw new Error(`remote scan reported problems: ${problems[0]?.message}`);
    return (performance.now() - t0) / 1000;
  } finally {
    await native.close();
  }
}

/**
 * The same host shape on a second hypervisor reached over SSH (scripts/test-host.sh), against this one in the
 * same run: `tree --connect qemu+ssh://…` as a whole process (target ≤ 3 s, and within 3× of the local one), and
 * the engine's scan in process. Built there, and removed after.
 */
async function remoteRows(shape: HostShape, localNames: string[]): Promise<Row[]> {
  const target = sshTargetOf(REMOTE_URI);
  if (target === null) throw new Error(`${REMOTE_URI} is not an SSH connection`);
  const runner = sshRunner(target);
  const virsh = openVirsh(REMOTE_URI);
  const dir = `/var/lib/${PREFIX}remote`;
  const defs = await mkdtemp(join(tmpdir(), 'snaptree-bench-defs-'));
  let names: string[] = [];
  try {
    names = await buildHost(virsh, dir, PREFIX, shape, { runner, defs });
    await runChecked(runner, 'sync', []);
    await timeTree(names, REMOTE_URI);
    const [remoteTree = [], localTree = [], remoteScan = [], localScan = []] = await interleaved([
      () => timeTree(names, REMOTE_URI),
      () => timeTree(localNames),
      () => timeRemoteScan(REMOTE_URI, names),
      async () => (await timeScan('library', localNames)).seconds,
    ]);
    const remote = median(remoteTree);
    const local = median(localTree);
    return [
      { metric: 'over SSH: tree --connect qemu+ssh, whole process (median)', value: remote, baseline: local, unit: 's', target: '<= 3 s and <= 3x local', met: remote <= 3 && remote <= 3 * local },
      { metric: 'over SSH: engine scan (median)', value: median(remoteScan), baseline: median(localScan), unit: 's' },
    ];
  } finally {
    for (const name of names) await virsh.run(['undefine', '--domain', name, '--snapshots-metadata']).catch(() => undefined);
    await virsh.close();
    await runChecked(runner, 'rm', ['-rf', '--', dir]).catch(() => undefined);
    await rm(defs, { recursive: true, force: true });
  }
}

/** The baseline of the issue: a shell loop of `virsh snapshot-list --tree` (names passed as arguments, not as text). */
async function timeShellLoop(names: string[]): Promise<number> {
  const loop = 'for d in "$@"; do virsh -q -c "$URI" snapshot-list --tree --domain "$d" || exit 1; done';
  return seconds(() => execa('bash', ['-c', loop, 'bash', ...names], { env: { URI }, stdout: 'ignore' }));
}

/** The floor: one virsh process reading a `snapshot-dumpxml` for every snapshot from its standard input. */
async function timeOneVirsh(commands: string): Promise<number> {
  return seconds(() => execa('virsh', ['-q', '-c', URI], { input: commands, stdout: 'ignore' }));
}

/** The floor's input: one command a snapshot (the bench's names are plain words; no quoting needed). */
async function dumpCommands(virsh: Virsh, names: string[]): Promise<string> {
  const lines: string[] = [];
  for (const domain of names) {
    for (const snapshot of listedNames(await virsh.run(['snapshot-list', '--domain', domain, '--name']))) {
      lines.push(`snapshot-dumpxml --domain ${domain} --snapshotname ${snapshot}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Runs each measure RUNS times, interleaved so that a burst of load falls on all of them alike. */
async function interleaved(measures: Array<() => Promise<number>>): Promise<number[][]> {
  const times = measures.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) for (const [m, measure] of measures.entries()) times[m]?.push(await measure());
  return times;
}

async function hostRows(setup: Virsh, names: string[]): Promise<{ rows: Row[]; shape: Omit<Scanned, 'seconds'> }> {
  await timeScan('library', names); // warm-up: page cache, libvirtd caches
  await timeTree(names);
  const commands = await dumpCommands(setup, names);
  let shape = { snapshots: 0, layers: 0 };
  const scanOnce = (mode: ReadMode) => async () => {
    const run = await timeScan(mode, names);
    if (shape.snapshots !== 0 && (run.snapshots !== shape.snapshots || run.layers !== shape.layers)) throw new Error('the scans disagree');
    shape = { snapshots: run.snapshots, layers: run.layers };
    return run.seconds;
  };
  const [engine = [], sessions = [], tree = [], loop = [], floor = []] = await interleaved([
    scanOnce('library'),
    scanOnce('session'),
    () => timeTree(names),
    () => timeShellLoop(names),
    () => timeOneVirsh(commands),
  ]);
  const naive = await timeScan('per-call', names);
  if (naive.snapshots !== shape.snapshots || naive.layers !== shape.layers) throw new Error('the scans disagree');
  const scan = median(engine);
  const whole = median(tree);
  return {
    shape,
    rows: [
      { metric: 'engine scan (median)', value: scan, baseline: naive.seconds, unit: 's', target: '<= 1.5 s', met: scan <= 1.5 },
      { metric: 'engine scan speed-up over naive', value: naive.seconds / scan, baseline: null, unit: 'x', target: '>= 10x', met: naive.seconds / scan >= 10 },
      { metric: 'scan through virsh sessions and batches (median)', value: median(sessions), baseline: scan, unit: 's' },
      { metric: 'tree --connect, whole process (median)', value: whole, baseline: median(loop), unit: 's', target: '<= shell loop', met: whole <= median(loop) },
      { metric: 'one virsh dumping every snapshot XML (floor)', value: median(floor), baseline: null, unit: 's' },
      { metric: 'tree --connect min / shell loop min', value: Math.min(...tree), baseline: Math.min(...loop), unit: 's' },
    ],
  };
}

async function shapeRows(label: string, names: string[]): Promise<Row[]> {
  await timeScan('library', names);
  const [engine = [], tree = []] = await interleaved([async () => (await timeScan('library', names)).seconds, () => timeTree(names)]);
  const scan = Math.max(...engine);
  const whole = Math.max(...tree);
  return [
    { metric: `${label}: engine scan (slowest of ${RUNS})`, value: scan, baseline: null, unit: 's', target: '<= 1 s', met: scan <= SHAPE_TARGET_S },
    { metric: `${label}: tree --connect, whole process (slowest)`, value: whole, baseline: null, unit: 's', target: '<= 1 s', met: whole <= SHAPE_TARGET_S },
  ];
}

async function main(): Promise<void> {
  // The in-process scans read libvirt as the CLI and the app do: with their thread pool (before its first use).
  sizeThreadPool();
  const dir = await mkdtemp(join(tmpdir(), 'snaptree-bench-'));
  const setup = openVirsh(URI);
  const { host, chain, branches } = shapes(process.env);
  const built: string[] = [];
  const build = async (shape: HostShape) => {
    const names = await buildHost(setup, dir, PREFIX, shape);
    built.push(...names);
    return names;
  };
  try {
    const t0 = performance.now();
    const [hostNames, chainNames, forkNames] = [await build(host), await build(chain), await build(branches)];
    // Let the file system write the new images back before timing, so the scans do not race writeback.
    await execa('sync');
    console.error(`hosts built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const load = loadavg()[0]?.toFixed(2);
    const main = await hostRows(setup, hostNames);
    const rows = [...main.rows, ...(await shapeRows(`chain of ${chain.snapshots}`, chainNames)), ...(await shapeRows(`${branches.snapshots - 1} branches`, forkNames))];
    rows.push(...(await remoteRows(host, hostNames)));
    rows.push({ metric: 'bench process RSS', value: process.memoryUsage().rss / (1024 * 1024), baseline: null, unit: 'MiB' });
    report(
      'scan',
      { domains: host.domains, snapshotsPerDomain: host.snapshots, disks: host.disks.length, ...main.shape, runs: RUNS, cores: cpus().length, loadBefore: load, loadAfter: loadavg()[0]?.toFixed(2) },
      rows,
    );
  } finally {
    for (const name of built) await setup.run(['undefine', '--domain', name, '--snapshots-metadata']).catch(() => undefined);
    await setup.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
