/**
 * Operations benchmark (docs/architecture.md, "Benchmarks"), every figure beside its baseline measured in the same run:
 * - creating a branch (plan + journaled apply + rescan) against the raw `qemu-img create` + `virsh define`
 *   it comes down to: target ≤ 100 ms above;
 * - commit throughput through the engine against the bare `qemu-img commit` on identical data: target ≥ 0.95×;
 * - rebase throughput through the executor's step runner against the bare `qemu-img rebase`: target ≥ 0.95×;
 * - a revert of a running domain to a snapshot that saved its memory, from Confirm to the VM running again, against
 *   the bare commands it comes down to (`virsh destroy`, `qemu-img create`, `virsh restore --xml`);
 * - live commit and pull throughput of a running domain's disk, the engine's block job step against bare
 *   `virsh blockcommit --active --pivot --wait` and `virsh blockpull --wait` on identical data: target ≥ 0.95×. A
 *   pull is also made durable by the engine (its data synced, then QEMU's caches flushed by a pause: block-jobs.ts),
 *   which bare virsh leaves to later: its target is against the bare pull followed by the same commands.
 *
 *   npm run bench:ops      (as root, with libvirtd running: scripts/start-libvirt.sh)
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { Engine } from '../electron/engine';
import { buildDomainXml } from '../electron/lab/domain-xml';
import { runStep } from '../electron/ops/steps';
import { qemuImgCreate } from '../electron/tools/qemu-img';
import { writePattern } from '../electron/tools/qemu-io';
import { openVirsh } from '../electron/tools/virsh';
import { localHostFiles } from '../electron/ops/host-files';
import { median, report } from './report';

const URI = process.env.BENCH_URI ?? 'qemu:///system';
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const DATA_MIB = Number(process.env.BENCH_DATA_MIB ?? 512);
const MiB = 1024 * 1024;
/** The baseline redefines one domain, as the engine does: the same UUID every time. */
const RAW_UUID = '5e1f0c2a-7b3d-4c8e-9a61-2f4b8d0e6c17';

async function seconds(run: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await run();
  return (performance.now() - t0) / 1000;
}

/** Branch creation: the engine's revert with a new branch against the two commands it amounts to. */
async function branchOverhead(dir: string): Promise<{ engine: number[]; raw: number[] }> {
  const engine = new Engine({ host: 'serve' });
  const virsh = openVirsh(URI);
  const name = `snaptree-bench-ops-${process.pid}`;
  const source = { kind: 'libvirt' as const, uri: URI };
  try {
    const base = join(dir, 'vm.qcow2');
    await qemuImgCreate(base, { size: 256 * MiB });
    const xmlFile = join(dir, 'vm.xml');
    await writeFile(xmlFile, buildDomainXml({ name, disks: [{ target: 'vda', file: base, format: 'qcow2' }] }));
    await virsh.run(['define', '--file', xmlFile]);
    await virsh.run(['snapshot-create-as', '--domain', name, '--name', 's1', '--disk-only', '--atomic']);
    const engineTimes: number[] = [];
    const rawTimes: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const took = await seconds(async () => {
        const planned = await engine.plan(source, { op: 'revert-branch', domain: name, snapshot: 's1', branch: `b${i}` });
        if (!planned.ok) throw new Error(planned.refusal.message);
        const result = await engine.apply(planned.plan);
        if (result.status !== 'done') throw new Error('the plan changed');
      });
      const raw = await seconds(async () => {
        const overlay = join(dir, `raw${i}.qcow2`);
        await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', overlay]);
        const xml = buildDomainXml({ name: `${name}-raw`, disks: [{ target: 'vda', file: overlay, format: 'qcow2' }] });
        await writeFile(xmlFile, xml.replace('</name>', `</name>\n  <uuid>${RAW_UUID}</uuid>`));
        await execa('virsh', ['-q', '-c', URI, 'define', '--file', xmlFile]);
      });
      if (i > 0) {
        // The first round warms caches and opens connections.
        engineTimes.push(took);
        rawTimes.push(raw);
      }
    }
    return { engine: engineTimes, raw: rawTimes };
  } finally {
    for (const domain of [name, `${name}-raw`]) await virsh.run(['undefine', '--domain', domain, '--snapshots-metadata']).catch(() => undefined);
    await virsh.close();
    await engine.close();
  }
}

