/**
 * Clone and export benchmark (docs/architecture.md, "Benchmarks"), every figure beside its baseline measured in the
 * same run: a domain whose disk is a chain of three layers (base → s1 → s2 → tip, a third of the data written with
 * qemu-io in each layer, each at its own offset), read through the whole chain from its tip:
 * - export to qcow2 and to raw through the engine (the journaled apply of a planned export) against the bare
 *   `qemu-img convert -f qcow2 -O qcow2|raw tip out` it comes down to: target ≥ 0.95×;
 * - a full clone through the engine (a standalone copy of the disk, then the new domain defined) against the same
 *   bare convert to qcow2: target ≥ 0.95×.
 * The engine's runs are timed from apply to done (its journal and rescan included); planning, which scans the whole
 * host, is timed apart. The engine's new image is on the disk, synced, before it is named (clone-files.ts); the bare
 * convert returns once its output is in the page cache. So each figure is also given beside the bare convert
 * followed by `sync --data` of its output.
 *
 * Two chains: one larger than the host's writeback cache (its dirty limit, from /proc; at most 24,000 MiB unless
 * BENCH_DATA_MIB says), as a VM's disk is, where the bare convert too waits for the disk once the cache is full; and one of BENCH_SMALL_MIB that fits in it, where the bare convert
 * measures a copy in memory and no durable copy can keep up with it: there the target is held against the convert
 * and its sync. Every run starts after a `sync`. The bare and the engine's runs alternate which goes first; each
 * output is removed before the next.
 *
 *   npm run bench:clone      (as root, with libvirtd running: scripts/start-libvirt.sh)
 *   BENCH_DATA_MIB=8000 BENCH_SMALL_MIB=384 BENCH_RUNS=5 npm run bench:clone
 */
import { mkdir, mkdtemp, readFile, readdir, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Intent } from '../shared/ops/plan';
import { Engine } from '../electron/engine';
import { buildDomainXml } from '../electron/lab/domain-xml';
import { qemuImgCreate } from '../electron/tools/qemu-img';
import { writePattern } from '../electron/tools/qemu-io';
import { median, report, type Row } from './report';

const URI = process.env.BENCH_URI ?? 'qemu:///system';
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const SMALL_MIB = Number(process.env.BENCH_SMALL_MIB ?? 1536);
const MiB = 1024 * 1024;
/** The largest chain picked by default (a host with much memory has a large writeback cache). */
const MAX_DEFAULT_MIB = 24_000;
/** qemu-io writes at most 2 GiB at a time. */
const WRITE_MIB = 1024;

/**
 * The host's writeback cache: how much written data the kernel holds in memory before a writer waits for the disk
 * (vm.dirty_bytes, or vm.dirty_ratio of the memory available).
 */
async function writebackMiB(): Promise<number> {
  const read = async (path: string) => (await readFile(path, 'utf8')).trim();
  const bytes = Number(await read('/proc/sys/vm/dirty_bytes'));
  if (bytes > 0) return bytes / MiB;
  const available = /MemAvailable:\s+(\d+) kB/.exec(await read('/proc/meminfo'))?.[1];
  return (Number(await read('/proc/sys/vm/dirty_ratio')) / 100) * (Number(available ?? 0) / 1024);
}
const source = { kind: 'libvirt' as const, uri: URI };

async function seconds(run: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await run();
  return (performance.now() - t0) / 1000;
}

function virsh(args: string[]): Promise<unknown> {
  return execa('virsh', ['-q', '-c', URI, ...args]);
}

async function activeLayer(name: string): Promise<string> {
  const { stdout } = await execa('virsh', ['-q', '-c', URI, 'domblklist', '--domain', name, '--details']);
  const line = stdout.split('\n').find((l) => /\bvda\b/.test(l));
  const file = line?.trim().split(/\s+/).slice(3).join(' ');
  if (file === undefined || file === '') throw new Error(`no vda on ${name}`);
  return file;
}

/** Writes `length` bytes of `pattern` at `offset`, a gibibyte at a time. */
async function fill(path: string, pattern: number, offset: number, length: number): Promise<void> {
  for (let at = 0; at < length; at += WRITE_MIB * MiB) await writePattern(path, 'qcow2', pattern, offset + at, Math.min(WRITE_MIB * MiB, length - at));
}

/**
 * The domain, in `dir`: base → s1 → s2 → tip, a third of `dataMiB` in each layer of the three, each at its own
 * offset, on a disk of twice that size.
 */
