/**
 * Clone and export benchmark (docs/architecture.md, "Benchmarks"), every figure beside its baseline measured in the
 * same run: a domain whose disk is a chain of three layers (base → s1 → s2 → tip, BENCH_VIRTUAL_MIB virtual,
 * BENCH_DATA_MIB of data written with qemu-io, a third in each layer), read through the whole chain from its tip:
 * - export to qcow2 and to raw through the engine (the journaled apply of a planned export) against the bare
 *   `qemu-img convert -f qcow2 -O qcow2|raw tip out` it comes down to: target ≥ 0.95×;
 * - a full clone through the engine (a standalone copy of the disk, then the new domain defined) against the same
 *   bare convert to qcow2: target ≥ 0.95×.
 * The engine's runs are timed from apply to done (its journal and rescan included); planning, which scans the whole
 * host, is timed apart. The engine syncs each new image's data before it names it (clone-files.ts): its figures are
 * also given beside the bare convert followed by `sync --data` of its output. Every run starts after a `sync`. The bare and the engine's runs alternate which goes first; each output is removed before the next.
 *
 *   npm run bench:clone      (as root, with libvirtd running: scripts/start-libvirt.sh)
 *   BENCH_DATA_MIB=384 BENCH_VIRTUAL_MIB=2048 BENCH_RUNS=5 npm run bench:clone
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
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
const DATA_MIB = Number(process.env.BENCH_DATA_MIB ?? 1536);
const VIRTUAL_MIB = Number(process.env.BENCH_VIRTUAL_MIB ?? 4096);
const MiB = 1024 * 1024;
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

/** The domain: base → s1 → s2 → tip, a third of the data in each layer of the three, each at its own offset. */
async function makeDomain(dir: string, name: string): Promise<string> {
  const third = Math.floor(DATA_MIB / 3) * MiB;
  const base = join(dir, 'bench.qcow2');
  await qemuImgCreate(base, { size: VIRTUAL_MIB * MiB });
  await writePattern(base, 'qcow2', 0x11, 0, third);
  const xmlFile = join(dir, 'bench.xml');
  await writeFile(xmlFile, buildDomainXml({ name, disks: [{ target: 'vda', file: base, format: 'qcow2' }] }));
  await virsh(['define', '--file', xmlFile]);
  for (const [i, snap] of ['s1', 's2'].entries()) {
    await virsh(['snapshot-create-as', '--domain', name, '--name', snap, '--disk-only', '--atomic']);
    await writePattern(await activeLayer(name), 'qcow2', 0x22 + i, (i + 1) * third, third);
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
 * each ratio is the median of the rounds' own ratios (the host's load changes between rounds, not within one).
 */
function rows(label: string, s: Series): Row[] {
  const rate = (times: number[]) => DATA_MIB / median(times);
  const ratio = pairedMedian(s.bare, s.engine);
  const durable = pairedMedian(s.durable, s.engine);
  const overhead = median(s.engine.map((t, i) => t - (s.durable[i] ?? Number.NaN))) * 1000;
  const best = Math.min(...s.durable) / Math.min(...s.engine);
  return [
    { metric: `${label}: engine apply vs bare convert`, value: rate(s.engine), baseline: rate(s.bare), unit: 'MiB/s' },
    { metric: `${label}: engine / bare convert`, value: ratio, baseline: null, unit: 'ratio', target: '>= 0.95x', met: ratio >= 0.95 },
    { metric: `${label}: engine apply vs bare convert + sync --data`, value: rate(s.engine), baseline: rate(s.durable), unit: 'MiB/s' },
    { metric: `${label}: engine / (bare convert + sync)`, value: durable, baseline: null, unit: 'ratio', target: '>= 0.95x', met: durable >= 0.95 },
    { metric: `${label}: engine time above convert + sync`, value: overhead, baseline: null, unit: 'ms' },
    // The fastest run of each: the one least slowed by what else the host did meanwhile.
    { metric: `${label}: best run, engine vs bare convert + sync`, value: DATA_MIB / Math.min(...s.engine), baseline: DATA_MIB / Math.min(...s.durable), unit: 'MiB/s' },
    { metric: `${label}: best run, engine / (bare convert + sync)`, value: best, baseline: null, unit: 'ratio', target: '>= 0.95x', met: best >= 0.95 },
    { metric: `${label}: planning (scan of the host)`, value: median(s.plan) * 1000, baseline: null, unit: 'ms' },
  ];
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'snaptree-bench-clone-'));
  process.env.SNAPTREE_DATA_DIR = join(dir, 'data');
  const name = `snaptree-bench-clone-${process.pid}`;
  const engine = new Engine({ host: 'serve' });
  try {
    const tip = await makeDomain(dir, name);
    const qcow2 = await exportSeries(engine, dir, name, tip, 'qcow2');
    const raw = await exportSeries(engine, dir, name, tip, 'raw');
    const clone = await cloneSeries(engine, dir, name, tip);
    report('clone', { runs: RUNS, dataMiB: DATA_MIB, layers: 3, virtualMiB: VIRTUAL_MIB, qcow2, raw, clone }, [
      ...rows('export -O qcow2', qcow2),
      ...rows('export -O raw', raw),
      ...rows('full clone (-O qcow2)', clone),
    ]);
  } finally {
    await engine.close();
    await virsh(['undefine', '--domain', name, '--snapshots-metadata']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