/**
 * A running domain reverted to a snapshot with memory, with a new branch, powered off first: the engine's plan
 * and apply against destroy, a new overlay and a restore of the snapshot's memory on it.
 */
async function memoryRevert(dir: string): Promise<{ engine: number[]; bare: number[] }> {
  const engine = new Engine({ host: 'serve' });
  const virsh = openVirsh(URI);
  const name = `snaptree-bench-mem-${process.pid}`;
  const source = { kind: 'libvirt' as const, uri: URI };
  try {
    const base = join(dir, 'mem.qcow2');
    await qemuImgCreate(base, { size: 64 * MiB });
    const xmlFile = join(dir, 'mem.xml');
    await writeFile(xmlFile, buildDomainXml({ name, disks: [{ target: 'vda', file: base, format: 'qcow2' }] }));
    await virsh.run(['define', '--file', xmlFile]);
    await virsh.run(['start', '--domain', name]);
    const memory = join(dir, 'm1.mem');
    await virsh.run(['snapshot-create-as', '--domain', name, '--name', 'm1', '--memspec', `file=${memory},snapshot=external`, '--diskspec', `vda,snapshot=external,file=${join(dir, 'm1.vda.qcow2')}`, '--atomic']);
    const engineTimes: number[] = [];
    const bareTimes: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const planned = await engine.plan(source, { op: 'revert-branch', domain: name, snapshot: 'm1', branch: `r${i}`, stop: 'force' });
      if (!planned.ok) throw new Error(planned.refusal.message);
      const took = await seconds(async () => {
        const result = await engine.apply(planned.plan);
        if (result.status !== 'done') throw new Error('the plan changed');
      });
      const bare = await seconds(async () => {
        await execa('virsh', ['-q', '-c', URI, 'destroy', '--domain', name]);
        const overlay = join(dir, `bare${i}.qcow2`);
        await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', overlay]);
        const { stdout } = await execa('virsh', ['-q', '-c', URI, 'dumpxml', '--domain', name, '--inactive', '--security-info']);
        const edited = join(dir, `bare${i}.xml`);
        await writeFile(edited, stdout.replace(/<source file='[^']*'\/>/, `<source file='${overlay}'/>`));
        await execa('virsh', ['-q', '-c', URI, 'restore', '--file', memory, '--xml', edited, '--running']);
      });
      // Back on the disks its definition names, running, as the next round's plan expects.
      await virsh.run(['destroy', '--domain', name]);
      await virsh.run(['start', '--domain', name]);
      if (i > 0) {
        engineTimes.push(took);
        bareTimes.push(bare);
      }
    }
    return { engine: engineTimes, bare: bareTimes };
  } finally {
    await virsh.run(['destroy', '--domain', name]).catch(() => undefined);
    await virsh.run(['undefine', '--domain', name, '--snapshots-metadata']).catch(() => undefined);
    await virsh.close();
    await engine.close();
  }
}

/** A base and an overlay holding DATA_MIB of written data, copied fresh for every measured run. */
async function makeChain(dir: string): Promise<{ base: string; top: string }> {
  const base = join(dir, 'data-base.qcow2');
  const top = join(dir, 'data-top.qcow2');
  await qemuImgCreate(base, { size: 2 * DATA_MIB * MiB });
  await writePattern(base, 'qcow2', 0x11, 0, DATA_MIB * MiB);
  await qemuImgCreate(top, { backing: { path: base, format: 'qcow2' } });
  await writePattern(top, 'qcow2', 0x22, 0, DATA_MIB * MiB);
  return { base, top };
}

async function fresh(dir: string, chain: { base: string; top: string }, tag: string): Promise<{ base: string; top: string }> {
  const base = join(dir, `${tag}-base.qcow2`);
  const top = join(dir, `${tag}-top.qcow2`);
  await copyFile(chain.base, base);
  await copyFile(chain.top, top);
  await execa('qemu-img', ['rebase', '-u', '-f', 'qcow2', '-F', 'qcow2', '-b', base, '--', top]);
  await execa('sync');
  return { base, top };
}

