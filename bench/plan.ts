/**
 * Planning benchmark (docs/architecture.md, "Benchmarks"): on a host of 20 domains × 50 snapshots × 2 disks, the node
 * actions of a selected snapshot and of a branch, and planning each operation, target ≤ 10 ms each. Planning is
 * pure, so the host is a synthetic scan assembled in memory by the same `assembleDomain` the scanners use (no
 * libvirt needed). The baseline, measured in the same run, is the way before the shared index: every call sees
 * a scan whose domains it has never seen (a copy whose `domains` is a new array on every read), so every look-up
 * of dependants indexes the whole host again, as each did before the index was shared.
 *
 *   npm run bench:plan
 *   BENCH_DOMAINS=5 BENCH_SNAPSHOTS=20 BENCH_RUNS=21 npm run bench:plan
 */
import { cpus } from 'node:os';
import { assembleDomain, type DomainFacts } from '../shared/assemble';
import type { Domain, Layer, ScanResult } from '../shared/model';
import { dependantsIndex } from '../shared/ops/dependants';
import { nodeActions } from '../shared/ops/node-actions';
import type { Intent } from '../shared/ops/plan';
import { planOperation } from '../shared/ops/planners';
import { branchNodeId, snapshotGraph, snapshotNodeId, type GraphNode } from '../shared/snapshot-graph';
import { median, report, type Row } from './report';

const DOMAINS = Number(process.env.BENCH_DOMAINS ?? 20);
const SNAPSHOTS = Number(process.env.BENCH_SNAPSHOTS ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const DISKS = ['vda', 'vdb'];
const TARGET_MS = 10;
const OPERATION_ID = '00000000-0000-0000-0000-000000000000';
/** Where the recorded branch forks: the middle of the chain, so every planner walks real work on both sides. */
const FORK = Math.max(1, Math.floor(SNAPSHOTS / 2));

function layer(path: string, backing: string | null): Layer {
  return { path, format: 'qcow2', virtualSize: 1 << 30, actualSize: 1 << 20, backing, backingName: backing, backingFormat: backing === null ? null : 'qcow2' };
}

/**
 * One domain as bench:scan builds it (each disk a chain base ← s1 ← … ← sN, snapshot k's overlay sk, the disks on
 * sN), plus a recorded branch `alt` forked at snapshot FORK so that switching and deleting a branch have a subject.
 */
function domainFacts(d: number): DomainFacts {
  const name = `bench-${String(d).padStart(2, '0')}`;
  const file = (disk: string, k: number) => `/var/lib/libvirt/images/${name}-${disk}.${k === 0 ? 'qcow2' : `s${k}`}`;
  const alt = (disk: string) => `/var/lib/libvirt/images/${name}-${disk}.alt`;
  const layers: Layer[] = DISKS.flatMap((disk) => [
    ...Array.from({ length: SNAPSHOTS + 1 }, (_, k) => layer(file(disk, k), k === 0 ? null : file(disk, k - 1))),
    layer(alt(disk), file(disk, FORK - 1)),
  ]);
  return {
    name,
    state: 'shut off',
    disks: DISKS.map((target) => ({ target, device: 'disk', file: file(target, SNAPSHOTS), format: 'qcow2', managed: true })),
    snapshots: Array.from({ length: SNAPSHOTS }, (_, i) => {
      const k = i + 1;
      return {
        name: `snap${k}`,
        parent: k > 1 ? `snap${k - 1}` : null,
        description: null,
        created: new Date(Date.UTC(2026, 0, 1) + k * 60_000).toISOString(),
        state: 'shutoff',
        current: k === SNAPSHOTS,
        memoryFile: null,
        revertFiles: [],
        disks: DISKS.map((target) => ({ target, kind: 'external', overlay: file(target, k) })),
      };
    }),
    recorded: { current: null, branches: [{ name: 'alt', tips: DISKS.map((target) => ({ target, file: alt(target) })) }] },
    layers: Object.fromEntries(layers.map((l) => [l.path, l])),
    problems: [],
  };
}

function buildHost(): ScanResult {
  const domains = Array.from({ length: DOMAINS }, (_, d) => assembleDomain(domainFacts(d)));
  return { source: { kind: 'libvirt', uri: 'qemu:///system' }, scannedAt: '', hypervisor: null, domains, problems: [] };
}

function node(domain: Domain, id: string): GraphNode {
  const found = snapshotGraph(domain).find((n) => n.id === id);
  if (found === undefined) throw new Error(`no node ${id} in ${domain.name}`);
  return found;
}

/** Median milliseconds of `run` over RUNS runs, after one warm-up run. */
function time(run: () => unknown): number {
  run();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    run();
    samples.push(performance.now() - t0);
  }
  return median(samples);
}

