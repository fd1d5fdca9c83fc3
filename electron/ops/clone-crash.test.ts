/**
 * A clone killed with SIGKILL at every step, then recovered (docs/safety.md, rule 5): a linked clone of a UEFI
 * domain that starts (a new overlay, the variable store's copy, the definition, the start) and a full clone (a
 * standalone copy, the definition). Each is run by a child process that plans and applies it and is killed before a
 * step runs, after it ran but before the journal says so, and after; recovery then leaves the world as before (no
 * new domain, no new file, the source as it was) or the clone finished, reading the snapshot it was made from.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Intent } from '../../shared/ops/plan';
import { Engine } from '../engine';
import { cloneRecordOf, parseDomainXml } from '../scan/libvirt-xml';
import { diskSource } from '../test-support/checks';
import { domainExists, seedUefi } from '../test-support/clone-domains';
import { TestLab, TEST_URI, virshSync } from '../test-support/lab';
import { qemuImgCreate, qemuImgSame } from '../tools/qemu-img';
import { writePattern } from '../tools/qemu-io';
import { unfinishedJournals } from './journal';

const source = { kind: 'libvirt' as const, uri: TEST_URI };
const MiB = 1024 * 1024;

/** This file's domains are named apart from every other test's. */
class CrashLab extends TestLab {
  override readonly prefix = `snaptree-t-h2-${process.pid}-`;
}

let lab: CrashLab;
let engine: Engine;
let child = '';
let n = 0;

/** The child: plans the intent in SNAPTREE_INTENT on a fresh engine and applies it (SNAPTREE_CRASH_AT kills it). */
const CHILD = `import { Engine } from ${JSON.stringify(join(__dirname, '..', 'engine'))};
const engine = new Engine({ host: 'serve' });
const plan = await engine.plan({ kind: 'libvirt', uri: ${JSON.stringify(TEST_URI)} }, JSON.parse(process.env.SNAPTREE_INTENT ?? '{}'));
if (!plan.ok) throw new Error(plan.refusal.message);
await engine.apply(plan.plan);
await engine.close();
`;

interface Scenario {
  name: string;
  mode: 'linked' | 'full';
  start: boolean;
  steps: string[];
}

const SCENARIOS: Scenario[] = [
  { name: 'a linked clone of a UEFI domain, started', mode: 'linked', start: true, steps: ['create-overlay', 'copy-nvram', 'define-clone', 'start-domain'] },
  { name: 'a full clone', mode: 'full', start: false, steps: ['convert', 'copy-nvram', 'define-clone'] },
];

/** The lab folder's entries, the engine's data folder and the children's script left out. */
async function labFiles(): Promise<string[]> {
  return (await readdir(lab.dir)).filter((f) => f !== 'data' && f !== 'child.mts').sort();
}

function shutOff(vm: string): void {
  if (virshSync(['domstate', '--domain', vm]).trim() !== 'shut off') virshSync(['destroy', '--domain', vm]);
}

beforeAll(async () => {
  lab = await new CrashLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  child = lab.path('child.mts');
  await writeFile(child, CHILD);
  engine = new Engine({ host: 'serve' });
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
});