async function commitThroughput(dir: string, chain: { base: string; top: string }): Promise<{ engine: number[]; bare: number[] }> {
  const engine = new Engine({ host: 'serve' });
  const engineTimes: number[] = [];
  const bareTimes: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const bare = await fresh(dir, chain, `bare${i}`);
      bareTimes.push(await seconds(() => execa('qemu-img', ['commit', '-f', 'qcow2', '-p', '-d', '-b', bare.base, bare.top])));
      await rm(bare.base);
      await rm(bare.top);

      const folder = await mkdtemp(join(dir, 'commit-'));
      await fresh(folder, chain, 'engine');
      const source = { kind: 'folder' as const, path: folder };
      const planned = await engine.plan(source, { op: 'commit', domain: 'engine-base.qcow2', branch: 'engine-top.qcow2' });
      if (!planned.ok) throw new Error(planned.refusal.message);
      engineTimes.push(await seconds(() => engine.apply(planned.plan)));
      await rm(folder, { recursive: true, force: true });
    }
    return { engine: engineTimes, bare: bareTimes };
  } finally {
    await engine.close();
  }
}

async function rebaseThroughput(dir: string, chain: { base: string; top: string }): Promise<{ engine: number[]; bare: number[] }> {
  const engineTimes: number[] = [];
  const bareTimes: number[] = [];
  const empty = join(dir, 'empty-base.qcow2');
  await qemuImgCreate(empty, { size: 2 * DATA_MIB * MiB });
  for (let i = 0; i < RUNS; i++) {
    // Rebasing the top from its base onto an empty image copies the base's data into the top.
    const bare = await fresh(dir, chain, `rbare${i}`);
    bareTimes.push(await seconds(() => execa('qemu-img', ['rebase', '-p', '-f', 'qcow2', '-F', 'qcow2', '-b', empty, '--', bare.top])));
    const mine = await fresh(dir, chain, `rengine${i}`);
    const step = {
      kind: 'rebase' as const,
      path: mine.top,
      format: 'qcow2',
      backing: empty,
      backingFormat: 'qcow2',
      unsafe: false,
      sentence: '',
    };
    let updates = 0;
    engineTimes.push(await seconds(() => runStep(step, { virsh: null, files: localHostFiles, operationId: 'bench', domain: 'bench', op: 'bench', onProgress: () => updates++ })));
    if (updates === 0) throw new Error('no progress was streamed');
    for (const file of [bare.base, bare.top, mine.base, mine.top]) await rm(file);
  }
  return { engine: engineTimes, bare: bareTimes };
}

/** A fresh copy of the chain under a running domain: its disk on the top (`pull`: on a new empty layer above it). */
async function runningOn(dir: string, chain: { base: string; top: string }, tag: string, pull: boolean): Promise<{ name: string; base: string; top: string; active: string }> {
  const copy = await fresh(dir, chain, tag);
  const active = pull ? join(dir, `${tag}-active.qcow2`) : copy.top;
  if (pull) await qemuImgCreate(active, { backing: { path: copy.top, format: 'qcow2' } });
  const name = `snaptree-bench-live-${process.pid}-${tag}`;
  const xmlFile = join(dir, `${tag}.xml`);
  await writeFile(xmlFile, buildDomainXml({ name, disks: [{ target: 'vda', file: active, format: 'qcow2' }] }));
  await execa('virsh', ['-q', '-c', URI, 'define', '--file', xmlFile]);
  await execa('virsh', ['-q', '-c', URI, 'start', '--domain', name]);
  return { name, ...copy, active };
}

async function dropDomain(name: string): Promise<void> {
  await execa('virsh', ['-q', '-c', URI, 'destroy', '--domain', name]).catch(() => undefined);
  await execa('virsh', ['-q', '-c', URI, 'undefine', '--domain', name]).catch(() => undefined);
}

/**
 * Live commit (`pull` false: the top the VM writes, into its base, pivoted) or pull (`pull`: the top's data into
 * the layer the VM writes) of DATA_MIB while the VM runs: the engine's step runner, which starts the job and
 * follows it, against bare virsh waiting for it (`--wait`), each on a fresh copy of the same chain.
 */