async function makeDomain(dir: string, name: string, dataMiB: number): Promise<string> {
  const third = Math.floor(dataMiB / 3) * MiB;
  const base = join(dir, 'bench.qcow2');
  await qemuImgCreate(base, { size: Math.max(4096, 2 * dataMiB) * MiB });
  await fill(base, 0x11, 0, third);
  const xmlFile = join(dir, 'bench.xml');
  await writeFile(xmlFile, buildDomainXml({ name, disks: [{ target: 'vda', file: base, format: 'qcow2' }] }));
  await virsh(['define', '--file', xmlFile]);
  for (const [i, snap] of ['s1', 's2'].entries()) {
    await virsh(['snapshot-create-as', '--domain', name, '--name', snap, '--disk-only', '--atomic']);
    await fill(await activeLayer(name), 0x22 + i, (i + 1) * third, third);
  }
  await execa('sync');
  return activeLayer(name);
}

/** The engine's plan, then its apply timed: [plan seconds, apply seconds]. */
async function engineRun(engine: Engine, intent: Intent): Promise<[number, number]> {
  let planned: Awaited<ReturnType<Engine['plan']>> | undefined;
  const plan = await seconds(async () => {
    planned = await engine.plan(source, intent);
  });
  if (planned === undefined || !planned.ok) throw new Error(planned?.ok === false ? planned.refusal.message : 'no plan');
  const toApply = planned.plan;
  const apply = await seconds(async () => {
    const result = await engine.apply(toApply);
    if (result.status !== 'done') throw new Error(`not done: ${result.status}`);
  });
  return [plan, apply];
}

interface Series {
  bare: number[];
  /** The bare run and then its output's data synced to disk, as the engine does before it names the file. */
  durable: number[];
  engine: number[];
  plan: number[];
}

/** A bare run: its own time, and the time to sync its output after it. */
type Bare = [number, number];

/**
 * Waits for the host to write back and free what the last run left (its output, removed): otherwise the cost lands on
 * whichever run comes next, and the first of each round is the slower one, whatever it is.
 */
async function settle(): Promise<void> {
  await execa('sync');
}

/** Alternates the bare run and the engine's, `RUNS` times after one warm-up round of each, each from a settled host. */
async function alternate(bare: (i: number) => Promise<Bare>, mine: (i: number) => Promise<[number, number]>): Promise<Series> {
  const out: Series = { bare: [], durable: [], engine: [], plan: [] };
  for (let i = 0; i <= RUNS; i++) {
    let b: Bare = [0, 0];
    let m: [number, number] = [0, 0];
    await settle();
    if (i % 2 === 0) {
      b = await bare(i);
      await settle();
      m = await mine(i);
    } else {
      m = await mine(i);
      await settle();
      b = await bare(i);
    }
    if (i === 0) continue; // Warms caches and opens connections.
    out.bare.push(b[0]);
    out.durable.push(b[0] + b[1]);
    out.plan.push(m[0]);
    out.engine.push(m[1]);
  }
  return out;
}

/** Bare convert of the tip to `format` in `dir`, timed, then its output's data synced, timed; the output removed after. */
async function bareConvert(dir: string, tip: string, format: 'qcow2' | 'raw', tag: string): Promise<Bare> {
  const out = join(dir, `${tag}.${format}`);
  const took = await seconds(() => execa('qemu-img', ['convert', '-p', '-f', 'qcow2', '-O', format, '--', tip, out]));
  const synced = await seconds(() => execa('sync', ['--data', out]));
  await rm(out);
  return [took, synced];
}

async function exportSeries(engine: Engine, dir: string, name: string, tip: string, format: 'qcow2' | 'raw'): Promise<Series> {
  return alternate(
    (i) => bareConvert(dir, tip, format, `bare-export-${format}-${i}`),
    async (i) => {
      const to = join(dir, `export-${format}-${i}`);
      await mkdir(to);
      const took = await engineRun(engine, { op: 'export', domain: name, node: { kind: 'branch', name: 'main' }, to, format });
      if ((await readdir(to)).length !== 1) throw new Error('the export made no image');
      await rm(to, { recursive: true, force: true });
      return took;
    },
  );
}