describe.each(SCENARIOS)('$name, killed at every step, then recovered', (scenario) => {
  test('ends with no trace of the clone but its journal, or with the clone finished', async () => {
    const { vm } = await seedUefi(lab, `src-${scenario.mode}`);
    // s1's saved state: the base seedUefi made, which s1's overlay builds on.
    const base = lab.path(`src-${scenario.mode}.qcow2`);
    const sourceXml = virshSync(['dumpxml', '--domain', vm, '--inactive']);
    const intentOf = (name: string): Intent => ({ op: 'clone', domain: vm, node: { kind: 'snapshot', name: 's1' }, name, mode: scenario.mode, ...(scenario.start ? { start: true } : {}) });
    const probe = await engine.plan(source, intentOf(`${lab.prefix}probe`));
    if (!probe.ok) throw new Error(probe.refusal.message);
    expect(probe.plan.steps.map((s) => s.kind)).toEqual(scenario.steps);
    const points = scenario.steps.flatMap((_s, i) => [`${i}:started`, `${i}:ran`, `${i}:done`]);
    const outcomes: string[] = [];
    for (const point of points) {
      const name = `${lab.prefix}${scenario.mode}-${++n}`;
      const before = await labFiles();
      // Node itself runs the child, TypeScript loaded by tsx, so that the kill is of the process that runs the steps.
      const run = spawnSync(process.execPath, ['--import', 'tsx', child], { env: { ...process.env, SNAPTREE_CRASH_AT: point, SNAPTREE_INTENT: JSON.stringify(intentOf(name)) }, encoding: 'utf8' });
      expect(run.signal, `killed at ${point}\n${run.stderr}`).toBe('SIGKILL');
      if (domainExists(name)) lab.adopt(name);

      const reports = await engine.recover();
      expect(reports.map((r) => r.outcome), `${point}: ${reports.map((r) => r.message).join(' ')}`).toEqual([expect.stringMatching(/finished|rolled-back/)]);
      expect(await unfinishedJournals()).toEqual([]);
      outcomes.push(`${point} ${reports[0]?.outcome ?? ''}`);
      expect(virshSync(['dumpxml', '--domain', vm, '--inactive']), `the source after ${point}`).toBe(sourceXml);
      if (reports[0]?.outcome === 'rolled-back') {
        expect(domainExists(name), `no clone after ${point}`).toBe(false);
        expect(await labFiles(), `no new file after ${point}`).toEqual(before);
        continue;
      }
      // Finished: the clone runs, is recorded as a clone of s1, and reads the snapshot's saved state.
      expect(virshSync(['domstate', '--domain', name]).trim()).toBe('running');
      shutOff(name);
      expect(cloneRecordOf(parseDomainXml(virshSync(['dumpxml', '--domain', name, '--inactive'])))).toMatchObject({ domain: vm, node: { kind: 'snapshot', name: 's1' } });
      expect(await qemuImgSame({ path: diskSource(name, 'vda'), format: 'qcow2' }, { path: base, format: 'qcow2' })).toBe(true);
    }
    // Only a clone that already ran on its new disks is finished; any other is rolled back.
    expect(outcomes.filter((o) => o.endsWith('finished'))).toEqual(scenario.start ? [`${scenario.steps.length - 1}:ran finished`, `${scenario.steps.length - 1}:done finished`] : []);
  });
});

test('a full clone killed while qemu-img writes its image is rolled back: the half-written file goes, nothing else is left', async () => {
  // Enough data that the copy takes a while: the child is killed once its temporary file is there.
  const base = lab.path('big.qcow2');
  await qemuImgCreate(base, { size: 1024 * MiB });
  await writePattern(base, 'qcow2', 0x66, 0, 512 * MiB);
  const vm = await lab.define({ name: 'big', disks: [{ target: 'vda', file: base, format: 'qcow2' }] });
  lab.snapshot(vm, 's1');
  const name = `${lab.prefix}mid-copy`;
  const intent: Intent = { op: 'clone', domain: vm, node: { kind: 'snapshot', name: 's1' }, name, mode: 'full' };
  const before = await labFiles();
  const run = spawn(process.execPath, ['--import', 'tsx', child], { env: { ...process.env, SNAPTREE_INTENT: JSON.stringify(intent) }, stdio: 'ignore' });
  const ended = new Promise<string | number | null>((resolve) => run.on('exit', (code, signal) => resolve(signal ?? code)));
  const writing = async () => (await readdir(lab.dir)).some((f) => f.startsWith('.snaptree-part-'));
  while (run.exitCode === null && !(await writing())) await new Promise((resolve) => setTimeout(resolve, 5));
  run.kill('SIGKILL');
  expect(await ended).toBe('SIGKILL');

  const reports = await engine.recover();
  expect(reports.map((r) => r.outcome)).toEqual(['rolled-back']);
  expect(domainExists(name)).toBe(false);
  expect(await labFiles()).toEqual(before);
});