function main(): void {
  const t0 = performance.now();
  const scan = buildHost();
  const built = performance.now() - t0;
  const domain = scan.domains[Math.floor(DOMAINS / 2)] as Domain;
  const current = domain.branches.find((b) => b.current);
  if (current === undefined) throw new Error('the bench domain has no current branch');
  const d = domain.name;
  const snapshot = `snap${FORK}`;
  const snapNode = node(domain, snapshotNodeId(snapshot));
  const branchNode = node(domain, branchNodeId(current.name));
  const altNode = node(domain, branchNodeId('alt'));

  // The old way: the shared index is rebuilt when the scan's domains array changes, so a copy that hands out a
  // new array on every read re-indexes on every look-up, as each look-up did before.
  const unshared = Object.defineProperty({ ...scan }, 'domains', { get: () => [...scan.domains], enumerable: true });
  const fresh = (): ScanResult => unshared;
  const intents: Array<[string, Intent]> = [
    ['revert-branch', { op: 'revert-branch', domain: d, snapshot, branch: 'bench-new' }],
    ['revert-discard', { op: 'revert-discard', domain: d, snapshot }],
    ['switch', { op: 'switch', domain: d, branch: 'alt' }],
    ['delete-snapshot', { op: 'delete-snapshot', domain: d, snapshot }],
    ['commit', { op: 'commit', domain: d, branch: current.name }],
    ['delete-branch', { op: 'delete-branch', domain: d, branch: 'alt' }],
    ['create-snapshot', { op: 'create-snapshot', domain: d, name: 'bench-new' }],
    ['rename-branch', { op: 'rename-branch', domain: d, branch: 'alt', to: 'bench-new' }],
  ];
  const measures: Array<[string, (s: () => ScanResult) => unknown]> = [
    [`node actions: snapshot ${snapshot}`, (s) => nodeActions(s(), domain, snapNode)],
    [`node actions: current branch ${current.name}`, (s) => nodeActions(s(), domain, branchNode)],
    ['node actions: branch alt', (s) => nodeActions(s(), domain, altNode)],
    ...intents.map(([label, intent]): [string, (s: () => ScanResult) => unknown] => [`plan ${label}`, (s) => planOperation({ scan: s(), operationId: OPERATION_ID }, intent)]),
  ];

  // Both ways must give the same answers, or the comparison means nothing.
  const verdicts: Record<string, string> = {};
  for (const [metric, run] of measures) {
    const now = JSON.stringify(run(() => scan), (_, v: unknown) => (typeof v === 'function' ? undefined : v));
    if (now !== JSON.stringify(run(fresh), (_, v: unknown) => (typeof v === 'function' ? undefined : v))) throw new Error(`${metric}: the two ways disagree`);
    const parsed = JSON.parse(now) as { ok?: boolean; refusal?: { code: string } } | Array<{ id: string; disabled: string | null }>;
    verdicts[metric] = Array.isArray(parsed)
      ? parsed.map((a) => `${a.id}${a.disabled === null ? '' : ' (refused)'}`).join(', ')
      : parsed.ok === true ? 'planned' : `refused: ${parsed.refusal?.code ?? '?'}`;
  }
  const rows: Row[] = measures.map(([metric, run]) => {
    const baseline = time(() => run(fresh));
    const value = time(() => run(() => scan));
    return { metric, value, baseline, unit: 'ms', target: `<= ${TARGET_MS} ms`, met: value <= TARGET_MS };
  });
  // What the first selection after a scan pays on top: indexing the host once (a copy is a scan never seen).
  const once = time(() => dependantsIndex({ ...scan }));
  rows.push({ metric: 'index the dependants (once per scan)', value: once, baseline: null, unit: 'ms', target: `<= ${TARGET_MS} ms`, met: once <= TARGET_MS });
  const layers = scan.domains.reduce((n, x) => n + Object.keys(x.layers).length, 0);
  report(
    'plan',
    { domains: DOMAINS, snapshotsPerDomain: SNAPSHOTS, disks: DISKS.length, layers, runs: RUNS, hostBuiltMs: Number(built.toFixed(1)), cores: cpus().length, verdicts },
    rows,
  );
}

main();