async function cloneSeries(engine: Engine, dir: string, name: string, tip: string): Promise<Series> {
  return alternate(
    (i) => bareConvert(dir, tip, 'qcow2', `bare-clone-${i}`),
    async (i) => {
      const into = join(dir, `clone-${i}`);
      await mkdir(into);
      const clone = `${name}-clone-${i}`;
      try {
        return await engineRun(engine, { op: 'clone', domain: name, node: { kind: 'branch', name: 'main' }, name: clone, mode: 'full', dir: into });
      } finally {
        await virsh(['undefine', '--domain', clone]).catch(() => undefined);
        await rm(into, { recursive: true, force: true });
      }
    },
  );
}

/** The median over rounds of each round's ratio of `a` to `b`: each pair ran back to back, under the same load. */
function pairedMedian(a: number[], b: number[]): number {
  return median(a.map((x, i) => x / (b[i] ?? Number.NaN)));
}

/**
 * The engine's throughput beside the bare convert's, and beside the bare convert followed by a sync of its output;
 * each ratio is the median of the rounds' own ratios (the host's load changes between rounds, not within one). The
 * target is held against the bare convert, and against the convert and its sync for a chain that fits in the
 * writeback cache (`cached`), where the bare convert's figure is a copy in memory.
 */
function rows(label: string, dataMiB: number, cached: boolean, s: Series): Row[] {
  const rate = (times: number[]) => dataMiB / median(times);
  const ratio = pairedMedian(s.bare, s.engine);
  const durable = pairedMedian(s.durable, s.engine);
  const target = (held: boolean, value: number) => (held ? { target: '>= 0.95x', met: value >= 0.95 } : {});
  return [
    { metric: `${label}: engine apply vs bare convert`, value: rate(s.engine), baseline: rate(s.bare), unit: 'MiB/s' },
    { metric: `${label}: engine / bare convert`, value: ratio, baseline: null, unit: 'ratio', ...target(!cached, ratio) },
    { metric: `${label}: engine apply vs bare convert + sync --data`, value: rate(s.engine), baseline: rate(s.durable), unit: 'MiB/s' },
    { metric: `${label}: engine / (bare convert + sync)`, value: durable, baseline: null, unit: 'ratio', ...target(cached, durable) },
    { metric: `${label}: planning (scan of the host)`, value: median(s.plan) * 1000, baseline: null, unit: 'ms' },
  ];
}

/** The three series on a chain of `dataMiB`, in a folder and domain of its own, removed after. */
async function chainRows(engine: Engine, dataMiB: number, cached: boolean): Promise<{ context: Record<string, unknown>; rows: Row[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'snaptree-bench-clone-'));
  const name = `snaptree-bench-clone-${process.pid}-${dataMiB}`;
  try {
    const tip = await makeDomain(dir, name, dataMiB);
    const qcow2 = await exportSeries(engine, dir, name, tip, 'qcow2');
    const raw = await exportSeries(engine, dir, name, tip, 'raw');
    const clone = await cloneSeries(engine, dir, name, tip);
    const tag = `${dataMiB} MiB, ${cached ? 'in' : 'beyond'} the writeback cache`;
    return {
      context: { dataMiB, cached, qcow2, raw, clone },
      rows: [...rows(`export -O qcow2 (${tag})`, dataMiB, cached, qcow2), ...rows(`export -O raw (${tag})`, dataMiB, cached, raw), ...rows(`full clone (${tag})`, dataMiB, cached, clone)],
    };
  } finally {
    await virsh(['undefine', '--domain', name, '--snapshots-metadata']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const data = await mkdtemp(join(tmpdir(), 'snaptree-bench-clone-data-'));
  process.env.SNAPTREE_DATA_DIR = data;
  const engine = new Engine({ host: 'serve' });
  try {
    const writeback = await writebackMiB();
    const large = Number(process.env.BENCH_DATA_MIB ?? Math.min(MAX_DEFAULT_MIB, Math.ceil((writeback * 1.4) / 3) * 3));
    // The chain and two copies of it at a time.
    const room = await statfs(tmpdir());
    if (room.bavail * room.bsize < 3 * large * MiB) throw new Error(`${tmpdir()} has too little room for a chain of ${large} MiB and its copies; set BENCH_DATA_MIB lower.`);
    const chains = [await chainRows(engine, large, large <= writeback), await chainRows(engine, SMALL_MIB, SMALL_MIB <= writeback)];
    report(
      'clone',
      { runs: RUNS, layers: 3, writebackMiB: Math.round(writeback), chains: chains.map((c) => c.context) },
      [{ metric: 'writeback cache of this host (dirty limit)', value: writeback, baseline: null, unit: 'MiB' }, ...chains.flatMap((c) => c.rows)],
    );
  } finally {
    await engine.close();
    await rm(data, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