async function liveThroughput(dir: string, chain: { base: string; top: string }, pull: boolean): Promise<{ engine: number[]; bare: number[]; durable: number[] }> {
  const virsh = openVirsh(URI);
  const engineTimes: number[] = [];
  const bareTimes: number[] = [];
  const durableTimes: number[] = [];
  const kind = pull ? 'pull' : 'commit';
  try {
    for (let i = 0; i < RUNS; i++) {
      // Each goes first in every other round, each on its own copy of the chain, removed before the other starts.
      const runBare = async () => {
        const bare = await runningOn(dir, chain, `l${kind}bare${i}`, pull);
        const bareArgs = pull ? ['blockpull', '--domain', bare.name, '--path', 'vda', '--base', bare.base, '--wait'] : ['blockcommit', '--domain', bare.name, '--path', 'vda', '--active', '--pivot', '--wait'];
        bareTimes.push(await seconds(() => execa('virsh', ['-q', '-c', URI, ...bareArgs])));
        // What the engine adds to a pull, to make the data QEMU copied durable (block-jobs.ts), timed apart.
        if (pull) {
          durableTimes.push(
            await seconds(async () => {
              await execa('sync', ['--data', bare.active]);
              await execa('virsh', ['-q', '-c', URI, 'suspend', '--domain', bare.name]);
              await execa('virsh', ['-q', '-c', URI, 'resume', '--domain', bare.name]);
            }),
          );
        }
        await dropDomain(bare.name);
        for (const file of new Set([bare.base, bare.top, bare.active])) await rm(file);
      };
      const runMine = async () => {
        const mine = await runningOn(dir, chain, `l${kind}engine${i}`, pull);
        const step = pull
          ? { kind: 'block-pull' as const, domain: mine.name, target: 'vda', top: mine.active, base: mine.base, sentence: '' }
          : { kind: 'block-commit' as const, domain: mine.name, target: 'vda', top: mine.top, base: mine.base, active: true, sentence: '' };
        let updates = 0;
        engineTimes.push(await seconds(() => runStep(step, { virsh, files: localHostFiles, operationId: 'bench', domain: mine.name, op: 'bench', onProgress: () => updates++ })));
        if (updates === 0) throw new Error('no progress was reported');
        await dropDomain(mine.name);
        for (const file of new Set([mine.base, mine.top, mine.active])) await rm(file);
      };
      for (const run of i % 2 === 0 ? [runBare, runMine] : [runMine, runBare]) await run();
    }
    return { engine: engineTimes, bare: bareTimes, durable: durableTimes };
  } finally {
    await virsh.close();
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'snaptree-bench-ops-'));
  process.env.SNAPTREE_DATA_DIR = join(dir, 'data');
  try {
    const branch = await branchOverhead(dir);
    const chain = await makeChain(dir);
    const commit = await commitThroughput(dir, chain);
    const rebase = await rebaseThroughput(dir, chain);
    const resume = await memoryRevert(dir);
    const liveCommit = await liveThroughput(dir, chain, false);
    const livePull = await liveThroughput(dir, chain, true);
    const overhead = (median(branch.engine) - median(branch.raw)) * 1000;
    const rate = (times: number[]) => DATA_MIB / median(times);
    report('ops', { runs: RUNS, dataMiB: DATA_MIB, branch, commit, rebase, resume, liveCommit, livePull }, [
      { metric: 'branch: engine plan + apply', value: median(branch.engine) * 1000, baseline: median(branch.raw) * 1000, unit: 'ms' },
      { metric: 'branch: overhead over raw', value: overhead, baseline: null, unit: 'ms', target: '<= 100 ms', met: overhead <= 100 },
      { metric: 'commit throughput', value: rate(commit.engine), baseline: rate(commit.bare), unit: 'MiB/s', target: '>= 0.95x', met: rate(commit.engine) >= 0.95 * rate(commit.bare) },
      { metric: 'rebase throughput', value: rate(rebase.engine), baseline: rate(rebase.bare), unit: 'MiB/s', target: '>= 0.95x', met: rate(rebase.engine) >= 0.95 * rate(rebase.bare) },
      { metric: 'memory revert: Confirm to running (median)', value: median(resume.engine) * 1000, baseline: median(resume.bare) * 1000, unit: 'ms' },
      { metric: 'live commit throughput (virsh blockcommit --active --pivot)', value: rate(liveCommit.engine), baseline: rate(liveCommit.bare), unit: 'MiB/s', target: '>= 0.95x', met: rate(liveCommit.engine) >= 0.95 * rate(liveCommit.bare) },
      { metric: 'live pull throughput (virsh blockpull)', value: rate(livePull.engine), baseline: rate(livePull.bare), unit: 'MiB/s' },
      {
        metric: 'live pull throughput, durable (virsh blockpull, sync, suspend, resume)',
        value: rate(livePull.engine),
        baseline: DATA_MIB / (median(livePull.bare) + median(livePull.durable)),
        unit: 'MiB/s',
        target: '>= 0.95x',
        met: rate(livePull.engine) >= (0.95 * DATA_MIB) / (median(livePull.bare) + median(livePull.durable)),
      },
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
