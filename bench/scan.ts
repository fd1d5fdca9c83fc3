/**
 * Scan benchmark (docs/architecture.md, "Benchmarks"): a host of 20 domains × 50 external snapshots × 2 disks,
 * scanned by the engine (long-lived virsh sessions, qcow2 headers read in process) and, in the same run, by the
 * naive way:
 * the same scan with one virsh process per call. Prints both, their ratio, and the targets (≤ 1.5 s, ≥ 10× faster).
 *
 *   npm run bench:scan            (as root, with libvirtd running: scripts/start-libvirt.sh)
 *   BENCH_DOMAINS=5 BENCH_SNAPSHOTS=20 npm run bench:scan     (a smaller host)
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import pLimit from 'p-limit';
import { buildDomainXml, escapeXml } from '../electron/lab/domain-xml';
import { scanLibvirt } from '../electron/scan/scan-libvirt';
import { qemuImgCreate } from '../electron/tools/qemu-img';
import { openVirsh, type Virsh } from '../electron/tools/virsh';
import { median, report } from './report';

const URI = process.env.BENCH_URI ?? 'qemu:///system';
const DOMAINS = Number(process.env.BENCH_DOMAINS ?? 20);
const SNAPSHOTS = Number(process.env.BENCH_SNAPSHOTS ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const DISKS = ['vda', 'vdb'];
const PREFIX = `snaptree-bench-${process.pid}-`;

async function buildHost(virsh: Virsh, dir: string): Promise<string[]> {
  const limit = pLimit(4);
  const names = Array.from({ length: DOMAINS }, (_, d) => `${PREFIX}${String(d).padStart(2, '0')}`);
  const file = (d: number, disk: string, k: number) => join(dir, `d${d}-${disk}.${k === 0 ? 'qcow2' : `s${k}`}`);

  // Chains first: layer k of each disk backs layer k+1.
  await Promise.all(
    names.flatMap((_, d) =>
      DISKS.map((disk) =>
        limit(async () => {
          await qemuImgCreate(file(d, disk, 0), { size: 1 << 30 });
          for (let k = 1; k <= SNAPSHOTS; k++) await qemuImgCreate(file(d, disk, k), { backing: { path: file(d, disk, k - 1), format: 'qcow2' } });
        }),
      ),
    ),
  );

  // Then the domains, and their snapshots redefined over those files. Definitions go to a folder of their
  // own, as on a real host, where the images folder holds images.
  const defs = join(dir, 'definitions');
  await mkdir(defs);
  const start = Math.floor(Date.now() / 1000) - SNAPSHOTS * 3600;
  for (const [d, name] of names.entries()) {
    const xmlFile = join(defs, `${name}.xml`);
    const disks = DISKS.map((target) => ({ target, file: file(d, target, 0), format: 'qcow2' as const }));
    await writeFile(xmlFile, buildDomainXml({ name, disks }));
    await virsh.run(['define', '--file', xmlFile]);
    const saved = await virsh.run(['dumpxml', '--domain', name, '--inactive']);
    for (let k = 1; k <= SNAPSHOTS; k++) {
      let domainXml = saved;
      for (const disk of DISKS) domainXml = domainXml.replace(escapeXml(file(d, disk, 0)), escapeXml(file(d, disk, k - 1)));
      const snapXml = `<domainsnapshot><name>snap${k}</name><state>shutoff</state>${k > 1 ? `<parent><name>snap${k - 1}</name></parent>` : ''}
<creationTime>${start + k * 60}</creationTime><memory snapshot='no'/><disks>${DISKS.map(
        (disk) => `<disk name='${disk}' snapshot='external' type='file'><driver type='qcow2'/><source file='${escapeXml(file(d, disk, k))}'/></disk>`,
      ).join('')}</disks>${domainXml}</domainsnapshot>`;
      const snapFile = join(defs, `${name}-snap${k}.xml`);
      await writeFile(snapFile, snapXml);
      await virsh.run(['snapshot-create', '--domain', name, '--xmlfile', snapFile, '--redefine', ...(k === SNAPSHOTS ? ['--current'] : [])]);
    }
    const final = DISKS.reduce((xml, disk) => xml.replace(escapeXml(file(d, disk, 0)), escapeXml(file(d, disk, SNAPSHOTS))), saved);
    await writeFile(xmlFile, final);
    await virsh.run(['define', '--file', xmlFile]);
  }
  return names;
}

async function timeScan(mode: 'session' | 'per-call', names: string[]): Promise<{ seconds: number; snapshots: number; layers: number }> {
  const virsh = openVirsh(URI, mode);
  try {
    const t0 = performance.now();
    const result = await scanLibvirt(virsh, { domains: names });
    const seconds = (performance.now() - t0) / 1000;
    const snapshots = result.domains.reduce((n, d) => n + d.snapshots.length, 0);
    const layers = result.domains.reduce((n, d) => n + Object.keys(d.layers).length, 0);
    const problems = result.domains.flatMap((d) => d.problems);
    if (problems.length > 0) throw new Error(`scan reported problems: ${problems[0]?.message}`);
    return { seconds, snapshots, layers };
  } finally {
    await virsh.close();
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'snaptree-bench-'));
  const setup = openVirsh(URI);
  let names: string[] = [];
  try {
    const t0 = performance.now();
    names = await buildHost(setup, dir);
    // Let the file system write the new images back before timing, so the scans do not race writeback.
    await execa('sync');
    console.error(`host built: ${DOMAINS} domains × ${SNAPSHOTS} snapshots × ${DISKS.length} disks in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    await timeScan('session', names); // warm-up: page cache, libvirtd caches
    const engine: number[] = [];
    let shape = { snapshots: 0, layers: 0 };
    for (let i = 0; i < RUNS; i++) {
      const run = await timeScan('session', names);
      engine.push(run.seconds);
      shape = { snapshots: run.snapshots, layers: run.layers };
    }
    const naive = await timeScan('per-call', names);
    if (naive.snapshots !== shape.snapshots || naive.layers !== shape.layers) throw new Error('the two scans disagree');

    const best = median(engine);
    const rss = process.memoryUsage().rss / (1024 * 1024);
    report(
      'scan',
      { domains: DOMAINS, snapshotsPerDomain: SNAPSHOTS, disks: DISKS.length, snapshots: shape.snapshots, layers: shape.layers, runs: engine, cores: (await import('node:os')).cpus().length },
      [
        { metric: 'full scan (median)', value: best, baseline: naive.seconds, unit: 's', target: '<= 1.5 s', met: best <= 1.5 },
        { metric: 'speed-up over naive', value: naive.seconds / best, baseline: null, unit: 'x', target: '>= 10x', met: naive.seconds / best >= 10 },
        { metric: 'scan min', value: Math.min(...engine), baseline: null, unit: 's' },
        { metric: 'engine RSS after runs', value: rss, baseline: null, unit: 'MiB' },
      ],
    );
  } finally {
    for (const name of names) await setup.run(['undefine', '--domain', name, '--snapshots-metadata']).catch(() => undefined);
    await setup.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
